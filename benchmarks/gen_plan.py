"""Plan the benchmark's dbt project: which nodes exist, their names, layers, refs and SQL.

``Gen(n_models, seed).build()`` decides every source, seed, model (staging / intermediate / marts,
1-3 refs each, view / table / incremental / ephemeral), snapshot, generic and singular test,
exposure and unit test, as small records (dicts) in DAG order. It also writes the text they carry:
descriptions, column docs, and each model's raw SQL and its compiled form.

The records are all that is kept in memory. ``gen_nodes`` turns each one into the full manifest
node when ``gen_manifest`` writes it, ``gen_run_results`` schedules the executed ones, and
``real_dbt.ProjectWriter`` writes the same plan as a real dbt project. Everything random comes from
the one seeded ``Gen.rng``, so the order of these calls is part of the output.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

from benchmarks.gen_vocab import (COLUMN_SENTENCES, COLUMN_WORDS, DATABASE, DOMAINS, ENTITIES, PROJECT,
                                  RAW_DATABASE, SENTENCES, SYSTEMS, VERBS, column, relation_name, sha)


class Gen:
    """Builds one project. Everything random comes from ``self.rng`` (seeded)."""

    def __init__(self, n_models: int, seed: int) -> None:
        self.n = n_models
        self.rng = random.Random(seed)
        self.seed = seed
        self.created = 1795663580.0
        self.invocation_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.started = datetime(2026, 11, 20, 6, 0, 0, 123456, tzinfo=UTC)
        # Small per-node records kept for maps and run_results (never the big dicts).
        self.parents: dict[str, list[str]] = {}
        self.exec_nodes: list[dict[str, Any]] = []  # {uid, kind, name, relation, ...} in DAG order
        self.used_names: set[str] = set()

    # -- helpers -------------------------------------------------------------------------------

    def created_at(self) -> float:
        self.created += self.rng.uniform(0.0005, 0.004)
        return round(self.created, 7)

    def unique_name(self, name: str) -> str:
        if name not in self.used_names:
            self.used_names.add(name)
            return name
        k = 2
        while f"{name}_{k}" in self.used_names:
            k += 1
        self.used_names.add(f"{name}_{k}")
        return f"{name}_{k}"

    def sentence(self, pool: list[str], **fmt: str) -> str:
        return self.rng.choice(pool).format(**fmt)

    def description(self, entity: str, system: str, domain: str) -> str:
        fmt = {"entity": entity, "system": system, "domain": domain, "grain": entity.rstrip("s")}
        return " ".join(self.sentence(SENTENCES, **fmt) for _ in range(self.rng.randint(3, 5)))

    def columns(self, k: int) -> list[str]:
        cols = ["id"] + self.rng.sample(COLUMN_WORDS[1:], min(k - 1, len(COLUMN_WORDS) - 1))
        return cols

    def column_docs(self, cols: list[str], entity: str, system: str) -> dict[str, Any]:
        docs = {}
        for col in cols:
            text = self.sentence(COLUMN_SENTENCES, entity=entity, system=system)
            if self.rng.random() < 0.5:
                text += " " + self.sentence(COLUMN_SENTENCES, entity=entity, system=system)
            meta = {"pii": True} if col in ("email", "customer_id", "user_id") and self.rng.random() < 0.5 else {}
            docs[col] = column(col, text, self.rng.choice([None, None, "varchar", "number(38,2)", "timestamp_ntz"]),
                                ["pii"] if meta else [], meta)
        return docs

    # -- SQL -----------------------------------------------------------------------------------

    def select_lines(self, cols: list[str], extra: int) -> list[str]:
        lines = []
        for col in cols:
            r = self.rng.random()
            if col.endswith("_usd"):
                lines.append(f"cast({col.removesuffix('_usd')}_cents as number(38, 2)) / 100 as {col}")
            elif col.endswith("_at"):
                lines.append(f"convert_timezone('UTC', {col})::timestamp_ntz as {col}")
            elif r < 0.2:
                lines.append(f"nullif(trim({col}), '') as {col}")
            elif r < 0.3:
                lines.append(f"coalesce({col}, 'unknown') as {col}")
            else:
                lines.append(col)
        for i in range(extra):
            a, b = self.rng.sample(cols, 2)
            lines.append(f"case when {a} is null then {b} else {a} end as derived_{a}_{i}")
        return lines

    def model_sql(self, layer: str, materialized: str, cols: list[str], refs: list[str],
                  source: tuple[str, str] | None, unique_key: str, strategy: str | None) -> str:
        parts = []
        if materialized == "incremental":
            parts.append("{{\n    config(\n        materialized='incremental',\n"
                         f"        unique_key='{unique_key}',\n        incremental_strategy='{strategy}',\n"
                         "        on_schema_change='append_new_columns'\n    )\n}}\n")
        width = self.rng.randint(0, 10)
        if source is not None:
            parts.append(f"with source as (\n\n    select * from {{{{ source('{source[0]}', '{source[1]}') }}}}\n\n),\n")
            body = ",\n        ".join(self.select_lines(cols, width))
            parts.append(f"\nrenamed as (\n\n    select\n        {body}\n    from source\n"
                         "    where not coalesce(_fivetran_deleted, false)\n\n)\n\nselect * from renamed")
        else:
            ctes = []
            for i, ref in enumerate(refs):
                ctes.append(f"{ref} as (\n\n    select * from {{{{ ref('{ref}') }}}}\n\n)")
            parts.append("with " + ",\n\n".join(ctes) + ",\n")
            body = ",\n        ".join(f"{refs[0]}.{line}" if " " not in line else line
                                       for line in self.select_lines(cols, width))
            joins = "".join(f"\n    left join {r}\n        on {refs[0]}.{unique_key} = {r}.{unique_key}"
                            for r in refs[1:])
            group = "\n    group by all" if layer == "marts" and self.rng.random() < 0.3 else ""
            parts.append(f"\nfinal as (\n\n    select\n        {body}\n    from {refs[0]}{joins}"
                         f"\n    where {refs[0]}.{unique_key} is not null{group}\n\n)\n\nselect * from final")
        if materialized == "incremental":
            parts.append("\n\n{% if is_incremental() %}\n  -- this filter will only be applied on an "
                         "incremental run\n  where loaded_at > (select coalesce(max(loaded_at), "
                         "'1900-01-01'::timestamp_ntz) from {{ this }})\n    or loaded_at > "
                         "dateadd(day, -3, current_timestamp())\n{% endif %}")
        return "".join(parts)

    def compile_sql(self, raw: str, relation_of: dict[str, str], this: str) -> str:
        out = raw
        if out.startswith("{{\n    config("):
            out = out[out.index("}}\n") + 3:]
        while "{{ ref('" in out:
            start = out.index("{{ ref('")
            end = out.index("') }}", start)
            out = out[:start] + relation_of[out[start + 8:end]] + out[end + 5:]
        while "{{ source('" in out:
            start = out.index("{{ source('")
            end = out.index("') }}", start)
            src, table = out[start + 11:end].split("', '")
            out = out[:start] + f"{RAW_DATABASE}.{src}.{table}" + out[end + 5:]
        if "{% if is_incremental() %}" in out:
            out = out.replace("{% if is_incremental() %}", "").replace("{% endif %}", "")
            out = out.replace("{{ this }}", this)
        return out

    # -- the project ---------------------------------------------------------------------------

    def build(self) -> None:
        """Plan every node (small records); the big dicts are produced lazily by ``iter_nodes``."""
        rng, n = self.rng, self.n
        n_sources = max(4, n // 5)
        n_staging = max(2, int(n * 0.30))
        n_inter = max(1, int(n * 0.30))
        n_marts = max(1, n - n_staging - n_inter)
        self.sources: list[dict[str, Any]] = []
        for i in range(n_sources):
            system = SYSTEMS[i % len(SYSTEMS)]
            entity = ENTITIES[(i // len(SYSTEMS)) % len(ENTITIES)]
            table = entity if i < len(SYSTEMS) * len(ENTITIES) else f"{entity}_{i // (len(SYSTEMS) * len(ENTITIES))}"
            self.sources.append({"uid": f"source.{PROJECT}.{system}.{table}", "system": system,
                                 "table": table, "entity": entity, "cols": self.columns(rng.randint(5, 10))})
        self.seeds = [{"name": self.unique_name(f"{rng.choice(['map', 'ref', 'lookup'])}_{rng.choice(ENTITIES)}"),
                       "rows": rng.randint(5, 5000)} for _ in range(max(1, n // 100))]
        for s in self.seeds:
            s["uid"] = f"seed.{PROJECT}.{s['name']}"
        self.models: list[dict[str, Any]] = []
        for i in range(n_staging + n_inter + n_marts):
            if i < n_staging:
                layer, src = "staging", self.sources[i % n_sources]
                system, entity, domain = src["system"], src["entity"], DOMAINS[i % len(DOMAINS)]
                name = self.unique_name(f"stg_{system}__{entity}")
                folder = f"staging/{system}"
                refs: list[str] = []
                source = (system, src["table"])
                parents = [src["uid"]]
            else:
                layer = "intermediate" if i < n_staging + n_inter else "marts"
                domain = rng.choice(DOMAINS)
                entity = rng.choice(ENTITIES)
                pool_end = len(self.models)
                pool_start = 0 if layer == "intermediate" else n_staging
                k = rng.choice([1, 1, 2, 2, 2, 3])
                # Prefer recent models, so the DAG gets deep as well as wide.
                picks = {self.models[max(pool_start, pool_end - 1 - int(rng.expovariate(1 / 300)) % max(1, pool_end - pool_start))]["name"]
                         for _ in range(k)}
                refs = sorted(picks)
                source = None
                system = rng.choice(SYSTEMS)
                if layer == "intermediate":
                    name = self.unique_name(f"int_{entity}__{rng.choice(VERBS)}")
                    folder = f"intermediate/{domain}"
                else:
                    name = self.unique_name(f"{rng.choice(['fct', 'fct', 'dim', 'agg', 'rpt'])}_{domain}_{entity}")
                    folder = f"marts/{domain}"
                parents = [f"model.{PROJECT}.{r}" for r in refs]
            r = rng.random()
            if layer == "staging":
                materialized = "view" if r < 0.7 else "incremental" if r < 0.9 else "table"
            elif layer == "intermediate":
                materialized = "ephemeral" if r < 0.08 else "view" if r < 0.35 else \
                    "incremental" if r < 0.6 else "table"
            else:
                materialized = "incremental" if r < 0.35 else "table"
            cols = self.columns(rng.randint(12, 40))
            model = {"uid": f"model.{PROJECT}.{name}", "name": name, "layer": layer, "folder": folder,
                     "domain": domain, "entity": entity, "system": system, "refs": refs, "source": source,
                     "parents": parents, "materialized": materialized, "cols": cols,
                     "schema": layer if layer != "marts" else domain,
                     "strategy": rng.choice(["merge", "merge", "delete+insert", "append"])
                     if materialized == "incremental" else None}
            model["relation"] = None if materialized == "ephemeral" else \
                relation_name(DATABASE, model["schema"], name)
            self.models.append(model)
        self.model_by_name = {m["name"]: m for m in self.models}
        self.snapshots = []
        for i in range(max(1, n // 50)):
            base = self.models[rng.randrange(n_staging)]
            name = self.unique_name(f"snap_{base['name'].removeprefix('stg_')}")
            self.snapshots.append({"uid": f"snapshot.{PROJECT}.{name}", "name": name, "base": base,
                                   "relation": relation_name(DATABASE, "snapshots", name)})
        # Generic tests: two on half the models (unique + not_null on the key, or a relationship),
        # two on every source table; a few singular tests.
        self.tests: list[dict[str, Any]] = []
        for m in self.models:
            if m["materialized"] == "ephemeral" or rng.random() >= 0.5:
                continue
            key = m["cols"][0]
            other = rng.choice(m["cols"][1:])
            kinds = [("unique", key), ("not_null", key)] if rng.random() < 0.6 else \
                [("not_null", key), rng.choice([("accepted_values", "status"), ("relationships", other)])]
            for kind, col in kinds:
                self.tests.append(self._test_record(kind, m["name"], col, m["uid"], attached=m))
        for s in self.sources:
            for kind in ("unique", "not_null"):
                self.tests.append(self._test_record(kind, f"{s['system']}_{s['table']}", "id", s["uid"], source=s))
        for _ in range(max(1, n // 100)):
            m = rng.choice(self.models[n_staging:])
            if m["materialized"] == "ephemeral":
                continue
            name = self.unique_name(f"assert_{m['name']}_{rng.choice(['non_negative', 'balanced', 'complete'])}")
            self.tests.append({"uid": f"test.{PROJECT}.{name}", "name": name, "kind": "singular",
                               "parent": m["uid"], "model": m, "col": None})
        self.exposures = []
        for i in range(max(1, n // 100)):
            marts = [m for m in rng.sample(self.models[-n_marts:], min(3, n_marts))]
            name = self.unique_name(f"{rng.choice(DOMAINS)}_{rng.choice(['dashboard', 'weekly_report', 'ml_features'])}")
            self.exposures.append({"uid": f"exposure.{PROJECT}.{name}", "name": name, "parents": [m["uid"] for m in marts]})
        self.unit_tests = []
        for i in range(max(1, n // 200)):
            m = rng.choice(self.models[n_staging:])
            name = f"test_{m['name']}_{rng.choice(['handles_nulls', 'converts_cents', 'dedupes'])}"
            self.unit_tests.append({"uid": f"unit_test.{PROJECT}.{m['name']}.{name}", "name": name, "model": m})

    def _test_record(self, kind: str, target: str, col: str, parent: str, *, attached: dict | None = None,
                     source: dict | None = None) -> dict[str, Any]:
        suffix = {"accepted_values": f"{col}__active__paused__cancelled", "relationships": f"{col}__id__ref_dim_{col}_"}.get(kind, col)
        name = f"{'source_' if source else ''}{kind}_{target}_{suffix}"
        if len(name) > 63:  # dbt shortens long generic test names with a hash
            name = f"{kind}_{target[:30]}_{sha(name)[:32]}"
        name = self.unique_name(name)
        return {"uid": f"test.{PROJECT}.{name}.{sha(name + parent)[:10]}", "name": name, "kind": kind,
                "parent": parent, "model": attached, "source": source, "col": col}
