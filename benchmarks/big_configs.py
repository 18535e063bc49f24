"""A manifest whose node configs are most of it (issue 12, section 5), for ``make bench``.

Some projects carry large, distinct configs on every node (a ``meta`` block with column docs, owners,
lineage or policy tags): a 200 MB manifest of which the configs are most. dbtcost stores each
executed node's config, so unlike a realistic manifest (where configs are a few per cent) what it
keeps grows with the file. This derives such a pair from generated artifacts: every node of
``manifest.json`` gets a ``meta.bench_blob`` of distinct strings, until the file is about
``target_mb``; ``run_results.json`` is copied as it is (it runs almost every node).

Usage::

    .venv/bin/python benchmarks/big_configs.py SRC_DIR OUT_DIR [--target-mb 200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import orjson

VERSION = 1
DEFAULT_TARGET_MB = 200


def derive(src: Path | str, out: Path | str, target_mb: float = DEFAULT_TARGET_MB) -> dict[str, Any]:
    """Write ``out/manifest.json`` (configs padded to ``target_mb``) and ``out/run_results.json``.

    Cached: an ``out`` already derived from the same source and target is reused.

    Returns:
        ``{"dir", "manifest_bytes", "config_share", "nodes", "cached"}``.
    """
    src, out = Path(src), Path(out)
    stamp = {"version": VERSION, "source": str(src.resolve()), "target_mb": target_mb,
             "source_size": (src / "manifest.json").stat().st_size}
    info_path = out / "big_configs.json"
    if info_path.exists() and (out / "manifest.json").exists() and (out / "run_results.json").exists():
        info = json.loads(info_path.read_text())
        if info.get("stamp") == stamp:
            return {**info["info"], "cached": True}
    manifest = orjson.loads((src / "manifest.json").read_bytes())
    nodes = [n for part in ("nodes", "sources") for n in manifest.get(part, {}).values()
             if isinstance(n.get("config"), dict)]
    base = (src / "manifest.json").stat().st_size
    per_node = max(0, int((target_mb * 1e6 - base) / max(len(nodes), 1)))
    for node in nodes:
        uid = node["unique_id"]
        blob: dict[str, str] = {}
        size, i = 0, 0
        while size < per_node:  # distinct per node and per key: nothing for a compressor to share
            value = f"{uid} column_{i} owner team-{i % 17} policy tag-{(i * 7919) % 10007}"
            blob[f"col_{i}"] = value
            size += len(value) + len(str(i)) + 12
            i += 1
        node["config"].setdefault("meta", {})
        node["config"]["meta"] = {**node["config"]["meta"], "bench_blob": blob}
    out.mkdir(parents=True, exist_ok=True)
    data = orjson.dumps(manifest)
    (out / "manifest.json").write_bytes(data)
    shutil.copyfile(src / "run_results.json", out / "run_results.json")
    configs = sum(len(orjson.dumps(n["config"])) for n in nodes)
    info = {"dir": str(out), "manifest_bytes": len(data), "config_share": configs / len(data), "nodes": len(nodes)}
    info_path.write_text(json.dumps({"stamp": stamp, "info": info}, indent=1) + "\n")
    return {**info, "cached": False}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path, help="folder with manifest.json and run_results.json")
    parser.add_argument("out", type=Path, help="folder to write the padded pair to")
    parser.add_argument("--target-mb", type=float, default=DEFAULT_TARGET_MB, help="manifest size (default 200)")
    args = parser.parse_args(argv)
    info = derive(args.src, args.out, args.target_mb)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
