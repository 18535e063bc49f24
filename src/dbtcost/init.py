"""``dbtcost init``: the dbt ``query-comment`` setting that ties every statement to its execution.

Without it dbtcost already attributes each model's main statement by the ``query_id`` dbt records
in run_results.json (``job_id`` on BigQuery). The setting puts a JSON comment with ``node_id`` and
``invocation_id`` into every statement dbt runs (hooks, tests, the extra statements of incremental
models, snapshots and seeds), so those are attributed to the right execution of the right run too.
Snowflake strips a leading comment, so there the comment is appended (``append: true``).

``write_query_comment`` adds the setting to ``dbt_project.yml`` as text at the end of the file:
every other byte of the file (comments, order, formatting) is kept, and the result is parsed back
to check that nothing else changed before it is written.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbtcost.errors import DbtcostError, QueryCommentExists
from dbtcost.profile_files import read_yaml

#: The comment dbt renders for each statement: dbt's default fields plus invocation_id, as JSON
#: (``node`` is None for dbt's own statements, so node_id is then null).
COMMENT = (
    '{{ tojson({"app": "dbt", "dbt_version": dbt_version, "profile_name": target.get("profile_name"), '
    '"target_name": target.get("target_name"), "node_id": node.unique_id if node is not none else none, '
    '"invocation_id": invocation_id}) }}'
)
DOCS_URL = "https://docs.getdbt.com/reference/project-configs/query-comment"

WITHOUT_IT = (
    "Without it, dbtcost already attributes each model's main statement through the query_id dbt records "
    "in run_results.json (job_id on BigQuery). With it, every other statement dbt runs (hooks, tests, "
    "incremental merges, snapshots, seeds) carries node_id and invocation_id and is attributed too."
)


def appends(adapter: str | None) -> bool:
    """Whether the comment goes at the end of each statement on ``adapter``: where its warehouse
    folder says so (``adapter.APPEND_COMMENT``: a warehouse that strips a leading comment), and
    when the adapter is unknown (safe everywhere)."""
    if adapter is None:
        return True
    from dbtcost import warehouses

    module = warehouses.part(adapter.lower(), "adapter")
    return bool(module is not None and module.APPEND_COMMENT)


def setting(adapter: str | None = None) -> dict[str, Any]:
    """The ``query-comment`` value for ``adapter``; appended where ``appends`` says so."""
    value: dict[str, Any] = {"comment": COMMENT}
    if appends(adapter):
        value["append"] = True
    return value


HEADER = (
    "# dbtcost: each statement carries its dbt node_id and invocation_id, so its cost is attributed",
    f"# ({DOCS_URL}).",
)


def setting_yaml(adapter: str | None = None, newline: str = "\n", *, header: bool = True) -> str:
    """The setting as a block of dbt_project.yml text (after comment lines saying why)."""
    value = setting(adapter)
    lines = [
        *(HEADER if header else ()),
        "query-comment:",
        f"  comment: '{COMMENT}'",
    ]
    if value.get("append"):
        lines.append("  append: true")
    return newline.join(lines) + newline


@dataclass(frozen=True)
class WriteResult:
    """What ``write_query_comment`` did: ``added``, ``replaced`` or ``unchanged``."""

    path: Path
    action: str
    previous: Any = None


_KEY = re.compile(r"""^(["']?)query-comment\1[ \t]*:""", re.M)


def project_file(path: Path) -> Path:
    """``path`` itself, or ``path/dbt_project.yml`` when it is a folder."""
    return path / "dbt_project.yml" if path.is_dir() else path


def write_query_comment(path: Path, adapter: str | None = None, *, force: bool = False) -> WriteResult:
    """Add the setting to the dbt_project.yml at ``path`` (a file or its folder) as text.

    Args:
        path: dbt_project.yml, or the folder that holds it.
        adapter: the dbt adapter type (decides ``append``); None for any (appended).
        force: replace an existing ``query-comment`` (its block of lines) instead of refusing.

    Raises:
        QueryCommentExists: the file already sets a different query-comment and not ``force``.
        DbtcostError: no such file, not a YAML mapping, or the edit would change anything else.
    """
    path = project_file(Path(path))
    if not path.is_file():
        raise DbtcostError(f"{path}: no such file (give the dbt_project.yml of your project)")
    document = read_yaml(path)
    if not isinstance(document, dict):
        raise DbtcostError(f"{path}: expected a YAML mapping (a dbt_project.yml)")
    wanted = setting(adapter)
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    newline = "\r\n" if "\r\n" in text else "\n"
    block = setting_yaml(adapter, newline)
    if "query-comment" in document:
        previous = document["query-comment"]
        if previous == wanted:
            return WriteResult(path, "unchanged", previous)
        if not force:
            raise QueryCommentExists(f"{path}: query-comment is already set to {_short(previous)}; "
                                     "pass --force to replace it, or edit it by hand")
        new_text = _replace_block(path, text, block, setting_yaml(adapter, newline, header=False))
        action = "replaced"
    else:
        previous = None
        separator = "" if not text or text.endswith(("\n", "\r")) else newline
        new_text = f"{text}{separator}{newline if text.strip() else ''}{block}"
        action = "added"
    _check_edit(path, document, new_text, wanted)
    _write_atomic(path, new_text.encode("utf-8"))
    return WriteResult(path, action, previous)


def _replace_block(path: Path, text: str, block: str, body: str) -> str:
    """``text`` with the top-level query-comment key and its indented lines replaced by ``block``
    (by ``body``, the block without its header, when the header is already above the key)."""
    matches = list(_KEY.finditer(text))
    if len(matches) != 1:
        raise DbtcostError(f"{path}: cannot find one top-level 'query-comment:' line to replace; edit it by hand")
    start = matches[0].start()
    if [line.strip() for line in text[:start].splitlines()[-len(HEADER):]] == list(HEADER):
        block = body
    lines = text[start:].splitlines(keepends=True)
    end = 1
    while end < len(lines) and (lines[end][:1] in (" ", "\t") or not lines[end].strip()):
        end += 1
    while end > 1 and not lines[end - 1].strip():  # keep the blank lines after the block
        end -= 1
    consumed = sum(len(line) for line in lines[:end])
    rest = text[start + consumed:]
    if rest and not block.endswith(("\n", "\r\n")):
        block += "\n"
    return text[:start] + block + rest


def _check_edit(path: Path, before: dict[str, Any], new_text: str, wanted: dict[str, Any]) -> None:
    import yaml

    try:
        after = yaml.safe_load(new_text)
    except yaml.YAMLError:
        after = None
    expected = {**before, "query-comment": wanted}
    if not isinstance(after, dict) or after != expected or [k for k in after if k != "query-comment"] != [
            k for k in before if k != "query-comment"]:
        raise DbtcostError(f"{path}: adding query-comment as text would change the rest of the file; "
                           "add the block printed by `dbtcost init` by hand")


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".dbtcost-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
