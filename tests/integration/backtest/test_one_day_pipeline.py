"""One day pipeline, three callers: for random generated strategies, random days and random limits (binding and
not), the backtest's plan and orders for a day are what the portfolio and execution Lambdas produce for that day,
and `alchemiser plan` prints the same plan.

Each example trades two sessions (D-1 then D) so that D starts from positions: the Lambdas through the local
runtime (`run_day`, the template's own routing) on the simulated broker, `alchemiser plan --as-of D` between the
two days on the same account, and a backtest of D-1..D with the simulated broker's fill model. The limits are
set in the portfolio file's [limits] table, the one place all three read them from.
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alchemiser.backtest.engine import BacktestConfig, run_backtest
from alchemiser.backtest.fills import FillModel
from alchemiser.cli import main
from alchemiser.local.day import DayOptions, run_day
from alchemiser.local.runtime import environment
from alchemiser.local.storage import Archive
from bench.strategy_generator import generate
from services.strategy.portfolio_config import load_portfolio
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import OfflineMarketData
from shared.runtime.clock import NEW_YORK

pytestmark = pytest.mark.timeout(900)

CALENDAR = ExchangeCalendar()
SESSIONS = [d.astype(date) for d in CALENDAR.sessions_between(date(2017, 1, 3), date(2026, 11, 25))]
SLIPPAGE = Decimal("5")  # the simulated broker's (ALCHEMISER_SIM_SLIPPAGE_BPS)
NON_FRACTIONABLE = '["S003"]'  # whole shares only, at the simulated broker and in the backtest
INVENTED = {"ALCHEMISER_ALLOW_INVENTED_TICKERS": "1"}  # the generator's tickers S000...: histories made up for them

LIMITS = st.fixed_dictionaries({}, optional={
    "max_position_weight": st.sampled_from(["0.3", "0.5", "0.75", "1"]),
    "position_cap": st.sampled_from(["refuse", "clip"]),
    "cash_symbol": st.sampled_from(["S001", "S007"]),
    "max_order_equity_fraction": st.sampled_from(["0.2", "0.5", "1.05"]),
    "max_turnover_equity_fraction": st.sampled_from(["0.6", "1.05"]),
    "max_orders_per_run": st.sampled_from(["2", "4", "500"]),
})


def _toml(limits: dict[str, str]) -> str:
    return "".join(f'{k} = "{v}"\n' for k, v in limits.items())


def _order(symbol: str, side: str, qty: Any, notional: Any) -> tuple[str, str, Decimal | None, Decimal | None]:
    return (symbol, side, None if qty is None else Decimal(str(qty)),
            None if notional is None else Decimal(str(notional)))


def _lambdas(state: Path, config: Path, day: date) -> dict[str, Any]:
    """What the Lambdas did on `day`: the plan's orders, the orders sent, and the limits that bound."""
    at = datetime(day.year, day.month, day.day, 9, 35, tzinfo=NEW_YORK)
    result = run_day(DayOptions(state, at, strategy_config=config,
                                extra_env={"ALCHEMISER_SIM_NON_FRACTIONABLE": NON_FRACTIONABLE, **INVENTED}))
    assert result.status in ("completed", "failed"), result.reason
    events = {e["detail-type"]: e["detail"] for e in Archive(state).of_workflow(result.correlation_id)}
    plan, trade = events["RebalancePlanned"], events["TradeExecuted"]
    refused = [b["limit"] for b in trade["limit_bindings"] if b["action"] == "refused"]
    sent = [] if refused else [_order(o["symbol"], o["side"], o.get("requested_qty"), o.get("requested_notional"))
                               for o in trade["orders"] if o["status"] != "skipped"]
    return {"plan": [_order(o["symbol"], o["side"], o.get("qty"), o.get("notional")) for o in plan["orders"]],
            "sent": sorted(sent), "refused": sorted(set(refused)),
            "clipped": sorted(b["values"]["symbol"] for b in plan["limit_bindings"])}


def _cli_plan(state: Path, config: Path, day: date) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), environment({"ALCHEMISER_SIM_NON_FRACTIONABLE": NON_FRACTIONABLE}):
        assert main(["plan", "--config", str(config), "--as-of", day.isoformat(), "--state-dir", str(state),
                     "--json", "--allow-invented-tickers"]) == 0
    body = json.loads(out.getvalue())
    [limits] = [c for c in body["checks"] if c["check"] == "limits"]
    refused = [b["limit"] for b in limits["bindings"] if b["action"] == "refused"]
    return {"plan": [_order(o["symbol"], o["side"], o["qty"], o["notional"]) for o in body["orders"]],
            "refused": sorted(set(refused)), "legs": body["legs"]}


def _backtest(config: Path, days: list[date]) -> dict[date, dict[str, Any]]:
    portfolio = load_portfolio(config)
    result = run_backtest(BacktestConfig(portfolio, OfflineMarketData(invent_any=True), CALENDAR, days[0], days[-1],
                                         fills=FillModel(SLIPPAGE), attribution=False, benchmark=None,
                                         limits=portfolio.limits, non_fractionable=frozenset({"S003"})))
    assert result.sessions == days
    out = {}
    for day in days:
        refused = sorted({b.limit for b in result.blocked if b.trade_date == day})
        out[day] = {
            "plan": [_order(o.symbol, o.side, o.qty, o.notional) for o in result.portfolio.plans.get(day, ())],
            "sent": sorted(_order(f.symbol, f.side, f.requested_qty, f.requested_notional)
                           for f in result.portfolio.fills if f.trade_date == day.isoformat()),
            "refused": refused,
            "clipped": sorted(b.values["symbol"] for b in result.clipped if b.trade_date == day),
        }
    return out


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), index=st.integers(1, len(SESSIONS) - 1), lines=st.integers(40, 120), limits=LIMITS)
def test_the_backtest_the_lambdas_and_plan_trade_a_day_alike(tmp_path_factory, seed, index, lines, limits):
    folder = tmp_path_factory.mktemp("pipeline")
    days = [SESSIONS[index - 1], SESSIONS[index]]
    (folder / "gen.clj").write_text(generate(lines=lines, symbols=12, seed=seed))
    config = folder / "portfolio.toml"
    config.write_text(f'[[strategy]]\nname = "gen"\nfile = "gen.clj"\nallocation = "1"\n\n[limits]\n{_toml(limits)}')
    state = folder / "state"

    backtest = _backtest(config, days)
    first = _lambdas(state, config, days[0])
    dry = _cli_plan(state, config, days[1])
    second = _lambdas(state, config, days[1])

    for day, chain in zip(days, (first, second), strict=True):
        assert backtest[day] == chain, day
    assert dry["plan"] == second["plan"] and dry["refused"] == second["refused"]
    assert (dry["legs"] is None) == bool(second["refused"])
