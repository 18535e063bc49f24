#!/usr/bin/env bash
# Regenerate the real dbt artifacts under fixtures/artifacts/dbt-duckdb/ (run from the repo root:
# `bash scripts/make_fixtures.sh`, or `make fixtures`).
#
# - Creates .venv-fixtures (python3.11 -m venv) with dbt-core~=1.11.0 + dbt-duckdb~=1.11.0 if missing
#   (scripts/fixtures_venv.sh).
# - Copies fixtures/dbt_project (dbt project `shop_cost`) into a temporary work dir and runs every
#   scenario there, against a DuckDB file in that work dir. Nothing is written into the repo except
#   .venv-fixtures/ and fixtures/artifacts/dbt-duckdb/.
# - After each step, copies what dbt wrote (run_results.json, manifest.json, sources.json) into
#   fixtures/artifacts/dbt-duckdb/<NN_name>/, then scripts/fixtures/postprocess.py trims manifest
#   macros to the root project's, rewrites the work dir / repo paths to /home/analyst/..., and saves
#   dbt's stdout (ANSI stripped) as console.txt.
# - Finally scripts/fixtures/report.py checks the expected outcomes and writes the READMEs.
#
# Env knobs: PYTHON (default python3.11), KEEP_WORK=1 (keep the temporary work dir for debugging).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_ROOT"

PYTHON_BIN="${PYTHON:-python3.11}"
VENV="$REPO_ROOT/.venv-fixtures"
PROJECT_SRC="$REPO_ROOT/fixtures/dbt_project"
HELPERS="$REPO_ROOT/scripts/fixtures"
OUT="$REPO_ROOT/fixtures/artifacts/dbt-duckdb"
PLACEHOLDER_HOME=/home/analyst            # work dir -> /home/analyst, so the project is /home/analyst/shop_cost
PLACEHOLDER_REPO=/home/analyst/dbtcost    # repo root (only seen if something leaks the venv path)

