"""A strategy's :rebalance-frequency in a backtest: targets change only when the data day (the closes a run
reads) is the first session of a period (services/strategy/rebalance.py, applied by the strategy function)."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from alchemiser.backtest.engine import BacktestConfig, sessions_of
from alchemiser.backtest.evaluation import evaluate_days
from alchemiser.commands.signals import files_portfolio
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import OfflineMarketData

BODY = """  (filter (cumulative-return {:window 10}) (select-top 1)
    [(asset "SPY") (asset "QQQ") (asset "TLT") (asset "GLD") (asset "XLE")]))
"""


def _weights(tmp_path, frequency: str) -> list[tuple[date, dict]]:
    strategy = tmp_path / f"{frequency}.clj"
    strategy.write_text(f'(defsymphony "{frequency}" {{:rebalance-frequency :{frequency}}}\n' + BODY)
    config = BacktestConfig(files_portfolio([strategy]), OfflineMarketData(), ExchangeCalendar(),
                            date(2024, 1, 1), date(2024, 12, 31), attribution=False)
    return [(t.data_date, t.weights) for t in evaluate_days(config, sessions_of(config))]


def test_monthly_targets_change_only_on_the_first_session_of_a_month(tmp_path):
    days = _weights(tmp_path, "monthly")
    changes = [day for (_, prev), (day, now) in pairwise(days) if now != prev]
    assert changes, "the momentum pick must move at least once in a year"
    for day in changes:
        previous = next(d for d, _ in reversed(days) if d < day)
        assert previous.month != day.month, f"targets changed mid-month, on the closes of {day}"


def test_daily_targets_of_the_same_strategy_change_mid_month(tmp_path):
    days = _weights(tmp_path, "daily")
    changes = [day for (_, prev), (day, now) in pairwise(days) if now != prev]
    assert any(next(d for d, _ in reversed(days) if d < day).month == day.month for day in changes)
