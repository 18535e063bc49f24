#!/usr/bin/env bash
# Regenerate the real dbt State runs under fixtures/artifacts/dbt-state/ (run from the repo root:
# `bash scripts/make_state_fixtures.sh`, or `make state-fixtures`; `make fixtures` runs it too).
#
# - Creates .venv-state-fixtures (python3.11 -m venv) with dbt-core~=1.11.0, dbt-postgres~=1.11,
#   dbt-state==2.62.3 (the client plugin) and dbt-state-oss==0.1.1 (a self-hosted decision server)
#   if missing.
# - Starts a private PostgreSQL 15 cluster (as the non-root user `postgres` when run as root) with
#   track_commit_timestamp=on on a free 127.0.0.1 port, in a temporary dir, and the decision server
#   on another free port. From scenario 05 on, the server is scripts/fixtures/state_policy_double.py
#   instead: a TEST DOUBLE (the same server with a decision policy of ours: lag tolerance, clones,
#   data-test verdicts), reading the same state store. dbt, the client and PostgreSQL are always real.
# - Copies fixtures/dbt_state_project (dbt project `shop_state`) into the temp dir and runs every
#   scenario there. After each step, copies what dbt wrote (run_results.json, manifest.json,
#   sources.json), the client's decision log (logs/state/responses_*.jsonl -> decisions.jsonl) and the
#   server's own decision lines for that step (server_decisions.log) into
#   fixtures/artifacts/dbt-state/<NN_name>/; scripts/fixtures/postprocess.py trims manifest macros,
#   rewrites machine paths to /home/analyst/... and saves dbt's stdout (ANSI stripped) as console.txt.
# - Finally scripts/fixtures/state_report.py checks the expected decisions and writes the READMEs.
# - Every process it started (PostgreSQL, decision servers) is stopped by its pid on exit.
#
# Env knobs: PYTHON (default python3.11), KEEP_WORK=1 (keep the temporary work dir for debugging).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_ROOT"

PYTHON_BIN="${PYTHON:-python3.11}"
VENV="$REPO_ROOT/.venv-state-fixtures"
PROJECT_SRC="$REPO_ROOT/fixtures/dbt_state_project"
HELPERS="$REPO_ROOT/scripts/fixtures"
OUT="$REPO_ROOT/fixtures/artifacts/dbt-state"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PLACEHOLDER_HOME=/home/analyst            # work dir -> /home/analyst, so the project is /home/analyst/shop_state
PLACEHOLDER_REPO=/home/analyst/dbtcost

# ---------------------------------------------------------------------------------------------
# 1. venv
# ---------------------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/dbt-state-oss" ] || [ ! -x "$VENV/bin/dbt" ]; then
    echo "== creating $VENV (dbt-core~=1.11.0, dbt-postgres~=1.11, dbt-state==2.62.3, dbt-state-oss==0.1.1)"
    "$PYTHON_BIN" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet "dbt-core~=1.11.0" "dbt-postgres~=1.11" \
        "dbt-state==2.62.3" "dbt-state-oss==0.1.1"
fi
PY="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"   # so the commands below are literally `dbt ...`
"$PY" -m pip freeze 2>/dev/null | grep -iE '^(dbt-core|dbt-postgres|dbt-state|dbt-state-oss)==' \
    || { echo "dbt packages missing from $VENV" >&2; exit 1; }
[ -x "$PG_BIN/pg_ctl" ] || { echo "no PostgreSQL binaries in $PG_BIN (set PG_BIN)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# 2. work dir, PostgreSQL, cleanup
# ---------------------------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/shop_state_fixtures.XXXXXX")"
WORK="$(cd "$WORK" && pwd -P)"
PGROOT="$(mktemp -d "${TMPDIR:-/tmp}/shop_state_pg.XXXXXX")"   # owned by the cluster's user
PG_PID=""
SERVER_PID=""
if [ "$(id -u)" = 0 ]; then
    PG_USER=postgres   # initdb refuses to run as root
    id "$PG_USER" >/dev/null 2>&1 || { echo "running as root needs a user '$PG_USER' for the cluster" >&2; exit 1; }
    chown "$PG_USER" "$PGROOT"
    as_pg() { runuser -u "$PG_USER" -- "$@"; }
else
    PG_USER="$(id -un)"
    as_pg() { "$@"; }
fi

stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    stop_server
    if [ -n "$PG_PID" ] && kill -0 "$PG_PID" 2>/dev/null; then
        as_pg "$PG_BIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || kill "$PG_PID" 2>/dev/null || true
    fi
    rm -rf "$PGROOT"
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "== work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {  # wait_port <port> <what>
    "$PY" - "$1" "$2" <<'PYEOF'
import socket, sys, time
port, what = int(sys.argv[1]), sys.argv[2]
for _ in range(150):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(f"{what} did not start listening on 127.0.0.1:{port}")
PYEOF
}