# ---------------------------------------------------------------------------------------------
# 1. venv
# ---------------------------------------------------------------------------------------------
PYTHON="$PYTHON_BIN" VENV="$VENV" bash "$REPO_ROOT/scripts/fixtures_venv.sh"   # shared with benchmarks/generate.py --real
PY="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"   # so the commands below are literally `dbt ...`
"$PY" -m pip freeze 2>/dev/null | grep -iE '^(dbt-core|dbt-duckdb|dbt-adapters|dbt-common|duckdb)==' \
    || { echo "dbt packages missing from $VENV" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# 2. work dir (outside the repo) with a copy of the project and the DuckDB file
# ---------------------------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/shop_cost_fixtures.XXXXXX")"
WORK="$(cd "$WORK" && pwd -P)"
cleanup() {
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "== work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

P="$WORK/shop_cost"
mkdir -p "$WORK/warehouse" "$WORK/console" "$WORK/steps"
cp -R "$PROJECT_SRC" "$P"
rm -rf "$P/target" "$P/logs" "$P/dbt_packages"

# A clean, explicit dbt environment: drop anything the caller may have set.
for v in $(compgen -e | grep -E '^(DBT_|SHOP_COST_)' || true); do unset "$v"; done
export SHOP_COST_DUCKDB_PATH="$WORK/warehouse/shop_cost.duckdb"
export DBT_PROFILES_DIR="$P"
export DBT_SEND_ANONYMOUS_USAGE_STATS=false
export DBT_VERSION_CHECK=false
BASE_ENV_VARS="SHOP_COST_DUCKDB_PATH DBT_PROFILES_DIR DBT_SEND_ANONYMOUS_USAGE_STATS DBT_VERSION_CHECK"
STEP_ENV_VARS=""   # extra variables to list in a scenario's README (the dbt Cloud ones)

rm -rf "$OUT"/[0-9][0-9]_*
mkdir -p "$OUT"
cd "$P"

# step <NN_name> <accepted exit codes, comma separated> <command...>
# KEEP_PREV=1 keeps target/run_results.json (dbt retry needs it).
step() {
    local name=$1 expected=$2; shift 2
    rm -f target/manifest.json target/sources.json
    [ "${KEEP_PREV:-0}" = 1 ] || rm -f target/run_results.json
    echo "== $name: $*"
    local rc=0
    "$@" >"$WORK/console/$name.out" 2>"$WORK/console/$name.err" || rc=$?
    echo "   exit code $rc"
    if [[ ",$expected," != *",$rc,"* ]]; then
        echo "unexpected exit code $rc for '$*' (expected $expected); dbt output:" >&2
        cat "$WORK/console/$name.out" "$WORK/console/$name.err" >&2
        exit 1
    fi
    if [ -s "$WORK/console/$name.err" ]; then
        echo "   stderr (not saved):"; sed 's/^/     /' "$WORK/console/$name.err"
    fi
    mkdir -p "$OUT/$name"
    local f
    for f in run_results.json manifest.json sources.json; do
        if [ -f "target/$f" ]; then cp "target/$f" "$OUT/$name/"; fi
    done
    {
        echo "command=$*"
        echo "exit_code=$rc"
        local v
        for v in $BASE_ENV_VARS $STEP_ENV_VARS; do echo "env:$v=${!v}"; done
    } >"$WORK/steps/$name.txt"
    "$PY" "$HELPERS/postprocess.py" "$OUT/$name" "$WORK/console/$name.out" \
        --replace "$WORK=$PLACEHOLDER_HOME" --replace "$REPO_ROOT=$PLACEHOLDER_REPO"
}

# ---------------------------------------------------------------------------------------------
# 3. scenarios
# ---------------------------------------------------------------------------------------------
echo "== load raw_storefront (batch 1)"
"$PY" "$HELPERS/load_storefront.py" "$SHOP_COST_DUCKDB_PATH" 1

step 01_seed 0 dbt seed
step 02_build 1 dbt build
step 03_source_freshness 1 dbt source freshness

echo "== data change: mutate seeds + load raw_storefront (batch 2)"
"$PY" "$HELPERS/mutate_shop.py" "$P"
"$PY" "$HELPERS/load_storefront.py" "$SHOP_COST_DUCKDB_PATH" 2

step 04_build_after_data_change 1 dbt build
step 05_run_select 0 dbt run --select fct_page_views

# Simulated dbt Cloud job run. dbt Cloud starts from a fresh checkout: no partial-parse cache.
CLOUD_VARS=(
    DBT_CLOUD_ACCOUNT_ID=58213
    DBT_CLOUD_PROJECT_ID=261044
    DBT_CLOUD_ENVIRONMENT_ID=417790
    DBT_CLOUD_ENVIRONMENT_NAME=Production
    DBT_CLOUD_ENVIRONMENT_TYPE=prod
    DBT_CLOUD_JOB_ID=903318
    DBT_CLOUD_RUN_ID=481276553
    DBT_CLOUD_RUN_REASON_CATEGORY=scheduled
    DBT_CLOUD_RUN_REASON=Scheduled
    DBT_CLOUD_INVOCATION_CONTEXT=prod
    DBT_CLOUD_GIT_BRANCH=main
    DBT_CLOUD_GIT_SHA=a7c41e9d0b3f5e2c8d6a9b1f4e7c0d3a5b8e2f61
    DBT_ENV_CUSTOM_ENV_DBT_CLOUD_RUN_ID=481276553
    DBT_ENV_CUSTOM_ENV_DBT_CLOUD_JOB_ID=903318
    DBT_ENV_CUSTOM_ENV_DBT_CLOUD_PROJECT_ID=261044
    DBT_ENV_CUSTOM_ENV_DBT_CLOUD_ENVIRONMENT_ID=417790
    DBT_ENV_CUSTOM_ENV_DBT_CLOUD_ACCOUNT_ID=58213
    DBT_ENV_CUSTOM_ENV_DBT_CLOUD_GIT_SHA=a7c41e9d0b3f5e2c8d6a9b1f4e7c0d3a5b8e2f61
    DBT_ENV_CUSTOM_ENV_team=commerce-data
)
for kv in "${CLOUD_VARS[@]}"; do
    export "${kv?}"
    STEP_ENV_VARS="$STEP_ENV_VARS ${kv%%=*}"
done
rm -f target/partial_parse.msgpack
step 06_build_cloud_env 1 dbt build --target prod
KEEP_PREV=1 step 07_retry 1 dbt retry
for kv in "${CLOUD_VARS[@]}"; do unset "${kv%%=*}"; done
STEP_ENV_VARS=""

step 08_full_refresh 0 dbt run --full-refresh --select fct_page_views

# ---------------------------------------------------------------------------------------------
# 4. checks + READMEs
# ---------------------------------------------------------------------------------------------
cd "$REPO_ROOT"
"$PY" "$HELPERS/report.py" "$OUT" "$WORK/steps" \
    --replace "$WORK=$PLACEHOLDER_HOME" --replace "$REPO_ROOT=$PLACEHOLDER_REPO"
if grep -rlF -e "$WORK" -e "$REPO_ROOT" "$OUT" >/dev/null; then
    echo "machine paths left in:" >&2; grep -rlF -e "$WORK" -e "$REPO_ROOT" "$OUT" >&2; exit 1
fi
echo "== done: $(du -sh "$OUT" | cut -f1) in $OUT"
