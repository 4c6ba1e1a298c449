"""`alchemiser backtest --timing near-close`: each session decided as the strategy function's
near-close run decides it (Composer's timing): today's latest trades as today's bar, filled at
today's close; the weights are what `alchemiser signals --timing near-close` gives for that run."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

from alchemiser.backtest.engine import BacktestConfig, run_backtest, sessions_of
from alchemiser.backtest.evaluation import evaluate_days
from alchemiser.cli import main
from services.strategy.portfolio_config import load_portfolio
from services.strategy.settings import PACKAGED_CONFIG
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import OfflineMarketData

CALENDAR = ExchangeCalendar()


def _config(timing: str) -> BacktestConfig:
    return BacktestConfig(load_portfolio(PACKAGED_CONFIG), OfflineMarketData(), CALENDAR, date(2026, 3, 2),
                          date(2026, 3, 6), attribution=False, benchmark=None, timing=timing)


def _signals(at: datetime) -> dict[str, Decimal]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["signals", "--timing", "near-close", "--as-of", at.isoformat(), "--json"]) == 0
    return {s: Decimal(w) for s, w in json.loads(out.getvalue())["weights"].items()}


def test_near_close_days_use_todays_bar_and_agree_with_signals_at_the_decision_time():
    config = _config("near-close")
    targets = evaluate_days(config, sessions_of(config))
    for target in targets:
        session = CALENDAR.session(target.trade_date)
        assert target.data_date == target.trade_date  # today's bar, not yesterday's close
        assert target.weights == _signals(session.close - timedelta(minutes=10))


def test_near_close_and_previous_close_differ_and_report_their_timing():
    near, previous = run_backtest(_config("near-close")), run_backtest(_config("previous-close"))
    assert [t.data_date for t in near.targets] != [t.data_date for t in previous.targets]
    assert near.fill_basis == "close"
    from alchemiser.backtest.report import to_json

    assert to_json(near)["timing"] == "near-close" and to_json(previous)["timing"] == "previous-close"
