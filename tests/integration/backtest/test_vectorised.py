"""The backtest evaluates every session at once (services/strategy/language/days.py) and must
still give, day by day, exactly what the strategy function's per-day evaluation gives.

The per-day answer is `_one_day`: `evaluate_signals` on that day's own lookback window, as the
strategy Lambda and `alchemiser signals` run it (test_one_engine.py ties those three together).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alchemiser.backtest.engine import BacktestConfig, sessions_of
from alchemiser.backtest.evaluation import _one_day, evaluate_days
from alchemiser.commands.signals import files_portfolio
from bench.strategy_generator import generate, tickers
from services.strategy.portfolio_config import load_portfolio
from services.strategy.settings import PACKAGED_CONFIG
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import OfflineMarketData

CALENDAR = ExchangeCalendar()
SESSIONS = [d.astype(date) for d in CALENDAR.sessions_between(date(2008, 1, 2), date(2026, 9, 30))]


def _config(portfolio, start: date, end: date, extra=()) -> BacktestConfig:
    return BacktestConfig(portfolio, OfflineMarketData(extra_symbols=extra), CALENDAR, start, end,
                          attribution=False, benchmark=None)


def _agree_every_day(config: BacktestConfig) -> dict[str, int]:
    stats: dict[str, int] = {}
    fast = evaluate_days(config, sessions_of(config), stats=stats)
    for target in fast:
        slow = _one_day(config, target.trade_date, target.data_date)
        assert target.weights == slow.weights, target.trade_date
        assert target.strategies == slow.strategies, target.trade_date
        assert target.data_date == slow.data_date
    return stats


def test_the_shipped_portfolio_agrees_with_the_per_day_evaluation_on_every_day_of_a_year():
    stats = _agree_every_day(_config(load_portfolio(PACKAGED_CONFIG), date(2019, 1, 1), date(2019, 12, 31)))
    assert stats["vectorised"] + stats["one_by_one"] == 252
    assert stats == {"vectorised": 252, "one_by_one": 0}  # the same code: no day is left to the per-day run


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), index=st.integers(0, len(SESSIONS) - 61), lines=st.integers(40, 240))
def test_a_random_strategy_agrees_on_every_day_of_a_random_quarter(seed, index, lines):
    with tempfile.TemporaryDirectory() as folder:
        strategy = Path(folder) / f"gen{seed}.clj"
        strategy.write_text(generate(lines=lines, symbols=12, seed=seed))
        config = _config(files_portfolio([strategy]), SESSIONS[index], SESSIONS[index + 60], tickers(12))
        stats = _agree_every_day(config)
    assert stats["vectorised"] > 0


def test_groups_whose_scores_tie_every_day_are_still_evaluated_at_once_and_agree(tmp_path):
    """Two groups holding the same asset score the same every day: a knife edge on every session,
    decided identically at once and day by day (the same code, the same floats)."""
    strategy = tmp_path / "tie.clj"
    strategy.write_text(
        '(defsymphony "tie" {}\n'
        ' (filter (cumulative-return {:window 20}) (select-top 1)\n'
        '  [(group "a" [(asset "SPY")]) (group "b" [(asset "SPY")]) (group "c" [(asset "TLT")])]))\n')
    config = _config(files_portfolio([strategy]), date(2021, 3, 1), date(2021, 3, 31))
    stats = _agree_every_day(config)
    assert stats["one_by_one"] == 0 and stats["vectorised"] >= 20


def test_a_monthly_strategy_holds_its_rebalance_days_targets_as_the_per_day_evaluation_does(tmp_path):
    strategy = tmp_path / "monthly.clj"
    strategy.write_text(
        '(defsymphony "monthly" {:rebalance-frequency :monthly}\n'
        ' (weight-inverse-volatility 20 [(asset "SPY") (asset "TLT") (asset "GLD")]))\n')
    config = _config(files_portfolio([strategy]), date(2022, 1, 1), date(2022, 6, 30))
    stats = _agree_every_day(config)
    assert stats["vectorised"] >= 120
    fast = evaluate_days(config, sessions_of(config))
    months = {}
    for target in fast:
        months.setdefault((target.trade_date.year, target.trade_date.month), set()).add(
            tuple(sorted(target.weights.items())))
    # a month's first session still trades on the previous month's last close: at most two targets a month
    assert len(months) == 6 and all(len(v) <= 2 for v in months.values())
