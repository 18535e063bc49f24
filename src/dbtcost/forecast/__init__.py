"""``dbtcost forecast``: replay the recorded runs as dbt State would have run them.

For each environment, the invocations in time order, the replay decides for each node that ran
whether dbt State would have reused it or built it, from what ingest captured; a source with no
freshness check since a node's last build is *unknown*, so it runs twice: ``low`` assuming every
such source changed, ``high`` assuming none did. docs/forecast.md has the rules.

The replay is pure Python over rows read with SQLAlchemy; the predicted reuses are priced with
``sao_savings.unit_cost_select``, the unit cost the savings use. One job per module:

- ``tolerance``: durations (``6h``, ``30m``) and a node's lag tolerance from its settings;
- ``history``: what is replayed (``Execution``, ``Freshness``), read from the store;
- ``rules``: the replay itself, its reasons, and the two sides (``replay``, ``Decision``);
- ``backtest``: the predictions against the real reuse decisions (``run_backtest``);
- ``report``: ``forecast()``, which loads, replays, prices and counts; ``forecast_json``.

Every name below is importable from ``dbtcost.forecast``, as it was from the single module.
"""

from __future__ import annotations

from dbtcost.errors import InvalidDuration, InvalidForecast
from dbtcost.forecast.backtest import run_backtest
from dbtcost.forecast.history import Execution, Freshness, load_executions, load_freshness
from dbtcost.forecast.report import SCHEMA_VERSION, ForecastResult, forecast, forecast_json
from dbtcost.forecast.rules import (
    CLONED, CLONED_WITHIN_TOLERANCE, CODE_CHANGED, LAST_BUILD_FAILED, NO_PRIOR_BUILD, NOT_ELIGIBLE, SOURCE_CHANGED,
    UNKNOWN_FRESHNESS, UPSTREAM_CHANGED, Decision, replay,
)
from dbtcost.forecast.tolerance import node_tolerance, parse_duration

# Not in __all__, but public names of the single module, still importable from here (`X as X`:
# re-exported on purpose).
from dbtcost.forecast.history import DECIDED_TYPES as DECIDED_TYPES, RAN_STATUSES as RAN_STATUSES
from dbtcost.forecast.report import UNKNOWN_CHOICES as UNKNOWN_CHOICES
from dbtcost.forecast.rules import (
    CLONABLE as CLONABLE, ELIGIBLE_MATERIALIZATIONS as ELIGIBLE_MATERIALIZATIONS, FULL_REFRESH as FULL_REFRESH,
    NO_NEW_DATA as NO_NEW_DATA, NOT_CAPTURED as NOT_CAPTURED, REASON_ORDER as REASON_ORDER, SIDES as SIDES,
    VIEWS_ALWAYS_BUILT as VIEWS_ALWAYS_BUILT, WITHIN_TOLERANCE as WITHIN_TOLERANCE, Side as Side,
)

# The single module's __all__, unchanged.
__all__ = [
    "CLONED", "CLONED_WITHIN_TOLERANCE", "CODE_CHANGED", "Decision", "Execution", "ForecastResult", "Freshness",
    "InvalidDuration", "InvalidForecast",
    "LAST_BUILD_FAILED", "NOT_ELIGIBLE", "NO_PRIOR_BUILD", "SCHEMA_VERSION", "SOURCE_CHANGED",
    "UNKNOWN_FRESHNESS", "UPSTREAM_CHANGED", "forecast", "forecast_json", "load_executions", "load_freshness",
    "node_tolerance", "parse_duration", "replay", "run_backtest",
]
