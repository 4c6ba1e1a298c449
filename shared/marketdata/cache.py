"""CachedMarketData: a run fetches only the days its store does not already hold.

Per symbol the store keeps the closes and the calendar range they are complete for. A request
for `lookback_days` sessions ending `end` needs the calendar range [lookback_start, end]; the
cache fetches from the inner source only what lies outside the stored range (at most one
range before it and one after it, symbols with the same gap batched into one call), merges,
saves, and answers from the merged series, never past `end`.

Two things a plain "append the new days" cache gets wrong, handled here:
- Adjusted prices change retroactively (Alpaca `adjustment=all`: a split or dividend rescales
  every earlier close). Each gap fetch therefore also re-reads the one stored bar next to the
  gap; if it no longer matches (relative 1e-6), the symbol's stored history is stale: it is
  dropped and the whole range re-fetched in the same run.
- A bar for a day that has not ended (a run during the session) is provisional: it is served,
  but only days up to yesterday in New York (`yesterday_in_new_york` of the `now` clock) are saved.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np

from shared.marketdata.bar_store import BarStore, DirectoryBarStore, S3BarStore, StoredBars
from shared.marketdata.port import MarketDataError, PriceHistory
from shared.marketdata.series import Closes, RangeMarketData, assemble, day64, lookback_start, unique_symbols

__all__ = ["BarStore", "CachedMarketData", "DirectoryBarStore", "S3BarStore", "StoredBars"]

logger = logging.getLogger(__name__)
ONE_DAY = timedelta(days=1)
Gap = tuple[date, date]


def yesterday_in_new_york(now: datetime) -> date:
    """The last day whose session has surely ended: New York's yesterday.

    New York is UTC-5 or UTC-4, so `now - 5h` never runs ahead of the New York date (needs no
    time-zone database; at worst a finished day is saved one hour later).
    """
    return (now.astimezone(UTC) - timedelta(hours=5)).date() - ONE_DAY


class CachedMarketData:
    """MarketData (and RangeMarketData) over `inner`, remembering bars in `store`."""

    def __init__(
        self,
        inner: RangeMarketData,
        store: BarStore,
        *,
        now: Callable[[], datetime] | None = None,
        verify_overlap: bool = True,
        tolerance: float = 1e-6,
    ) -> None:
        self.inner = inner
        self.store = store
        self._now = now or (lambda: datetime.now(UTC))
        self._verify = verify_overlap
        self._tolerance = tolerance
        self._entries: dict[str, StoredBars | None] = {}

    def __repr__(self) -> str:
        return f"CachedMarketData({self.inner!r}, {self.store!r})"

    def history(self, symbols: Sequence[str], end: date, lookback_days: int) -> PriceHistory:
        wanted = unique_symbols(symbols)
        series = self._refresh(wanted, lookback_start(end, lookback_days), end)
        return assemble(series, end, lookback_days)

    def closes_between(self, symbols: Sequence[str], start: date, end: date) -> dict[str, Closes]:
        wanted = unique_symbols(symbols)
        if start > end:
            return {s: Closes.empty() for s in wanted}
        series = self._refresh(wanted, start, end)
        return {s: closes.between(start, end) for s, closes in series.items()}

    def latest_prices(self, symbols: Sequence[str], at: datetime) -> dict[str, float]:
        """Latest trades are never cached: straight from the inner source."""
        latest = getattr(self.inner, "latest_prices", None)
        if latest is None:
            raise MarketDataError(f"{self.inner!r} has no latest trades")
        return dict(latest(symbols, at))

    # ------------------------------------------------------------------ internals
    def _entry(self, symbol: str) -> StoredBars | None:
        if symbol not in self._entries:
            self._entries[symbol] = self.store.load(symbol)
        return self._entries[symbol]

    def _gaps(self, entry: StoredBars | None, start: date, end: date) -> list[Gap]:
        """The calendar ranges to fetch; each reaches to the adjacent stored bar (to verify it)."""
        if entry is None:
            return [(start, end)]
        gaps: list[Gap] = []
        first, last = entry.closes.first, entry.closes.last
        if start < entry.covered_from:
            hi = entry.covered_from - ONE_DAY
            if self._verify and first is not None:
                hi = max(hi, first)
            gaps.append((start, hi))
        if end > entry.covered_to:
            lo = entry.covered_to + ONE_DAY
            if self._verify and last is not None:
                lo = min(lo, last)
            gaps.append((lo, end))
        return gaps

    def _fetch(self, plan: dict[Gap, list[str]]) -> dict[str, Closes]:
        fetched: dict[str, Closes] = defaultdict(Closes.empty)
        for (lo, hi), symbols in sorted(plan.items()):
            got = self.inner.closes_between(symbols, lo, hi)
            for symbol in symbols:
                fetched[symbol] = fetched[symbol].merge(got.get(symbol, Closes.empty()).between(lo, hi))
        return fetched

    def _consistent(self, entry: StoredBars, gaps: list[Gap], fresh: Closes) -> bool:
        """Do the stored bars inside the fetched ranges match what the source says now?"""
        for lo, hi in gaps:
            stored = entry.closes.between(lo, hi)
            if not len(stored):
                continue
            positions = np.searchsorted(fresh.dates, stored.dates)
            positions = np.clip(positions, 0, max(len(fresh) - 1, 0))
            if not len(fresh) or not bool(np.all(fresh.dates[positions] == stored.dates)):
                return False
            if not np.allclose(fresh.values[positions], stored.values, rtol=self._tolerance, atol=0.0):
                return False
        return True

    def _refresh(self, wanted: list[str], start: date, end: date) -> dict[str, Closes]:
        """Every symbol's full known series (stored + fetched), after bringing [start, end] in."""
        entries = {s: self._entry(s) for s in wanted}
        gaps = {s: self._gaps(entries[s], start, end) for s in wanted}
        plan: dict[Gap, list[str]] = defaultdict(list)
        for symbol, symbol_gaps in gaps.items():
            for gap in symbol_gaps:
                plan[gap].append(symbol)
        fetched = self._fetch(plan)

        stale = [
            s for s in wanted
            if self._verify and (entry := entries[s]) is not None and gaps[s]
            and not self._consistent(entry, gaps[s], fetched[s])
        ]  # fmt: skip
        if stale:
            logger.warning("cached history changed at the source (split/dividend?); re-fetching %s", stale)
            replan: dict[Gap, list[str]] = defaultdict(list)
            for symbol in stale:
                entry = entries[symbol]
                assert entry is not None
                hull = (min(start, entry.covered_from), max(end, entry.covered_to))
                replan[hull].append(symbol)
                gaps[symbol] = [hull]
                entries[symbol] = None
            fetched.update(self._fetch(replan))

        settled = yesterday_in_new_york(self._now())
        series: dict[str, Closes] = {}
        for symbol in wanted:
            entry = entries[symbol]
            stored = entry.closes if entry is not None else Closes.empty()
            merged = stored.merge(fetched[symbol]) if gaps[symbol] else stored
            series[symbol] = merged
            if gaps[symbol]:
                self._save(symbol, entry, merged, gaps[symbol], settled)
        return series

    def _save(self, symbol: str, entry: StoredBars | None, merged: Closes, gaps: list[Gap], settled: date) -> None:
        lo = min(g[0] for g in gaps)
        hi = max(g[1] for g in gaps)
        if entry is not None:
            lo, hi = min(lo, entry.covered_from), max(hi, entry.covered_to)
        covered_to = min(hi, max(settled, entry.covered_to if entry is not None else settled))
        if covered_to < lo:
            return  # nothing settled yet: serve, do not save
        keep = merged.dates <= day64(covered_to)
        record = StoredBars(lo, covered_to, Closes(merged.dates[keep], merged.values[keep]))
        self.store.save(symbol, record)
        self._entries[symbol] = record