PG_PORT="$(free_port)"
echo "== PostgreSQL 15 on 127.0.0.1:$PG_PORT (user $PG_USER, track_commit_timestamp=on)"
as_pg "$PG_BIN/initdb" -D "$PGROOT/data" -U postgres --auth=trust -E UTF8 --locale=C >"$WORK/initdb.log"
as_pg "$PG_BIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/postgres.log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $PG_PORT -c track_commit_timestamp=on -c unix_socket_directories=$PGROOT -c fsync=off" \
    start >/dev/null
PG_PID="$(head -1 "$PGROOT/data/postmaster.pid")"
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres shop

P="$WORK/shop_state"
mkdir -p "$WORK/console" "$WORK/steps" "$WORK/state_store" "$WORK/server"
cp -R "$PROJECT_SRC" "$P"
rm -rf "$P/target" "$P/logs"

# A clean, explicit environment: drop anything the caller may have set.
for v in $(compgen -e | grep -E '^(DBT_|SHOP_STATE_|RUN_CACHE_|DBTSTATE_)' || true); do unset "$v"; done
export SHOP_STATE_PG_HOST=127.0.0.1 SHOP_STATE_PG_PORT="$PG_PORT" SHOP_STATE_PG_USER=postgres SHOP_STATE_PG_DBNAME=shop
export DBT_PROFILES_DIR="$P" DBT_SEND_ANONYMOUS_USAGE_STATS=false DBT_VERSION_CHECK=false
export RUN_CACHE_HOME="$WORK/dbt_home"          # the client's ~/.dbt (nothing of the caller's is read)
SRV_PORT="$(free_port)"
export RUN_CACHE_API_URL="localhost:$SRV_PORT" RUN_CACHE_API_SECURE=false RUN_CACHE_OAUTH_CLIENT_SECRET=dev
export RUN_CACHE_FRESHNESS_TOLERANCE=0          # project default lag tolerance (the client's default is 45 min)
BASE_ENV_VARS="DBT_PROFILES_DIR SHOP_STATE_PG_HOST SHOP_STATE_PG_PORT SHOP_STATE_PG_USER SHOP_STATE_PG_DBNAME RUN_CACHE_API_URL RUN_CACHE_API_SECURE RUN_CACHE_OAUTH_CLIENT_SECRET RUN_CACHE_FRESHNESS_TOLERANCE"
STEP_ENV_VARS=""
SERVER_KIND=""

start_server() {  # start_server oss|double
    stop_server
    SERVER_KIND=$1
    local log="$WORK/server/$1.$(date +%s).log"
    if [ "$1" = oss ]; then
        dbt-state-oss --store local --dir "$WORK/state_store" --port "$SRV_PORT" >"$log" 2>&1 &
    else
        "$PY" "$HELPERS/state_policy_double.py" --dir "$WORK/state_store" --port "$SRV_PORT" >"$log" 2>&1 &
    fi
    SERVER_PID=$!
    SERVER_LOG="$log"
    wait_port "$SRV_PORT" "decision server ($1)"
    echo "== decision server: $1 (pid $SERVER_PID) on localhost:$SRV_PORT"
}

rm -rf "$OUT"/[0-9][0-9]*_*
mkdir -p "$OUT"
cd "$P"

