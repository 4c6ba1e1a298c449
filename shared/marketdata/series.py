"""Per-symbol close series, the date-range capability the cache needs, and assembling a PriceHistory.

Shared by every adapter so that all of them answer `history` the same way:
- the shared index is the union of the symbols' bar dates on or before `end`, its last
  `lookback_days` entries;
- a symbol's value on an index day is its last close on or before that day (a missing bar in
  the middle, e.g. an illiquid ETF with no IEX trade that day, carries the previous close);
  NaN before its first bar;
- a symbol with no bar at all on or before `end` raises MarketDataError naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from shared.marketdata.port import MarketDataError, PriceHistory

DateArray = npt.NDArray[np.datetime64]
FloatArray = npt.NDArray[np.float64]


def day64(day: date) -> np.datetime64:
    return np.datetime64(day.isoformat(), "D")


def to_date(value: np.datetime64) -> date:
    return date.fromisoformat(str(value.astype("datetime64[D]")))


@dataclass(frozen=True)
class Closes:
    """One symbol's daily closes: `dates` ascending, unique, datetime64[D]; `values` float64 aligned."""

    dates: DateArray
    values: FloatArray

    @staticmethod
    def empty() -> Closes:
        return Closes(np.empty(0, dtype="datetime64[D]"), np.empty(0, dtype=np.float64))

    @staticmethod
    def from_pairs(pairs: Iterable[tuple[date, float]]) -> Closes:
        """From (day, close) pairs in any order; a later pair for the same day wins."""
        by_day = {day: float(close) for day, close in pairs}
        if not by_day:
            return Closes.empty()
        days = sorted(by_day)
        return Closes(
            np.array([d.isoformat() for d in days], dtype="datetime64[D]"),
            np.array([by_day[d] for d in days], dtype=np.float64),
        )

    def __len__(self) -> int:
        return int(self.dates.shape[0])

    @property
    def first(self) -> date | None:
        return to_date(self.dates[0]) if len(self) else None

    @property
    def last(self) -> date | None:
        return to_date(self.dates[-1]) if len(self) else None

    def between(self, start: date, end: date) -> Closes:
        """Bars with start <= day <= end."""
        lo = int(np.searchsorted(self.dates, day64(start), side="left"))
        hi = int(np.searchsorted(self.dates, day64(end), side="right"))
        return Closes(self.dates[lo:hi], self.values[lo:hi])

    def through(self, end: date) -> Closes:
        hi = int(np.searchsorted(self.dates, day64(end), side="right"))
        return Closes(self.dates[:hi], self.values[:hi])

    def merge(self, newer: Closes) -> Closes:
        """Union of both; on a day present in both, `newer` wins."""
        if not len(newer):
            return self
        if not len(self):
            return newer
        keep = ~np.isin(self.dates, newer.dates)
        dates = np.concatenate([self.dates[keep], newer.dates])
        values = np.concatenate([self.values[keep], newer.values])
        order = np.argsort(dates, kind="stable")
        return Closes(dates[order], values[order])


class RangeMarketData(Protocol):
    """What the cache needs from a source: every bar in a date range (no lookback arithmetic)."""

    def closes_between(self, symbols: Sequence[str], start: date, end: date) -> dict[str, Closes]:
        """Bars with start <= day <= end for each requested symbol (an empty Closes when it has none).

        Raises MarketDataError when the source cannot answer (unknown symbol where the source
        knows its universe, unreachable, malformed data).
        """
        ...


def lookback_start(end: date, lookback_days: int) -> date:
    """A calendar day early enough that [start, end] holds at least `lookback_days` NYSE sessions.

    Five sessions a week, minus at most ~10 holidays a year (and the odd multi-day closure,
    e.g. 2001-09-11..14, 2012-10-29..30), with a margin.
    """
    if lookback_days < 1:
        raise ValueError(f"lookback_days must be >= 1, got {lookback_days}")
    days = -(-lookback_days * 7 // 5) + lookback_days // 10 + 10
    return end - timedelta(days=days)


def unique_symbols(symbols: Sequence[str]) -> list[str]:
    if isinstance(symbols, str):
        raise TypeError("symbols must be a sequence of tickers, not a single string")
    if not symbols:
        raise ValueError("no symbols requested")
    return list(dict.fromkeys(symbols))


def assemble(series: Mapping[str, Closes], end: date, lookback_days: int) -> PriceHistory:
    """The PriceHistory for `series` (keys in the caller's order) as of `end` (see the module doc)."""
    if lookback_days < 1:
        raise ValueError(f"lookback_days must be >= 1, got {lookback_days}")
    clipped = {symbol: closes.through(end) for symbol, closes in series.items()}
    missing = [symbol for symbol, closes in clipped.items() if not len(closes)]
    if missing:
        raise MarketDataError(f"no price data on or before {end.isoformat()} for: {', '.join(missing)}")
    index = np.unique(np.concatenate([closes.dates for closes in clipped.values()]))[-lookback_days:]
    aligned: dict[str, FloatArray] = {}
    for symbol, closes in clipped.items():
        pos = np.searchsorted(closes.dates, index, side="right") - 1
        values = closes.values[np.clip(pos, 0, None)].astype(np.float64, copy=True)
        values[pos < 0] = np.nan
        aligned[symbol] = values
    return PriceHistory(dates=index.astype("datetime64[D]"), closes=aligned)
