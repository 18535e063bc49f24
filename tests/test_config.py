"""Window and prices from dbtcost.toml, [tool.dbtcost] and DBTCOST_* variables, below the options.

Numbers come from the hand-computed shop (tests/reports/shop.py): over 11-16..11-18 it saved 1.45
and spent 4.45 at 1.00 USD per execute hour; every amount scales with the hourly price.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbtcost import config
from dbtcost.cli import cli
from dbtcost.config import ConfigError
from tests.reports.shop import build_shop


@pytest.fixture
def shop(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    return build_shop(tmp_path, store_url)


def summary(shop: str, *args: str, env: dict[str, str] | None = None) -> dict:
    out = CliRunner().invoke(cli, ["--db", shop, "report", "summary", *args, "--format", "json"], env=env)
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)["rows"][0]


def fail(*args: str, env: dict[str, str] | None = None) -> str:
    out = CliRunner().invoke(cli, list(args), env=env)
    assert out.exit_code == 1, out.stdout
    return out.stderr


WINDOW = ("--summary-start", "2026-11-16", "--summary-end", "2026-11-18")


# -- the library --------------------------------------------------------------------------------

def test_file_keys_are_checked_and_converted(tmp_path: Path) -> None:
    (tmp_path / "dbtcost.toml").write_text(
        'warehouse = "bigquery"\ncredit_price = 2.6\nprice_per_tib = "5"\nslot_hour_price = {enterprise = 0.05}\n'
        "skew = 30\ninclude_idle = true\nstart = 2026-11-01\nsummary_end = \"2026-11-30\"\n")
    settings = config.load(environ={}, cwd=tmp_path)
    assert settings.values == {
        "warehouse": "bigquery", "credit_price": Decimal("2.6"), "price_per_tib": Decimal("5"),
        "slot_hour_price": {"ENTERPRISE": Decimal("0.05")}, "skew": 30.0, "include_idle": True,
        "start": date(2026, 11, 1), "summary_end": date(2026, 11, 30)}
    assert settings.origins["skew"] == "dbtcost.toml: skew"


def test_pyproject_table_and_an_explicit_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.dbtcost]\nprice_per_hour = 2.5\n')
    assert config.load(environ={}, cwd=tmp_path).get("price_per_hour") == Decimal("2.5")
    (tmp_path / "dbtcost.toml").write_text("price_per_hour = 3\n")  # dbtcost.toml comes first
    assert config.load(environ={}, cwd=tmp_path).get("price_per_hour") == Decimal("3")
    other = tmp_path / "team.toml"
    other.write_text("price_per_hour = 4\n")
    assert config.load(other, environ={}, cwd=tmp_path).get("price_per_hour") == Decimal("4")
    assert config.load(environ={"DBTCOST_CONFIG": str(other)}, cwd=tmp_path).get("price_per_hour") == Decimal("4")
    (tmp_path / "dbtcost.toml").unlink()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no [tool.dbtcost]: nothing set
    assert config.load(environ={}, cwd=tmp_path).values == {}


def test_variables_win_over_the_file_and_editions_merge(tmp_path: Path) -> None:
    (tmp_path / "dbtcost.toml").write_text(
        "price_per_hour = 2\nskew = 30\nslot_hour_price = {STANDARD = 0.03, ENTERPRISE = 0.05}\n")
    env = {"DBTCOST_PRICE_PER_HOUR": "3", "DBTCOST_SLOT_HOUR_PRICE": "enterprise=0.07,ENTERPRISE-PLUS=0.11",
           "DBTCOST_DB": "duckdb:///x.duckdb"}
    settings = config.load(environ=env, cwd=tmp_path)
    assert settings.get("price_per_hour") == Decimal("3")
    assert settings.origins["price_per_hour"] == "DBTCOST_PRICE_PER_HOUR"
    assert settings.get("skew") == 30.0
    assert settings.get("slot_hour_price") == {"STANDARD": Decimal("0.03"), "ENTERPRISE": Decimal("0.07"),
                                               "ENTERPRISE_PLUS": Decimal("0.11")}
    given = config.from_options({"price_per_hour": 4.0, "skew": None}, {"price_per_hour": "--price-per-hour"})
    assert given.over(settings).get("price_per_hour") == 4.0
    assert given.over(settings).from_command_line("price_per_hour")


@pytest.mark.parametrize("text,message", [
    ("credit_price = -1\n", "dbtcost.toml: credit_price: must be a number >= 0 (USD), not -1"),
    ("skew = 'soon'\n", "dbtcost.toml: skew: must be a number of seconds >= 0, not 'soon'"),
    ("start = 'last week'\n", "dbtcost.toml: start: must be a date (YYYY-MM-DD), not 'last week'"),
    ("warehouse = 'snowflak'\n", "dbtcost.toml: warehouse: unknown warehouse 'snowflak'; did you mean 'snowflake'?"),
    ("credit_prices = 2\n", "dbtcost.toml: unknown key 'credit_prices'; did you mean 'credit_price'?"),
    ("slot_hour_price = {GOLD = 1}\n",
     "dbtcost.toml: slot_hour_price: unknown edition 'GOLD'; one of STANDARD, ENTERPRISE, ENTERPRISE_PLUS"),
    ("include_idle = 'maybe'\n", "dbtcost.toml: include_idle: must be true or false, not 'maybe'"),
    ("credit_price = \n", "dbtcost.toml: not valid TOML: "),
])
def test_bad_file_values_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "dbtcost.toml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        config.load(environ={}, cwd=tmp_path)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_bad_variables_and_a_missing_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^DBTCOST_SKEW: must be a number of seconds >= 0, not '-1'$"):
        config.load(environ={"DBTCOST_SKEW": "-1"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"^DBTCOST_SLOT_HOUR_PRICE: expected EDITION=USD"):
        config.load(environ={"DBTCOST_SLOT_HOUR_PRICE": "0.06"}, cwd=tmp_path)
    with pytest.raises(ConfigError, match=r"nope.toml: config file not found$"):
        config.load(tmp_path / "nope.toml", environ={}, cwd=tmp_path)


# -- through the CLI ------------------------------------------------------------------------------

def test_option_over_variable_over_file_over_default(shop: str, tmp_path: Path) -> None:
    assert summary(shop, *WINDOW)["total_cost_spent"] == pytest.approx(4.45)  # default 1.00 USD/h
    (tmp_path / "dbtcost.toml").write_text("price_per_hour = 2\n")
    # file: 2 x 4.45 = 8.90 spent, 2 x 1.45 = 2.90 saved
    s = summary(shop, *WINDOW)
    assert (s["total_cost_spent"], s["total_reused_cost_savings"]) == (pytest.approx(8.9), pytest.approx(2.9))
    env = {"DBTCOST_PRICE_PER_HOUR": "3"}
    assert summary(shop, *WINDOW, env=env)["total_cost_spent"] == pytest.approx(13.35)  # 3 x 4.45
    assert summary(shop, *WINDOW, "--price-per-hour", "4", env=env)["total_cost_spent"] == pytest.approx(17.8)
    other = tmp_path / "other.toml"
    other.write_text("price_per_hour = 5\n")
    assert summary(shop, *WINDOW, "--config", str(other))["total_cost_spent"] == pytest.approx(22.25)  # 5 x 4.45
    other.write_text("[tool.dbtcost]\nprice_per_hour = 6\n")  # shaped like a pyproject.toml
    assert summary(shop, *WINDOW, "--config", str(other))["total_cost_spent"] == pytest.approx(26.7)  # 6 x 4.45


def test_window_from_the_file_gives_way_to_since_and_until(shop: str, tmp_path: Path) -> None:
    (tmp_path / "dbtcost.toml").write_text("summary_start = 2026-11-17\nsummary_end = 2026-11-17\n")
    s = summary(shop)
    # 11-17 only: saved 0.85, spent 0.51
    assert (s["summary_start_date"], s["total_reused_cost_savings"], s["total_cost_spent"]) == (
        "2026-11-17", pytest.approx(0.85), pytest.approx(0.51))
    s = summary(shop, "--since", "2026-11-18", "--until", "2026-11-18")
    # 11-18: saved 0.60, spent 1.82 + 0.31 = 2.13
    assert (s["summary_start_date"], s["total_reused_cost_savings"], s["total_cost_spent"]) == (
        "2026-11-18", pytest.approx(0.60), pytest.approx(2.13))
    assert summary(shop, env={"DBTCOST_SUMMARY_END": "2026-11-18", "DBTCOST_SUMMARY_START": "2026-11-16"})[
        "total_cost_spent"] == pytest.approx(4.45)


def test_prices_of_other_warehouses_in_the_file_are_ignored(shop: str, tmp_path: Path) -> None:
    (tmp_path / "dbtcost.toml").write_text(
        "credit_price = 2.6\nslot_hour_price = {ENTERPRISE = 0.05}\ninclude_idle = true\nprice_per_hour = 2\n")
    assert summary(shop, *WINDOW)["total_cost_spent"] == pytest.approx(8.9)  # artifacts: only price_per_hour
    stderr = fail("--db", shop, "report", "summary", "--credit-price", "2")  # given as an option: refused
    assert stderr.startswith("Error: warehouse 'artifacts' has no price 'usd_per_credit'")


@pytest.mark.parametrize("where,message", [
    ("file", "Error: dbtcost.toml: price_per_hour: must be a number >= 0 (USD), not 'cheap'\n"),
    ("env", "Error: DBTCOST_PRICE_PER_HOUR: must be a number >= 0 (USD), not 'cheap'\n"),
])
def test_bad_values_are_one_line_and_exit_1(shop: str, tmp_path: Path, where: str, message: str) -> None:
    env = {"DBTCOST_PRICE_PER_HOUR": "cheap"} if where == "env" else None
    if where == "file":
        (tmp_path / "dbtcost.toml").write_text("price_per_hour = 'cheap'\n")
    assert fail("--db", shop, "report", "summary", env=env) == message
    assert fail("--db", shop, "build", env=env) == message
    missing = fail("--db", shop, "report", "savings", "--config", "nope.toml")
    assert missing == "Error: nope.toml: config file not found\n"


def test_warehouse_and_prices_from_the_file_reach_build(shop: str, tmp_path: Path) -> None:
    from dbtcost.store import Store

    (tmp_path / "dbtcost.toml").write_text('warehouse = "artifacts"\nprice_per_hour = 2\n')
    out = CliRunner().invoke(cli, ["--db", shop, "build"])
    assert out.exit_code == 0, out.stderr
    with Store(shop).connect() as conn:
        spent = conn.exec_driver_sql("select sum(cost_usd), max(unit_price_usd) from fct_model_queries").one()
    # 4.45 hours in all (the shop's runs) x 2.00
    assert (float(spent[0]), float(spent[1])) == (pytest.approx(8.9), 2.0)


def test_help_shows_the_variables_and_the_precedence() -> None:
    out = CliRunner().invoke(cli, ["report", "summary", "--help"], terminal_width=100)
    text = " ".join(out.stdout.split())
    assert "env: DBTCOST_CREDIT_PRICE; default: 3.00" in text
    assert "env: DBTCOST_SUMMARY_END" in text
    assert ("An option given here wins over its DBTCOST_<NAME> variable, which wins over the file, which wins "
            "over the default.") in text
