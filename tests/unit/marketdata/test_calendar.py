"""ExchangeCalendar (XNYS): holidays, early closes, sessions in UTC, neighbours, range limits."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.marketdata.calendar import ExchangeCalendar
from shared.runtime.clock import NEW_YORK as NY


@pytest.fixture(scope="module")
def cal() -> ExchangeCalendar:
    return ExchangeCalendar()


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 11, 26),  # Thanksgiving
        date(2026, 12, 25),  # Christmas (a Friday)
        date(2026, 4, 3),  # Good Friday
        date(2026, 1, 19),  # Martin Luther King Jr. Day
        date(2026, 7, 3),  # Independence Day observed (July 4 is a Saturday)
        date(2025, 1, 9),  # National day of mourning, President Carter
        date(2012, 10, 29),  # Hurricane Sandy
    ],
)
def test_holidays_have_no_session(cal: ExchangeCalendar, holiday: date) -> None:
    assert cal.session(holiday) is None
    assert not cal.is_session(holiday)


@pytest.mark.parametrize("weekend", [date(2026, 11, 28), date(2026, 11, 29), date(2035, 12, 30)])
def test_weekends_have_no_session(cal: ExchangeCalendar, weekend: date) -> None:
    assert cal.session(weekend) is None


def test_day_before_thanksgiving_is_a_normal_session_in_utc(cal: ExchangeCalendar) -> None:
    session = cal.session(date(2026, 11, 25))
    assert session is not None
    assert session.date == date(2026, 11, 25)
    assert session.open == datetime(2026, 11, 25, 14, 30, tzinfo=UTC)  # 09:30 EST
    assert session.close == datetime(2026, 11, 25, 21, 0, tzinfo=UTC)  # 16:00 EST
    assert session.early_close is False


def test_day_after_thanksgiving_closes_early_at_13_new_york(cal: ExchangeCalendar) -> None:
    session = cal.session(date(2026, 11, 27))
    assert session is not None
    assert session.early_close is True
    assert session.close.astimezone(NY).hour == 13
    assert session.close == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert session.open == datetime(2026, 11, 27, 14, 30, tzinfo=UTC)


def test_christmas_eve_closes_early(cal: ExchangeCalendar) -> None:
    session = cal.session(date(2026, 12, 24))
    assert session is not None and session.early_close
    assert session.close.astimezone(NY).hour == 13


def test_summer_sessions_follow_daylight_saving_time(cal: ExchangeCalendar) -> None:
    session = cal.session(date(2026, 7, 1))
    assert session is not None
    assert session.open == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)  # 09:30 EDT
    assert session.close == datetime(2026, 7, 1, 20, 0, tzinfo=UTC)
    assert session.open.tzinfo is not None and session.open.utcoffset() == UTC.utcoffset(None)


def test_previous_session_skips_a_holiday_weekend(cal: ExchangeCalendar) -> None:
    # Christmas Friday 2026-12-25 + weekend: the session before Monday 12-28 is Thursday 12-24.
    assert cal.previous_session(date(2026, 12, 28)).date == date(2026, 12, 24)
    # MLK Monday 2026-01-19: the session before Tuesday is Friday 01-16.
    assert cal.previous_session(date(2026, 1, 20)).date == date(2026, 1, 16)
    # Strictly before: from a session day, the day before.
    assert cal.previous_session(date(2026, 11, 25)).date == date(2026, 11, 24)
    assert cal.previous_session(date(2026, 11, 30)).date == date(2026, 11, 27)


def test_next_session_skips_thanksgiving(cal: ExchangeCalendar) -> None:
    assert cal.next_session(date(2026, 11, 25)).date == date(2026, 11, 27)


def test_latest_session_on_a_saturday_is_friday(cal: ExchangeCalendar) -> None:
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=NY)
    session = cal.latest_session(saturday_noon)
    assert session.date == date(2026, 11, 27)
    assert session.early_close


def test_latest_session_before_the_open_is_the_previous_day(cal: ExchangeCalendar) -> None:
    assert cal.latest_session(datetime(2026, 11, 25, 9, 29, 59, tzinfo=NY)).date == date(2026, 11, 24)
    assert cal.latest_session(datetime(2026, 11, 25, 9, 30, tzinfo=NY)).date == date(2026, 11, 25)
    assert cal.latest_session(datetime(2026, 11, 25, 23, 0, tzinfo=NY)).date == date(2026, 11, 25)
    # Thanksgiving itself: the day before.
    assert cal.latest_session(datetime(2026, 11, 26, 12, 0, tzinfo=NY)).date == date(2026, 11, 25)


def test_latest_session_rejects_naive_datetimes(cal: ExchangeCalendar) -> None:
    with pytest.raises(ValueError, match="aware"):
        cal.latest_session(datetime(2026, 11, 28, 12, 0))


def test_covers_2000_through_2035(cal: ExchangeCalendar) -> None:
    assert cal.session(date(2000, 1, 3)) is not None
    assert cal.session(date(2035, 12, 31)) is not None
    assert cal.session(date(2035, 12, 25)) is None
    sessions = cal.sessions_between(date(2000, 1, 1), date(2035, 12, 31))
    assert 9000 < sessions.shape[0] < 9100
    assert bool((sessions[1:] > sessions[:-1]).all())


def test_days_outside_the_range_raise(cal: ExchangeCalendar) -> None:
    with pytest.raises(ValueError, match="outside"):
        cal.session(date(1999, 12, 31))
    with pytest.raises(ValueError, match="outside"):
        cal.session(date(2036, 1, 2))
    with pytest.raises(ValueError):
        cal.previous_session(date(2000, 1, 3))


def test_sessions_between_counts_a_known_year(cal: ExchangeCalendar) -> None:
    assert cal.sessions_between(date(2024, 1, 1), date(2024, 12, 31)).shape[0] == 252
