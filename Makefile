# dbtcost developer tasks. `make help` lists them.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STORE  ?= dbtcost.duckdb
DEMO_FIXTURES := fixtures/artifacts/dbt-duckdb fixtures/artifacts/handwritten fixtures/artifacts/dbt-state

.DEFAULT_GOAL := help
.PHONY: help install demo test lint bench fixtures state-fixtures clean

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3.x (3.11+)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# tests/constraints.txt: the versions the test stand-ins need (fakesnow), not the users' bounds
$(VENV)/.installed: pyproject.toml tests/constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c tests/constraints.txt -e '.[all,test]'
	@touch $@

install: $(VENV)/.installed ## Create .venv and install dbtcost with every warehouse extra and the test tools

demo: install ## Ingest the bundled fixtures into ./dbtcost.duckdb, build the savings views, print the reports and a forecast
	$(BIN)/dbtcost --db duckdb:///$(STORE) ingest $(DEMO_FIXTURES)
	$(BIN)/dbtcost --db duckdb:///$(STORE) report runs
	$(BIN)/dbtcost --db duckdb:///$(STORE) report models --limit 15
	$(BIN)/dbtcost --db duckdb:///$(STORE) build
	$(BIN)/dbtcost --db duckdb:///$(STORE) report summary --summary-start 2026-11-10 --summary-end 2026-12-03
	$(BIN)/dbtcost --db duckdb:///$(STORE) forecast --backtest --limit 15

test: install ## Run the test suite
	$(BIN)/python -m pytest

lint: install ## ruff and mypy (settings in pyproject.toml), and each generated file checked against its generator
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/mypy
	$(BIN)/python scripts/gen_cli_docs.py --check
	$(BIN)/python scripts/gen_report_docs.py --check
	$(BIN)/python scripts/gen_duckdb_sql.py --check

bench: install ## Run the benchmark (not part of `make test`)
	$(BIN)/python benchmarks/run.py

fixtures: ## Regenerate fixtures/artifacts/dbt-duckdb and dbt-state with real dbt (own venvs, needs PyPI)
	bash scripts/make_fixtures.sh
	bash scripts/make_state_fixtures.sh

state-fixtures: ## Regenerate fixtures/artifacts/dbt-state: real dbt State runs on a private PostgreSQL
	bash scripts/make_state_fixtures.sh

clean: ## Remove the venv, caches and the demo store
	rm -rf $(VENV) .pytest_cache $(STORE) $(STORE).wal src/*.egg-info
