"""Data that ends before today (a folder of CSV files exported once): say where it ends and which run it serves.

A run at 09:35 on day X trades on the closes of the session before X, so data ending on D serves the run of the
session after D: `--as-of D+1`. The backtest ends at D by default instead of failing on the first day past it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any


def is_folder(data: str) -> bool:
    """A `--data DIR` (not the generated offline history, which reaches 2035, nor Alpaca, which is live)."""
    return data.strip().lower() not in ("offline", "alpaca")


def data_ends(market_data: Any, symbols: Iterable[str], *, before: date) -> date | None:
    """The last day on or before `before` on which every symbol has a bar, or None when it cannot be told
    (a symbol without data: the command's own error says so)."""
    from shared.marketdata.port import MarketDataError

    wanted = sorted(set(symbols))
    if not wanted or not hasattr(market_data, "closes_between"):
        return None
    try:
        found = market_data.closes_between(wanted, before - timedelta(days=3660), before)
    except (MarketDataError, OSError, ValueError):
        return None
    ends = [closes.dates[-1].astype(date) for closes in found.values() if closes.dates.shape[0]]
    return min(ends) if len(ends) == len(wanted) else None


def next_session(calendar: Any, day: date) -> date:
    """The first session after `day`."""
    for offset in range(1, 15):
        candidate = day + timedelta(days=offset)
        if calendar.session(candidate) is not None:
            return candidate
    return day + timedelta(days=1)


def as_of_hint(calendar: Any, ends: date) -> str:
    """"the data ends on D; pass --as-of D+1 (the next session: its run trades on D's closes)"."""
    after = next_session(calendar, ends)
    return (f"the data ends on {ends.isoformat()}; pass --as-of {after.isoformat()} (the next session: its run "
            f"trades on the closes of {ends.isoformat()})")
