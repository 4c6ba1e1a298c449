"""AlpacaCalendar over the real client and the fake: UTC sessions, early closes, holidays, one fetch."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.venues.alpaca.calendar import AlpacaCalendar
from shared.venues.alpaca.trading import AlpacaBroker
from tests.fakes.fake_alpaca import FakeAlpaca


@pytest.fixture
def calendar(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> AlpacaCalendar:
    fake_alpaca.set_holiday(date(2024, 11, 28))  # Thanksgiving
    fake_alpaca.set_calendar_day(date(2024, 11, 29), "09:30", "13:00")  # early close
    fake_alpaca.set_holiday(date(2024, 12, 25))
    fake_alpaca.set_calendar_day(date(2024, 12, 24), "09:30", "13:00")
    return AlpacaCalendar(broker)


def test_regular_session_in_utc_across_dst(calendar: AlpacaCalendar) -> None:
    summer = calendar.session(date(2024, 7, 10))
    winter = calendar.session(date(2024, 12, 10))
    assert summer is not None and winter is not None
    assert (summer.open, summer.close) == (
        datetime(2024, 7, 10, 13, 30, tzinfo=UTC),
        datetime(2024, 7, 10, 20, 0, tzinfo=UTC),
    )
    assert (winter.open, winter.close) == (
        datetime(2024, 12, 10, 14, 30, tzinfo=UTC),
        datetime(2024, 12, 10, 21, 0, tzinfo=UTC),
    )
    assert not summer.early_close and not winter.early_close


def test_early_close_and_holiday(calendar: AlpacaCalendar) -> None:
    friday = calendar.session(date(2024, 11, 29))
    assert friday is not None and friday.early_close
    assert friday.close == datetime(2024, 11, 29, 18, 0, tzinfo=UTC)
    assert calendar.session(date(2024, 11, 28)) is None
    assert calendar.session(date(2024, 11, 30)) is None  # Saturday


def test_previous_session_skips_holidays_and_weekends(calendar: AlpacaCalendar) -> None:
    assert calendar.previous_session(date(2024, 11, 29)).date == date(2024, 11, 27)
    assert calendar.previous_session(date(2024, 12, 2)).date == date(2024, 11, 29)
    assert calendar.previous_session(date(2024, 12, 26)).date == date(2024, 12, 24)


def test_latest_session(calendar: AlpacaCalendar) -> None:
    before_open = datetime(2024, 12, 2, 14, 0, tzinfo=UTC)  # 09:00 New York, Monday
    after_open = datetime(2024, 12, 2, 15, 0, tzinfo=UTC)
    saturday = datetime(2024, 11, 30, 17, 0, tzinfo=UTC)
    assert calendar.latest_session(before_open).date == date(2024, 11, 29)
    assert calendar.latest_session(after_open).date == date(2024, 12, 2)
    assert calendar.latest_session(saturday).date == date(2024, 11, 29)
    with pytest.raises(ValueError):
        calendar.latest_session(datetime(2024, 12, 2, 15, 0))


def test_fetched_range_is_cached(fake_alpaca: FakeAlpaca, calendar: AlpacaCalendar) -> None:
    for day in range(1, 31):
        calendar.session(date(2024, 11, day))
    calendar.previous_session(date(2024, 11, 4))
    calendar.latest_session(datetime(2024, 11, 20, 18, 0, tzinfo=UTC))
    assert len(fake_alpaca.requests_to("GET /v2/calendar")) == 1
    calendar.session(date(2021, 6, 1))  # far outside: one more fetch, then cached too
    calendar.session(date(2021, 6, 2))
    assert len(fake_alpaca.requests_to("GET /v2/calendar")) == 2


def test_outside_alpacas_calendar_is_an_error(calendar: AlpacaCalendar) -> None:
    with pytest.raises(LookupError):
        calendar.session(date(2031, 1, 2))
    with pytest.raises(LookupError):
        calendar.previous_session(date(1970, 1, 1))
