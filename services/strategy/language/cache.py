"""IndicatorCache: every series computed once per run and shared by all strategies evaluated on it."""

from __future__ import annotations

from collections import Counter

import numpy as np

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
        self._series: dict[IndicatorKey, FloatArray] = {}
        self._from: dict[IndicatorKey, int] = {}
        """The first day each series is exact on (values before it were computed on part of their lookback)."""
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

    def returns(self, symbol: str) -> FloatArray:
        """Daily simple returns (NaN on the first day and around gaps); the symbol must have data."""
        if symbol not in self._returns:
            closes = self.closes(symbol)
            assert closes is not None, symbol
            self._returns[symbol] = daily_returns(closes)
        return self._returns[symbol]

    def indicator(self, name: str, symbol: str, window: Args | int | None, start: int = 0) -> FloatArray:
        """An indicator's series (`window`: its window, or its windows), exact on the days from
        `start` on: it is computed over the closes from its lookback before `start` only, which
        gives the very floats the whole history would (windows.py). The symbol must have data."""
        args = args_of(window)
        key = (name, symbol, (args[0] if len(args) == 1 else args) if args else 0)
        found = self._series.get(key)
        if found is not None and self._from[key] <= start:
            self.hits += 1
            return found
        closes = self.closes(symbol)
        assert closes is not None, symbol
        lo = max(0, start - INDICATORS[name].lookback_bars(args) + 1)
        if lo:
            series = np.full(closes.shape[0], np.nan)
            series[lo:] = compute(name, closes[lo:], args)
        else:
            series = compute(name, closes, args)
        self._series[key] = series
        self._from[key] = start if lo else 0
        self.computations[key] += 1
        return series
