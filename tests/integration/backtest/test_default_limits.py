"""The default limits never overrule a valid portfolio: ten years of the shipped portfolio, nothing blocked.

(The bench's generated strategy and 19-strategy corpus are checked the same way by bench/bench_backtest.py:
a row per portfolio, target 0 sessions blocked.)"""

from __future__ import annotations

from datetime import date

from alchemiser.backtest.engine import BacktestConfig, run_backtest
from services.strategy.portfolio_config import load_portfolio
from services.strategy.settings import PACKAGED_CONFIG
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import OfflineMarketData


def test_ten_years_of_the_shipped_portfolio_are_never_blocked_by_a_default_limit():
    portfolio = load_portfolio(PACKAGED_CONFIG)
    assert not portfolio.limits.differs_from_default()
    result = run_backtest(BacktestConfig(portfolio, OfflineMarketData(), ExchangeCalendar(), date(2016, 1, 4),
                                         date(2025, 12, 31), benchmark=None, attribution=False))
    assert len(result.sessions) == 2514 and result.blocked == [] and result.clipped == []
    assert max(sum(1 for o in orders if o.side == "buy") for orders in result.portfolio.plans.values()) <= 10
