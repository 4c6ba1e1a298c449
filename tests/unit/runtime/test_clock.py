from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.runtime.clock import NEW_YORK, trading_date


def test_the_trading_date_is_new_yorks_date_of_the_moment():
    assert trading_date(datetime(2026, 3, 10, 3, 30, tzinfo=UTC)) == date(2026, 3, 9)  # 23:30 the day before
    assert trading_date(datetime(2026, 3, 10, 14, 35, tzinfo=UTC)) == date(2026, 3, 10)
    assert trading_date(datetime(2026, 3, 10, 0, 5, tzinfo=NEW_YORK)) == date(2026, 3, 10)


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="aware"):
        trading_date(datetime(2026, 3, 10, 12, 0))
