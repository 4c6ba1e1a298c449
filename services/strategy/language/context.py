"""Values on one evaluation day, and the errors that say why a value is missing (fail closed)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from services.strategy.language.analysis import lookback_of
from services.strategy.language.cache import IndicatorCache
from services.strategy.language.errors import StrategyError
from services.strategy.language.indicators import INDICATORS
from services.strategy.language.nodes import Asset, Group, IndicatorCall, Node, Number, Operand, Pos, label
from services.strategy.language.series import node_indicator, node_returns

MAX_PROBE_DEPTH = 8
"""How deep a failure inside ranked groups is traced to its cause before a generic message."""


def expression(call: IndicatorCall, symbol: str | None = None) -> str:
    """`rsi(TQQQ, 10)`, `current-price(SPY)`, `rsi(7)` (a filter's ranking)."""
    args = [a for a in (symbol or call.symbol, None if call.window is None else str(call.window)) if a]
    return f"{call.name}({', '.join(args)})"


def operand_text(operand: Operand) -> str:
    return str(operand.value) if isinstance(operand, Number) else expression(operand)


class _ReplayError(StrategyError):
    """A failure inside a ranked group, located at its root cause; `reason` is that cause alone."""

    reason: str

    def __init__(self, cause: StrategyError, message: str) -> None:
        super().__init__(cause.file, cause.line, cause.column, message)
        self.reason = cause.reason if isinstance(cause, _ReplayError) else cause.message


class EvalContext:
    """What a walk over the tree reads: the cache, the dates, and where to report problems."""

    def __init__(self, file: str, cache: IndicatorCache) -> None:
        self.file = file
        self.cache = cache
        self.dates = cache.history.dates
        self.probe: Callable[[Node, int], object] | None = None
        self.depth = 0

    def day(self, t: int) -> str:
        return str(self.dates[t])

    def fail(self, pos: Pos, message: str) -> StrategyError:
        return StrategyError(self.file, pos.line, pos.column, message)

    def operand(self, operand: Operand, t: int) -> float:
        if isinstance(operand, Number):
            return float(operand.value)
        assert operand.symbol is not None
        value = float(self.cache.indicator(operand.name, operand.symbol, operand.window)[t])
        if math.isnan(value):
            raise self._history_error(operand, operand.symbol, t, operand.pos)
        return value

    def check_price(self, asset: Asset, t: int) -> None:
        closes = self.cache.closes(asset.ticker)
        assert closes is not None
        if math.isnan(closes[t]):
            raise self.fail(asset.pos, f"'{asset.ticker}' has no close on {self.day(t)}, so it cannot be held")

    def score(self, child: Node, call: IndicatorCall, t: int, at: Pos) -> float:
        """A filter candidate's score; `at` is where the filter's indicator is written."""
        value = float(node_indicator(child, call.name, call.window, self.cache)[t])
        if math.isnan(value):
            if isinstance(child, Asset):
                raise self._history_error(call, child.ticker, t, at)
            raise self._portfolio_error(child, call, t, at)
        return value

    def volatility(self, child: Node, window: int, t: int, at: Pos) -> float:
        call = IndicatorCall("stdev-return", None, window, at)
        value = self.score(child, call, t, at)
        if value <= 0.0:
            raise self.fail(
                at,
                f"the {window}-day volatility of {label(child)} is 0 on {self.day(t)}; "
                "inverse-volatility weights are undefined",
            )
        return value

    def _history_error(self, call: IndicatorCall, symbol: str, t: int, at: Pos) -> StrategyError:
        closes = self.cache.closes(symbol)
        assert closes is not None
        shown = expression(call, symbol)
        if math.isnan(closes[t]):
            return self.fail(at, f"{shown} is undefined on {self.day(t)}: '{symbol}' has no close that day")
        gaps = np.flatnonzero(np.isnan(closes[: t + 1]))
        have = t + 1 - (int(gaps[-1]) + 1 if gaps.size else 0)
        need = INDICATORS[call.name].min_bars(call.window)
        return self.fail(
            at,
            f"not enough history for {shown} on {self.day(t)}: it needs {need} consecutive "
            f"daily closes, '{symbol}' has {have}",
        )

    def _portfolio_error(self, child: Node, call: IndicatorCall, t: int, at: Pos) -> StrategyError:
        what = f"{label(child)} by {expression(call)}"
        kind = "group" if isinstance(child, Group) else "block"
        needed = INDICATORS[call.name].min_bars(call.window) - 1
        first = t - needed + 1
        span = lookback_of(child, warm_up=False) + needed
        if span > t + 1:
            return self.fail(
                at,
                f"not enough history to score {what} on {self.day(t)}: replaying the {kind} "
                f"over {needed} days needs {span} trading days of closes, the history has {t + 1}",
            )
        returns = node_returns(child, self.cache)
        missing = np.flatnonzero(np.isnan(returns[first : t + 1]))
        if not missing.size:
            return self.fail(at, f"cannot score {what} on {self.day(t)}: the value is undefined")
        d = first + int(missing[-1])
        if self.probe is not None and self.depth < MAX_PROBE_DEPTH:
            self.depth += 1
            try:
                self.probe(child, d - 1)
            except StrategyError as cause:
                replay = _ReplayError(cause, "")
                return _ReplayError(
                    cause,
                    f"cannot score {what} on {self.day(t)}: replaying the {kind} on "
                    f"{self.day(d - 1)} failed: {replay.reason}",
                )
            finally:
                self.depth -= 1
        return self.fail(
            at,
            f"cannot score {what} on {self.day(t)}: its return on {self.day(d)} is undefined "
            f"(its holdings on {self.day(d - 1)} cannot be decided, or one has no close on "
            f"{self.day(d - 1)} or {self.day(d)})",
        )
