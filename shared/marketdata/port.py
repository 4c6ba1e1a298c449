"""Market data and market calendar ports.

Prices here feed indicators (float64 arrays are fine); anything that reaches an order is
converted to Decimal by the consumer (`close_as_decimal`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class PriceHistory:
    """Daily adjusted closes on one shared index of trading days.

    `dates` is ascending datetime64[D]; `closes[symbol]` is float64 aligned with `dates`,
    NaN before the symbol's first bar. The last date is the data's as-of day.
    """

    dates: npt.NDArray[np.datetime64]
    closes: dict[str, npt.NDArray[np.float64]]

    @property
    def as_of(self) -> date:
        return self.dates[-1].astype(date)  # type: ignore[no-any-return]

    def close_as_decimal(self, symbol: str, places: int = 4) -> Decimal:
        return Decimal(str(round(float(self.closes[symbol][-1]), places)))


class MarketDataError(Exception):
    """Data cannot be had: unknown symbol, no bars, source unreachable."""


class MarketData(Protocol):
    def history(self, symbols: Sequence[str], end: date, lookback_days: int) -> PriceHistory:
        """At least `lookback_days` trading days ending on or before `end` (fewer if the symbol is young).

        Raises MarketDataError naming any symbol with no data at all.
        """
        ...


@dataclass(frozen=True)
class Session:
    date: date
    open: datetime
    """UTC."""
    close: datetime
    """UTC; earlier than usual on early-close days."""
    early_close: bool = False


class LatestPrices(Protocol):
    """Optional capability of a MarketData: the latest trade price of each symbol at `at`
    (Composer's timing: a run near the close takes these as today's bar). Raises MarketDataError."""

    def latest_prices(self, symbols: Sequence[str], at: datetime) -> dict[str, float]: ...


def with_today(history: PriceHistory, day: date, prices: dict[str, float]) -> PriceHistory:
    """`history` plus one more row for `day` (after its last day) holding `prices`."""
    if history.dates.shape[0] and history.dates[-1] >= np.datetime64(day, "D"):
        raise ValueError(f"the history already reaches {history.as_of}; cannot add {day} as today's bar")
    missing = sorted(set(history.closes) - set(prices))
    if missing:
        raise MarketDataError(f"no latest trade for {', '.join(missing)} on {day}")
    dates = np.concatenate([history.dates, np.array([day], dtype="datetime64[D]")])
    closes = {s: np.concatenate([v, np.array([prices[s]], dtype=np.float64)]) for s, v in history.closes.items()}
    return PriceHistory(dates, closes)


class MarketCalendar(Protocol):
    def session(self, day: date) -> Session | None:
        """The session on `day`, or None when the market is closed all day (weekend, holiday)."""
        ...

    def previous_session(self, day: date) -> Session:
        """The last session strictly before `day`."""
        ...

    def latest_session(self, at: datetime) -> Session:
        """The most recent session that has opened at or before `at` (for 'trade the latest day')."""
        ...
