"""The one clock vocabulary: New York time and "the trading date" of a moment.

Every module that needs the exchange's time zone or the date a moment belongs to imports it from
here (pure, stdlib only: it ships in every function and costs nothing at cold start).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
"""The exchange's time zone (XNYS): sessions, run times and trading dates are New York's."""


def trading_date(moment: datetime) -> date:
    """The New York calendar date of `moment` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError(f"trading_date needs an aware datetime, got {moment.isoformat()}")
    return moment.astimezone(NEW_YORK).date()