# step <NN_name> <accepted exit codes, comma separated> <command...>
step() {
    local name=$1 expected=$2; shift 2
    rm -f target/manifest.json target/sources.json target/run_results.json
    rm -rf logs/state
    local log_mark; log_mark=$(wc -l <"$SERVER_LOG")
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
    local decisions=(logs/state/responses_*.jsonl)
    if [ -f "${decisions[0]}" ]; then
        [ "${#decisions[@]}" = 1 ] || { echo "more than one decision log: ${decisions[*]}" >&2; exit 1; }
        cp "${decisions[0]}" "$OUT/$name/decisions.jsonl"
    fi
    tail -n +"$((log_mark + 1))" "$SERVER_LOG" >"$OUT/$name/server_decisions.log"
    {
        echo "command=$*"
        echo "exit_code=$rc"
        echo "server=$SERVER_KIND"
        echo "note=${NOTE:-}"
        local v
        for v in $BASE_ENV_VARS $STEP_ENV_VARS; do
            case $v in   # the ports are chosen at run time: do not record them
                SHOP_STATE_PG_PORT) echo "env:$v=<a free port>" ;;
                RUN_CACHE_API_URL) echo "env:$v=localhost:<a free port>" ;;
                *) echo "env:$v=${!v}" ;;
            esac
        done
    } >"$WORK/steps/$name.txt"
    "$PY" "$HELPERS/postprocess.py" "$OUT/$name" "$WORK/console/$name.out" \
        --replace "$WORK=$PLACEHOLDER_HOME" --replace "$REPO_ROOT=$PLACEHOLDER_REPO" \
        --replace "localhost:$SRV_PORT=localhost:50051" --replace "127.0.0.1:$PG_PORT=127.0.0.1:5432"
    if [ -f "$OUT/$name/decisions.jsonl" ]; then
        sed -i -e "s#$WORK#$PLACEHOLDER_HOME#g" -e "s#$REPO_ROOT#$PLACEHOLDER_REPO#g" \
            -e "s#localhost:$SRV_PORT#localhost:50051#g" "$OUT/$name/decisions.jsonl"
    fi
    sleep 2   # distinct timestamps between runs (and commit timestamps between load and build)
}

# ---------------------------------------------------------------------------------------------
# 3. scenarios
# ---------------------------------------------------------------------------------------------
echo "== load app.orders (batch 1)"
"$PY" "$HELPERS/load_state_orders.py" 1

start_server oss
NOTE="Fresh database and empty dbt State store; app.orders loaded (batch 1: 6 orders, _loaded_at = now - 1 h)."
step 01a_source_freshness 0 dbt source freshness
NOTE="Nothing built yet: every node is new to the decision server."
step 01b_first_build 0 dbt build
NOTE="Nothing changed since 01b."
step 02_nothing_changed 0 dbt build

echo "== data change: raw_plans 'plus' now costs 3100 cents (was 2900)"
sed -i 's/^plus,Plus box,2900$/plus,Plus box,3100/' seeds/raw_plans.csv
grep -q '^plus,Plus box,3100$' seeds/raw_plans.csv || { echo "seed edit failed" >&2; exit 1; }
NOTE="One seed row changed: raw_plans.csv 'plus' monthly_price_cents 2900 -> 3100."
step 03_seed_row_changed 0 dbt build

echo "== load app.orders (batch 2)"
"$PY" "$HELPERS/load_state_orders.py" 2
NOTE="app.orders batch 2 loaded (3 new orders, _loaded_at = now)."
step 04a_source_freshness 0 dbt source freshness
NOTE="app.orders batch 2 loaded (3 new orders) since 03; no code or seed change."
step 04b_new_source_rows 0 dbt build

echo "== load app.orders (batch 3), then build dev with the policy double (lag tolerance honoured)"
"$PY" "$HELPERS/load_state_orders.py" 3
start_server double
NOTE="app.orders batch 3 loaded (2 new orders) seconds before; decision server switched to the TEST DOUBLE (same store), which honours lag tolerance."
step 05_new_rows_within_tolerance 0 dbt build
NOTE="First build of the second environment (target prod, schemas prod_*); the TEST DOUBLE clones from the dev twins."
step 06_prod_clones_from_dev 0 dbt build --target prod

export RUN_CACHE_EMIT_REUSED_STATUS=true
STEP_ENV_VARS="RUN_CACHE_EMIT_REUSED_STATUS"
NOTE="Nothing changed in dev since 05 (app.orders batch 3 still within orders_daily's 6 h tolerance); RUN_CACHE_EMIT_REUSED_STATUS=true on dbt-core 1.11, which has no 'reused' status. TEST DOUBLE server (answers data tests from cache)."
step 07_emit_reused_status_fallback 0 dbt build
unset RUN_CACHE_EMIT_REUSED_STATUS
STEP_ENV_VARS=""
stop_server

# ---------------------------------------------------------------------------------------------
# 4. checks + READMEs
# ---------------------------------------------------------------------------------------------
cd "$REPO_ROOT"
"$PY" "$HELPERS/state_report.py" "$OUT" "$WORK/steps" \
    --replace "$WORK=$PLACEHOLDER_HOME" --replace "$REPO_ROOT=$PLACEHOLDER_REPO"
if grep -rlF -e "$WORK" -e "$REPO_ROOT" -e "$PGROOT" -e "localhost:$SRV_PORT" "$OUT" >/dev/null; then
    echo "machine paths left in:" >&2; grep -rlF -e "$WORK" -e "$REPO_ROOT" -e "$PGROOT" "$OUT" >&2; exit 1
fi
echo "== done: $(du -sh "$OUT" | cut -f1) in $OUT"
