"""The pure rules of a run: trading date, workflow id, skip reasons, causation ids, allocations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from services.strategy.run_rules import (
    closed_reason,
    command_id,
    display_file,
    equal_allocations,
    run_correlation_id,
    stale_reason,
    trigger_of,
    unique_names,
)
from shared.runtime.clock import NEW_YORK as NY
from shared.runtime.clock import trading_date


def test_the_trading_date_is_the_new_york_date_not_the_utc_date():
    assert trading_date(datetime(2026, 11, 26, 2, 0, tzinfo=UTC)) == date(2026, 11, 25)
    assert trading_date(datetime(2026, 11, 25, 14, 35, tzinfo=UTC)) == date(2026, 11, 25)


def test_a_naive_clock_is_refused():
    with pytest.raises(ValueError, match="aware"):
        trading_date(datetime(2026, 11, 25, 9, 35))


def test_the_scheduled_runs_workflow_id_is_derived_from_the_date_and_the_mode():
    assert run_correlation_id(date(2026, 11, 25), "paper") == "run-2026-11-25-paper"
    assert run_correlation_id(date(2026, 11, 25), "live") == "run-2026-11-25-live"


def test_a_closed_day_says_weekend_or_holiday():
    assert closed_reason(date(2026, 11, 26)) == "market closed on 2026-11-26 (Thursday): holiday"
    assert closed_reason(date(2026, 11, 28)) == "market closed on 2026-11-28 (Saturday): weekend"


def test_the_trigger_follows_the_delivery():
    assert trigger_of("scheduler") == "schedule"
    assert trigger_of("direct") == "manual"
    assert trigger_of("replay") == "replay"


def test_the_command_id_is_the_envelope_id_else_the_request_id():
    assert command_id("12345-test-event", "req-1") == "12345-test-event"
    assert command_id(None, "req-1") == "req-1"
    assert command_id("has spaces in it", "req-1") == "req-1"
    with pytest.raises(ValueError):
        command_id(None, None)


def test_data_is_stale_only_when_it_ends_before_the_needed_session():
    assert stale_reason(date(2026, 11, 24), date(2026, 11, 24)) is None
    reason = stale_reason(date(2026, 11, 18), date(2026, 11, 24))
    assert reason is not None and "2026-11-18" in reason and "2026-11-24" in reason


@pytest.mark.parametrize("count", [1, 2, 3, 6, 7, 11])
def test_equal_allocations_sum_to_exactly_one(count):
    shares = equal_allocations(count)
    assert len(shares) == count
    assert sum(shares, Decimal(0)) == 1
    assert all(s > 0 for s in shares)
    assert max(shares) - min(shares) <= Decimal("1e-9") * count


def test_names_from_file_stems_are_made_unique():
    assert unique_names(["trend", "trend", "trend-2", "x"]) == ["trend", "trend-2", "trend-2-2", "x"]


def test_strategy_files_are_shown_relative_to_the_portfolio_folder(tmp_path):
    inside = tmp_path / "strategies" / "a.clj"
    assert display_file(inside, tmp_path) == "strategies/a.clj"
    assert display_file(Path("/elsewhere/b.clj"), tmp_path) == "/elsewhere/b.clj"


# ---------------------------------------------------------------- the data day (as-of semantics)

from datetime import timedelta  # noqa: E402

from services.strategy.run_rules import command_moment, data_day, data_through  # noqa: E402
from shared.marketdata.calendar import ExchangeCalendar  # noqa: E402


def test_the_data_day_is_the_last_session_closed_at_or_before_the_moment():
    cal = ExchangeCalendar()
    assert data_day(cal, datetime(2026, 11, 24, 9, 35, tzinfo=NY)) == date(2026, 11, 23)
    assert data_day(cal, datetime(2026, 11, 24, 15, 59, tzinfo=NY)) == date(2026, 11, 23)
    assert data_day(cal, datetime(2026, 11, 24, 16, 0, tzinfo=NY)) == date(2026, 11, 24)
    assert data_day(cal, datetime(2026, 11, 24, 21, 0, tzinfo=UTC)) == date(2026, 11, 24)
    # Thanksgiving (closed) and the early close the day after (13:00)
    assert data_day(cal, datetime(2026, 11, 26, 12, 0, tzinfo=NY)) == date(2026, 11, 25)
    assert data_day(cal, datetime(2026, 11, 27, 12, 59, tzinfo=NY)) == date(2026, 11, 25)
    assert data_day(cal, datetime(2026, 11, 27, 13, 0, tzinfo=NY)) == date(2026, 11, 27)
    assert data_day(cal, datetime(2026, 11, 28, 10, 0, tzinfo=NY)) == date(2026, 11, 27)  # Saturday
    with pytest.raises(ValueError, match="aware"):
        data_day(cal, datetime(2026, 11, 24, 16, 0))


def test_a_redelivery_keeps_the_commands_moment_but_a_stale_test_event_does_not():
    clock = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)  # a retry at 17:00 New York
    scheduled = "2026-11-24T14:35:00Z"
    assert command_moment(scheduled, clock) == datetime(2026, 11, 24, 14, 35, tzinfo=UTC)
    assert command_moment("2025-10-14T13:35:00Z", clock) == clock  # another day: the clock
    assert command_moment(None, clock) == clock
    assert command_moment("garbage", clock) == clock
    assert command_moment("2026-11-24T23:00:00Z", clock) == clock  # after the clock
    assert command_moment(scheduled, clock + timedelta(0)) != clock


def test_every_output_names_its_data_day():
    assert data_through(date(2026, 11, 24)) == "data through 2026-11-24 close"
    assert "SYNTHETIC" in data_through(date(2026, 11, 24), synthetic=True)
    latest = data_through(date(2026, 11, 23), latest=datetime(2026, 11, 24, 20, 50, tzinfo=UTC))
    assert latest.startswith("data through 2026-11-24 15:50 New York")
