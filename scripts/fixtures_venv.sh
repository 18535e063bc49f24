#!/usr/bin/env bash
# Create .venv-fixtures (dbt-core~=1.11.0 + dbt-duckdb~=1.11.0) if it has no `dbt` yet. Shared by
# scripts/make_fixtures.sh (the real-dbt fixtures) and benchmarks/generate.py --real (the benchmark's
# real-dbt project). Needs PyPI. Exits non-zero if dbt could not be installed.
#
# Env knobs: PYTHON (default python3.11), VENV (default <repo>/.venv-fixtures).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PYTHON_BIN="${PYTHON:-python3.11}"
VENV="${VENV:-$REPO_ROOT/.venv-fixtures}"

if [ ! -x "$VENV/bin/dbt" ]; then
    echo "== creating $VENV and installing dbt-core~=1.11.0, dbt-duckdb~=1.11.0"
    t0=$(date +%s)
    "$PYTHON_BIN" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet "dbt-core~=1.11.0" "dbt-duckdb~=1.11.0"
    echo "== install took $(( $(date +%s) - t0 ))s"
fi
[ -x "$VENV/bin/dbt" ] || { echo "no dbt in $VENV after the install" >&2; exit 1; }
