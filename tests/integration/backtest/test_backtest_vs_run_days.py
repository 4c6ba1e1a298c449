"""One engine, two modes: a backtest over a few sessions places the orders a sequence of
`alchemiser run` days places on the simulated broker with the same fill model."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from alchemiser.backtest.engine import BacktestConfig, run_backtest
from alchemiser.backtest.fills import FillModel
from alchemiser.local.day import DayOptions, run_day
from services.strategy.portfolio_config import load_portfolio
from services.strategy.settings import PACKAGED_CONFIG
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import OfflineMarketData
from shared.runtime.clock import NEW_YORK
from shared.venues.factory import make_broker
from shared.venues.settings import BrokerSettings

SLIPPAGE = Decimal("5")  # the simulated broker's default (ALCHEMISER_SIM_SLIPPAGE_BPS)


def _broker_fills(state_dir) -> dict[str, list[tuple[str, str, Decimal, Decimal]]]:
    settings = BrokerSettings.from_env({"ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(state_dir),
                                        "ALCHEMISER_AS_OF": "2026-11-25T16:00:00-05:00"})
    by_day: dict[str, list[tuple[str, str, Decimal, Decimal]]] = defaultdict(list)
    for order in make_broker(settings).list_orders():  # type: ignore[attr-defined]
        if order.filled_qty > 0:
            day = order.submitted_at.astimezone(NEW_YORK).date().isoformat()
            by_day[day].append((order.symbol, order.side, order.filled_qty, order.filled_avg_price))
    return by_day


def test_a_short_backtest_fills_exactly_what_the_run_days_fill(tmp_path):
    days = [date(2026, 11, d) for d in (17, 18, 19, 20, 23)]
    for day in days:
        result = run_day(DayOptions(tmp_path, datetime(day.year, day.month, day.day, 9, 35, tzinfo=NEW_YORK)))
        assert result.status == "completed", result.reason
    chain = _broker_fills(tmp_path)

    config = BacktestConfig(load_portfolio(PACKAGED_CONFIG), OfflineMarketData(), ExchangeCalendar(),
                            days[0], days[-1], fills=FillModel(SLIPPAGE), attribution=False)
    backtest = run_backtest(config)
    simulated: dict[str, list[tuple[str, str, Decimal, Decimal]]] = defaultdict(list)
    for fill in backtest.portfolio.fills:
        if fill.rejected is None:
            simulated[fill.trade_date].append((fill.symbol, fill.side, fill.qty, fill.fill_price))

    assert [s for s in backtest.sessions] == days
    assert sum(len(v) for v in chain.values()) > len(days)  # the range trades, not a trivially empty match
    for day in days:
        key = day.isoformat()
        assert sorted(simulated[key]) == sorted(chain[key]), key
