"""Shared helpers: the lookback-to-calendar-range estimate, Closes merging."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.series import Closes, lookback_start

CAL = ExchangeCalendar()


@settings(max_examples=300, deadline=None)
@given(end=st.dates(min_value=date(2001, 6, 1), max_value=date(2035, 12, 31)), lookback=st.integers(1, 1500))
def test_lookback_start_leaves_room_for_enough_sessions(end: date, lookback: int) -> None:
    start = lookback_start(end, lookback)
    if start < date(2000, 1, 1):
        return
    assert CAL.sessions_between(start, end).shape[0] >= lookback


def test_lookback_start_across_the_september_2001_closure() -> None:
    for end in (date(2001, 9, 17) + timedelta(days=i) for i in range(10)):
        for lookback in range(1, 30):
            assert CAL.sessions_between(lookback_start(end, lookback), end).shape[0] >= lookback


def test_merge_prefers_the_newer_values_and_keeps_order() -> None:
    old = Closes.from_pairs([(date(2024, 1, 2), 1.0), (date(2024, 1, 3), 2.0)])
    new = Closes.from_pairs([(date(2024, 1, 4), 4.0), (date(2024, 1, 3), 3.0)])
    merged = old.merge(new)
    assert list(merged.dates.astype(str)) == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert list(merged.values) == [1.0, 3.0, 4.0]
    assert merged.between(date(2024, 1, 3), date(2024, 1, 3)).values.tolist() == [3.0]
    assert len(Closes.empty().merge(old)) == 2
    assert np.array_equal(old.merge(Closes.empty()).values, old.values)
