"""Why a day cannot be evaluated: each problem names what was missing, where, and on which day.

The evaluation over days (days.py) records, for every day it cannot evaluate, the first problem in
the order the tree is read (the order a reader of the file follows: a node before its children,
children in the order written), and builds its message only when someone asks: the one-day
evaluation raises it, the backtest reports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from services.strategy.language.cache import IndicatorCache
from services.strategy.language.errors import StrategyError
from services.strategy.language.indicators import INDICATORS, BoolArray
from services.strategy.language.nodes import (
    Asset,
    Group,
    If,
    IndicatorCall,
    Node,
    Number,
    Operand,
    Pos,
    iter_nodes,
    label,
)

MAX_PROBE_DEPTH = 8
"""How deep a failure inside ranked groups is traced to its cause before a generic message."""


def expression(call: IndicatorCall, symbol: str | None = None) -> str:
    """`rsi(TQQQ, 10)`, `current-price(SPY)`, `rsi(7)` (a filter's ranking), `percentage-price-oscillator(SPY, 12, 26)`
    (several windows)."""
    args = [a for a in (symbol or call.symbol,) if a] + [str(w) for w in call.args]
    return f"{call.name}({', '.join(args)})"


def operand_text(operand: Operand) -> str:
    return str(operand.value) if isinstance(operand, Number) else expression(operand)


class ReplayError(StrategyError):
    """A failure inside a ranked group, located at its root cause; `reason` is that cause alone."""

    reason: str

    def __init__(self, cause: StrategyError, message: str) -> None:
        super().__init__(cause.file, cause.line, cause.column, message)
        self.reason = cause.reason if isinstance(cause, ReplayError) else cause.message


class Env(Protocol):
    """What a problem's message reads: the file, the data, and a way to evaluate a block on one day."""

    file: str
    cache: IndicatorCache

    def probe(self, node: Node, t: int) -> StrategyError | None: ...

    def returns(self, node: Node) -> np.ndarray: ...


class Problem(Protocol):
    def error(self, env: Env, k: int, t: int) -> StrategyError:
        """The message for day index t of the history (position k of the evaluated days)."""
        ...


def _day(env: Env, t: int) -> str:
    return str(env.cache.history.dates[t])


def _fail(env: Env, at: Pos, message: str) -> StrategyError:
    return StrategyError(env.file, at.line, at.column, message)


@dataclass(frozen=True)
class Undefined:
    """An indicator of a ticker has no value: not enough consecutive closes, or none that day."""

    call: IndicatorCall
    symbol: str
    at: Pos

    def error(self, env: Env, k: int, t: int) -> StrategyError:
        closes = env.cache.closes(self.symbol)
        assert closes is not None
        shown = expression(self.call, self.symbol)
        if math.isnan(closes[t]):
            return _fail(env, self.at, f"{shown} is undefined on {_day(env, t)}: '{self.symbol}' has no close that day")
        gaps = np.flatnonzero(np.isnan(closes[: t + 1]))
        have = t + 1 - (int(gaps[-1]) + 1 if gaps.size else 0)
        need = INDICATORS[self.call.name].min_bars(self.call.args)
        return _fail(env, self.at, f"not enough history for {shown} on {_day(env, t)}: it needs {need} consecutive "
                                   f"daily closes, '{self.symbol}' has {have}")


@dataclass(frozen=True)
class NoClose:
    """A held asset has no close on the day."""

    asset: Asset

    def error(self, env: Env, k: int, t: int) -> StrategyError:
        return _fail(env, self.asset.pos,
                     f"'{self.asset.ticker}' has no close on {_day(env, t)}, so it cannot be held")


@dataclass(frozen=True)
class ZeroVolatility:
    child: Node
    window: int
    at: Pos

    def error(self, env: Env, k: int, t: int) -> StrategyError:
        return _fail(env, self.at, f"the {self.window}-day volatility of {label(self.child)} is 0 on {_day(env, t)}; "
                                   "inverse-volatility weights are undefined")


@dataclass(frozen=True)
class Unscored:
    """A group (any block) ranked or weighted by an indicator of its own returns has no score."""

    child: Node
    call: IndicatorCall
    at: Pos

    def error(self, env: Env, k: int, t: int) -> StrategyError:
        what = f"{label(self.child)} by {expression(self.call)}"
        kind = "group" if isinstance(self.child, Group) else "block"
        returns = env.returns(self.child)
        defined = np.flatnonzero(~np.isnan(returns[: t + 1]))
        if not defined.size:
            cause = env.probe(self.child, t - 1) if t >= 1 else None
            if cause is not None:
                return ReplayError(cause, f"cannot score {what} on {_day(env, t)}: the {kind} cannot be decided on "
                                          f"any day before it; on {_day(env, t - 1)}: {_reason(cause)}")
            return _fail(env, self.at, f"cannot score {what} on {_day(env, t)}: the {kind} has no daily return "
                                       "yet (it needs two days of closes of what it holds)")
        needed = INDICATORS[self.call.name].min_bars(self.call.args) - 1
        if t + 1 < needed + 1:
            return _fail(env, self.at, f"not enough history to score {what} on {_day(env, t)}: its window needs "
                                       f"{needed} daily returns, the history holds {t}")
        window = returns[max(t - needed + 1, int(defined[0])) : t + 1]
        missing = np.flatnonzero(np.isnan(window))
        if not missing.size:
            return _fail(env, self.at, f"cannot score {what} on {_day(env, t)}: the value is undefined")
        d = t - window.shape[0] + 1 + int(missing[-1])
        cause = env.probe(self.child, d - 1)
        if cause is not None:
            return ReplayError(cause, f"cannot score {what} on {_day(env, t)}: replaying the {kind} on "
                                      f"{_day(env, d - 1)} failed: {_reason(cause)}")
        return _fail(env, self.at, f"cannot score {what} on {_day(env, t)}: its return on {_day(env, d)} is "
                                   f"undefined (one of its holdings on {_day(env, d - 1)} has no close on "
                                   f"{_day(env, d - 1)} or {_day(env, d)})")


def _reason(cause: StrategyError) -> str:
    return cause.reason if isinstance(cause, ReplayError) else cause.message


def first_use(body: Node, symbol: str) -> Node | IndicatorCall:
    """Where a strategy first mentions `symbol` (held, or read by an indicator); `body` if nowhere."""
    for node in iter_nodes(body):
        if isinstance(node, Asset) and node.ticker == symbol:
            return node
        if isinstance(node, If):
            for operand in (node.condition.left, node.condition.right):
                if isinstance(operand, IndicatorCall) and operand.symbol == symbol:
                    return operand
    return body


@dataclass(frozen=True)
class NoData:
    """Tickers with no close at all in the history a run reads: a typo fails on the first run, even
    in a branch not taken (and, before a young ticker's first bar, every day fails)."""

    body: Node
    symbols: Sequence[str]
    missing: Callable[[int], BoolArray]
    """Position k of the evaluated days -> which of `symbols` have no close that day's run can read."""
    ends: Callable[[int], int]
    """Position k -> the last day of the history that day's run reads."""

    def error(self, env: Env, k: int, t: int) -> StrategyError:
        missing = [s for s, gone in zip(self.symbols, self.missing(k), strict=True) if gone]
        t = self.ends(k)
        at = first_use(self.body, missing[0]).pos
        others = f" (nor do {', '.join(repr(s) for s in missing[1:])})" if missing[1:] else ""
        return _fail(env, at, f"no price data for ticker '{missing[0]}'{others} on or before {_day(env, t)}; "
                              "check the ticker (a young one has no data before its first day)")
