"""The cyclic GC is paused while parsing only in dbtcost's own process (the CLI), never for a host."""

from __future__ import annotations

import gc

from click.testing import CliRunner

import dbtcost
from dbtcost.cli import cli
from dbtcost.loader import allow_gc_pause
from tests.conftest import FIXTURES

RUN = FIXTURES / "dbt-duckdb" / "02_build"


def _count_disables(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = gc.disable
    monkeypatch.setattr(gc, "disable", lambda: calls.append(1) or real())
    return calls


def test_the_library_leaves_the_gc_alone(tmp_path, monkeypatch):
    calls = _count_disables(monkeypatch)
    assert dbtcost.ingest([RUN], store=f"duckdb:///{tmp_path / 'lib.duckdb'}", environ={}).ok
    assert calls == [] and gc.isenabled()


def test_asked_to_and_in_the_cli_it_pauses_it_and_enables_it_again(tmp_path, monkeypatch):
    calls = _count_disables(monkeypatch)
    with allow_gc_pause():
        assert dbtcost.ingest([RUN], store=f"duckdb:///{tmp_path / 'asked.duckdb'}", environ={}).ok
    asked = len(calls)
    assert asked > 0 and gc.isenabled()
    done = CliRunner().invoke(cli, ["--db", f"duckdb:///{tmp_path / 'cli.duckdb'}", "ingest", str(RUN)])
    assert done.exit_code == 0, done.output
    assert len(calls) > asked and gc.isenabled()
    after_cli = len(calls)
    # and nothing is left allowed after the command
    assert dbtcost.ingest([RUN], store=f"duckdb:///{tmp_path / 'after.duckdb'}", environ={}).ok
    assert len(calls) == after_cli and gc.isenabled()
