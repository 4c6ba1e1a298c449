"""Composer's timing: a run shortly before the close decides on today's latest trades."""

from __future__ import annotations

from datetime import date, datetime

from services.strategy.dependencies import portfolio_loader
from services.strategy.settings import PACKAGED_CONFIG
from services.strategy.signals import evaluate_signals
from shared.marketdata.offline import OfflineMarketData
from shared.marketdata.port import PriceHistory, with_today
from tests.unit.strategy.support import CALENDAR, NEW_YORK, harness

DIRECT = {"mode": "trade"}


def test_a_near_close_run_decides_on_todays_latest_trades(state_dir):
    h = harness(state_dir, evaluation_timing="near-close")
    response = h.invoke(DIRECT, at=datetime(2026, 11, 25, 15, 50, tzinfo=NEW_YORK))
    assert response["status"] == "success"
    assert response["data_as_of"] == "2026-11-25"
    assert "2026-11-25 15:50 New York (latest trades as today's bar)" in response["message"]
    # the offline source simulates the latest trades by the day's close: the same targets as the
    # evaluation on that close
    portfolio = portfolio_loader(PACKAGED_CONFIG)()
    on_close = evaluate_signals(portfolio, OfflineMarketData(), date(2026, 11, 25))
    assert response["target_weights"] == {s: str(w) for s, w in on_close.weights.items()}


def test_a_morning_firing_is_skipped_in_near_close_timing(state_dir):
    h = harness(state_dir, evaluation_timing="near-close")
    response = h.invoke(DIRECT, at=datetime(2026, 11, 25, 9, 35, tzinfo=NEW_YORK))
    assert response["status"] == "skipped"
    assert "decides at 15:50 New York, 10 minutes before the 16:00 close" in response["message"]
    assert h.published == []


def test_an_early_close_moves_the_run_to_12_50_and_the_15_50_firing_is_a_duplicate(state_dir):
    h = harness(state_dir, evaluation_timing="near-close")
    first = h.invoke(DIRECT, at=datetime(2026, 11, 27, 12, 50, tzinfo=NEW_YORK))
    assert first["status"] == "success" and first["data_as_of"] == "2026-11-27"
    late = h.invoke(DIRECT, at=datetime(2026, 11, 27, 15, 50, tzinfo=NEW_YORK))
    assert late["status"] == "duplicate"
    normal_day = harness(state_dir / "x", evaluation_timing="near-close").invoke(
        DIRECT, at=datetime(2026, 11, 25, 12, 50, tzinfo=NEW_YORK))
    assert normal_day["status"] == "skipped"


def test_previous_close_timing_ignores_the_latest_trades(state_dir):
    response = harness(state_dir).invoke(DIRECT, at=datetime(2026, 11, 25, 15, 50, tzinfo=NEW_YORK))
    assert response["data_as_of"] == "2026-11-24"


def test_today_is_appended_after_the_history():
    base = OfflineMarketData().history(["SPY"], date(2026, 11, 24), 3)
    extended = with_today(base, date(2026, 11, 25), {"SPY": 601.5})
    assert isinstance(extended, PriceHistory) and extended.as_of == date(2026, 11, 25)
    assert extended.closes["SPY"][-1] == 601.5 and extended.closes["SPY"].shape == (4,)
    assert CALENDAR.session(date(2026, 11, 27)).early_close  # type: ignore[union-attr]
