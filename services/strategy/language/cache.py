"""IndicatorCache: every series computed once per run and shared by all strategies evaluated on it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.strategy.language.indicators import INDICATORS, Args, FloatArray, args_of, compute, daily_returns
from services.strategy.language.nodes import Node
from shared.marketdata.port import PriceHistory

IndicatorKey = tuple[str, str, int | Args]
"""(indicator, symbol, window): the window is 0 for current-price, a tuple for several (the PPO's)."""


class IndicatorCache:
    """Series over one PriceHistory, keyed by (indicator, symbol, window) and by group node.

    Pass the same cache to `evaluate` for every strategy of a run; a cache refuses a second,
    different history (its series would silently be stale).
    """

    def __init__(self, history: PriceHistory | None = None) -> None:
        self._history: PriceHistory | None = None
        self._closes: dict[str, FloatArray | None] = {}
        self._returns: dict[str, FloatArray] = {}
        self._counts: dict[str, npt.NDArray[np.int64]] = {}
        self._series: dict[IndicatorKey, _Series] = {}
        self.node_returns: dict[Node, FloatArray] = {}
        """Daily return of a group's (or candidate block's) own portfolio, rebalanced each day."""
        self.node_series: dict[tuple[Node, str, Args], FloatArray] = {}
        """An indicator of a node's portfolio, computed on its NAV."""
        self.computations: Counter[IndicatorKey] = Counter()
        self.hits = 0
        if history is not None:
            self.bind(history)

    def bind(self, history: PriceHistory) -> None:
        if self._history is history:
            return
        if self._history is not None:
            raise ValueError("this IndicatorCache belongs to another PriceHistory; use one cache per history")
        if history.dates.ndim != 1:
            raise ValueError("PriceHistory.dates must be one-dimensional")
        self._history = history

    @property
    def history(self) -> PriceHistory:
        if self._history is None:
            raise ValueError("IndicatorCache is not bound to a PriceHistory yet")
        return self._history

    def closes(self, symbol: str) -> FloatArray | None:
        """The symbol's closes as float64, or None when it has no bar at all."""
        if symbol not in self._closes:
            raw = self.history.closes.get(symbol)
            series: FloatArray | None = None
            if raw is not None:
                series = np.asarray(raw, dtype=np.float64)
                if series.shape != self.history.dates.shape:
                    raise ValueError(f"PriceHistory.closes[{symbol!r}] is not aligned with its dates")
                if np.isnan(series).all():
                    series = None
            self._closes[symbol] = series
        return self._closes[symbol]

    def counts(self, symbol: str) -> npt.NDArray[np.int64]:
        """counts[t] = how many closes the symbol has before day t (so a window's count is a difference)."""
        found = self._counts.get(symbol)
        if found is None:
            closes = self.closes(symbol)
            found = np.zeros(self.history.dates.shape[0] + 1, dtype=np.int64)
            if closes is not None:
                np.cumsum(~np.isnan(closes), out=found[1:])
            self._counts[symbol] = found
        return found

    def returns(self, symbol: str) -> FloatArray:
        """Daily simple returns (NaN on the first day and around gaps); the symbol must have data."""
        if symbol not in self._returns:
            closes = self.closes(symbol)
            assert closes is not None, symbol
            self._returns[symbol] = daily_returns(closes)
        return self._returns[symbol]

    def _key(self, name: str, symbol: str, args: Args) -> IndicatorKey:
        return (name, symbol, (args[0] if len(args) == 1 else args) if args else 0)

    def _stored(self, key: IndicatorKey, start: int) -> _Series | None:
        found = self._series.get(key)
        if found is not None and found.exact_from <= start:
            self.hits += 1
            return found
        return None

    def _compute(self, key: IndicatorKey, args: Args, start: int) -> _Series:
        name, symbol = key[0], key[1]
        closes = self.closes(symbol)
        assert closes is not None, symbol
        lo = max(0, start - INDICATORS[name].lookback_bars(args) + 1)
        found = self._series[key] = _Series(lo, start if lo else 0, compute(name, closes[lo:], args))
        self.computations[key] += 1
        return found

    def prefetch(self, name: str, args: Args, symbols: Iterable[str], start: int = 0) -> None:
        """Compute one indicator of many symbols at once (one block, a column each), exact from
        `start` on: what `indicator` would compute for each, the same floats (windows.py), for the
        cost of a few numpy calls instead of a few per symbol. Symbols whose closes have a gap in the
        span computed are left to `indicator`."""
        lo = max(0, start - INDICATORS[name].lookback_bars(args) + 1)
        block: list[tuple[str, IndicatorKey]] = []
        for symbol in dict.fromkeys(symbols):
            key = self._key(name, symbol, args)
            closes = self.closes(symbol)
            found = self._series.get(key)
            if closes is None or (found is not None and found.exact_from <= start):
                continue
            if not np.isnan(closes[lo:]).any():
                block.append((symbol, key))
        if len(block) < 2:
            return
        values = compute(name, np.column_stack([self._closes[s][lo:] for s, _ in block]), args)  # type: ignore[index]
        for j, (_, key) in enumerate(block):
            self._series[key] = _Series(lo, start if lo else 0, values[:, j])
            self.computations[key] += 1

    def at(self, name: str, symbol: str, window: Args | int | None, days: npt.NDArray[np.int64],
           start: int) -> FloatArray:
        """An indicator's values on `days` (none before `start`): see `indicator`."""
        args = args_of(window)
        key = self._key(name, symbol, args)
        found = self._stored(key, start) or self._compute(key, args, start)
        return found.values[days - found.lo]

    def indicator(self, name: str, symbol: str, window: Args | int | None) -> FloatArray:
        """Whole-history series of an indicator (`window`: its window, or its windows); the symbol
        must have data. `at` reads a few days without computing the days before them: a value is
        computed over the closes of its own lookback only, which gives the very floats the whole
        history would (windows.py)."""
        args = args_of(window)
        key = self._key(name, symbol, args)
        found = self._stored(key, 0)
        if found is None or found.lo:
            found = self._compute(key, args, 0)
        return found.values


@dataclass(frozen=True, slots=True)
class _Series:
    lo: int
    """The history index of values[0]."""
    exact_from: int
    """The first day whose value is computed on its whole lookback (earlier ones: on part of it)."""
    values: FloatArray
