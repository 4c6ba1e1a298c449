"""Evaluating a strategy on many days at once: the walker's rules, vectorised across dates.

The backtest asks for the weights of every session of years of history. `evaluate` answers one
day on that day's lookback window (as the Lambda does); `timeline` answers every requested day in
one pass over the tree on one whole-history IndicatorCache: each node's share of the portfolio is
an array over the days, an `if` splits it by its condition's array, a filter by the ranking of
its candidates' score arrays, inverse volatility by the volatility arrays. The arithmetic on each
day is the walker's own (services/strategy/language/walker.py), operation for operation.

Exactness. The answer must be what `evaluate` gives for a run on that day, to the last bit (the
backtest's property test checks it on random strategies and dates). An indicator of a ticker is
the same float on the whole history as on a day's window (each value is computed from its own
lookback alone: indicators.py, tested in test_indicators.py), so a decision that reads tickers'
indicators is the same decision. A group's score is computed on the group's NAV, which starts
where the history does: the same number up to float rounding (~1e-14), which can only change a
decision on a knife edge. So the margin of every decision that reads a group's score is measured,
and a day whose margin anywhere is below `TOLERANCE` (relative), whose value is undefined anywhere
the walker would read it, or whose inverse-volatility weights of groups sit on a rounding midpoint,
is marked not `exact`: the caller evaluates those days with `evaluate` itself. Such days are rare;
the backtest reports how many there were.

A group candidate's score depends on the group's decisions over the score's window; a group whose
internal decisions were on a knife edge on any day of that window makes the score not exact
(`_fragile`, conservative).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from services.strategy.language.cache import IndicatorCache
from services.strategy.language.indicators import INDICATORS, BoolArray, FloatArray
from services.strategy.language.nodes import (
    Asset,
    Filter,
    Group,
    If,
    IndicatorCall,
    Node,
    Number,
    Operand,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
    child_nodes,
    iter_nodes,
)
from services.strategy.language.series import COMPARE, node_indicator
from services.strategy.language.symphony import Symphony

IntArray = npt.NDArray[np.int64]

TOLERANCE = 1e-9
"""A decision on groups' scores whose two sides differ by less than this (relative to max(1, |sides|))
is a knife edge: 10^5 times the float rounding a NAV can carry."""
ROUNDING_GUARD = 1e-4
"""In units of the 9th decimal: a float weight this close to a rounding midpoint is a knife edge."""

SHIFT_INVARIANT = frozenset(INDICATORS)
"""Indicators whose value at t is the same float whatever day the history starts on (all of them:
see indicators.py and test_a_value_is_the_same_float_on_any_history_that_holds_its_lookback)."""



@dataclass(frozen=True)
class Timeline:
    """Float weights on each requested day, and whether each day's answer is certain."""

    days: IntArray
    """Indices into the cache's history dates."""
    tickers: tuple[str, ...]
    weights: FloatArray
    """(len(days), len(tickers)); a row sums to 1 where `exact`."""
    exact: BoolArray
    """False: evaluate this day with `evaluate` (a knife edge, or a value the walker would fail on)."""

    def row(self, k: int) -> dict[str, float]:
        return {t: float(w) for t, w in zip(self.tickers, self.weights[k], strict=True) if w > 0.0}


def _certain(operand: Operand) -> bool:
    """A literal, or an indicator of a ticker that a window computes to the same float."""
    return isinstance(operand, Number) or operand.name in SHIFT_INVARIANT


def _certain_scores(children: Sequence[Node], name: str) -> bool:
    return name in SHIFT_INVARIANT and all(isinstance(child, Asset) for child in children)


def _near(left: FloatArray, right: FloatArray | float) -> BoolArray:
    with np.errstate(invalid="ignore"):
        scale = np.maximum(1.0, np.maximum(np.abs(left), np.abs(right)))
        return np.asarray(np.abs(left - right) <= TOLERANCE * scale, dtype=np.bool_)


class _Walk:
    def __init__(self, cache: IndicatorCache, days: IntArray) -> None:
        self.cache = cache
        self.days = days
        self.bad = np.zeros(days.shape[0], dtype=np.bool_)
        self.noisy = np.zeros(days.shape[0], dtype=np.bool_)
        """Days whose weights use a group's volatility (a NAV-based float)."""
        self.fragile: dict[int, BoolArray] = {}

    def operand(self, operand: Operand) -> FloatArray | float:
        if isinstance(operand, Number):
            return float(operand.value)
        assert operand.symbol is not None
        return self.cache.indicator(operand.name, operand.symbol, operand.window)[self.days]

    def flag(self, reached: BoolArray, problem: BoolArray) -> None:
        self.bad |= reached & problem

    def scores(self, children: Sequence[Node], name: str, window: int | None, reached: BoolArray) -> FloatArray:
        rows = []
        for child in children:
            row = node_indicator(child, name, window, self.cache)[self.days]
            if not isinstance(child, Asset):
                self.flag(reached, self.score_fragile(child, name, window))
            rows.append(row)
        values = np.vstack(rows)
        self.flag(reached, np.asarray(np.isnan(values).any(axis=0), dtype=np.bool_))
        return values

    def score_fragile(self, node: Node, name: str, window: int | None) -> BoolArray:
        """A group's score on a day uses its returns over the indicator's span (warm-up included)."""
        span = INDICATORS[name].lookback_bars(window)
        fragile = _fragile(node, self.cache, self.fragile)
        count = np.concatenate(([0], np.cumsum(fragile)))
        ends = self.days + 1
        starts = np.maximum(ends - span, 0)
        return np.asarray(count[ends] - count[starts] > 0, dtype=np.bool_)


def timeline(symphony: Symphony, cache: IndicatorCache, days: IntArray, *, window: int,
             window_ends: IntArray | None = None) -> Timeline:
    """Weights on each day index in `days` of the cache's history. A run evaluates on a history of
    `window` days ending on `window_ends` (default: `days`; later for a strategy holding the targets
    of its last rebalance day): every ticker must have a close in it, as `evaluate` checks."""
    days = np.asarray(days, dtype=np.int64)
    walk = _Walk(cache, days)
    _check_symbols(symphony, walk, window, days if window_ends is None else np.asarray(window_ends, np.int64))
    columns: dict[str, FloatArray] = {}
    stack: list[tuple[Node, FloatArray]] = [(symphony.body, np.ones(days.shape[0]))]
    while stack:
        node, share = stack.pop()
        share = np.where(walk.bad, 0.0, share)
        reached = share > 0.0
        if not reached.any():
            continue
        if isinstance(node, Asset):
            closes = cache.closes(node.ticker)
            assert closes is not None
            walk.flag(reached, np.isnan(closes[days]))
            held = columns.get(node.ticker)
            columns[node.ticker] = share.copy() if held is None else held + share
            continue
        kids = _STEPS[type(node)](node, share, reached, walk)
        stack.extend(reversed(kids))
    tickers = tuple(sorted(columns))
    weights = np.zeros((days.shape[0], len(tickers)))
    for j, ticker in enumerate(tickers):
        weights[:, j] = columns[ticker]
    exact = ~walk.bad & ~(walk.noisy & _on_rounding_edge(weights))
    return Timeline(days, tickers, weights, exact)


def _check_symbols(symphony: Symphony, walk: _Walk, window: int, window_ends: IntArray) -> None:
    """`evaluate` fails when a ticker has no close at all in the day's window, taken branch or not."""
    for symbol in symphony.symbols:
        closes = walk.cache.closes(symbol)
        if closes is None:
            walk.bad[:] = True
            return
        count = np.concatenate(([0], np.cumsum(~np.isnan(closes))))
        ends = window_ends + 1
        walk.bad |= (count[ends] - count[np.maximum(ends - window, 0)]) == 0


def _on_rounding_edge(weights: FloatArray) -> BoolArray:
    """Rounding to 9 places, or putting the residue on the largest weight, could go either way."""
    scaled = weights * 1e9
    frac = scaled - np.floor(scaled)
    edge = ((np.abs(frac - 0.5) < ROUNDING_GUARD) & (weights > 0.0)).any(axis=1)
    if weights.shape[1] > 1:
        top = np.sort(weights, axis=1)[:, -2:]
        gap = top[:, 1] - top[:, 0]
        edge |= (gap > 0.0) & (gap < 1e-12)
    return np.asarray(edge, dtype=np.bool_)


Kids = list[tuple[Node, FloatArray]]


def _equal(children: Sequence[Node], share: FloatArray) -> Kids:
    return [(child, share / len(children)) for child in children]


def _group(node: Group | WeightEqual, share: FloatArray, reached: BoolArray, walk: _Walk) -> Kids:
    return _equal(node.children, share)


def _weight_specified(node: WeightSpecified, share: FloatArray, reached: BoolArray, walk: _Walk) -> Kids:
    return [(child, share * float(weight)) for weight, child in zip(node.weights, node.children, strict=True)
            if weight > 0]


def _if(node: If, share: FloatArray, reached: BoolArray, walk: _Walk) -> Kids:
    cond = node.condition
    left, right = walk.operand(cond.left), walk.operand(cond.right)
    lhs = np.broadcast_to(np.asarray(left, dtype=np.float64), share.shape)
    walk.flag(reached, np.isnan(lhs) | np.isnan(right))
    if not (_certain(cond.left) and _certain(cond.right)):
        walk.flag(reached, _near(lhs, right))
    with np.errstate(invalid="ignore"):
        holds = np.asarray(COMPARE[cond.op](lhs, right), dtype=np.bool_)
    return (_equal(node.then, np.where(holds, share, 0.0))
            + _equal(node.otherwise, np.where(holds, 0.0, share)))


def _filter(node: Filter, share: FloatArray, reached: BoolArray, walk: _Walk) -> Kids:
    call = node.indicator
    scores = walk.scores(node.children, call.name, call.window, reached)
    keys = -scores if node.select == "top" else scores
    order = np.argsort(keys, axis=0, kind="stable")
    count = min(node.count, len(node.children))
    if count < len(node.children) and not _certain_scores(node.children, call.name):
        ranked = np.take_along_axis(scores, order, axis=0)
        walk.flag(reached, _near(ranked[count - 1], ranked[count]))
    chosen = np.zeros(scores.shape, dtype=np.bool_)
    np.put_along_axis(chosen, order[:count], True, axis=0)
    part = share / count
    return [(child, np.where(chosen[i], part, 0.0)) for i, child in enumerate(node.children)]


def _inverse_volatility(node: WeightInverseVolatility, share: FloatArray, reached: BoolArray, walk: _Walk) -> Kids:
    vols = walk.scores(node.children, "stdev-return", node.window, reached)
    walk.flag(reached, np.asarray(~(vols > 0.0).all(axis=0), dtype=np.bool_))
    if not _certain_scores(node.children, "stdev-return"):
        walk.noisy |= reached
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = 1.0 / vols
        total = inverse[0].copy()  # the walker's left-to-right sum
        for row in inverse[1:]:
            total += row
        weights = inverse / total
    return [(child, share * np.nan_to_num(weights[i])) for i, child in enumerate(node.children)]


_STEPS: dict[type, Callable[[Any, FloatArray, BoolArray, _Walk], Kids]] = {
    Group: _group,
    WeightEqual: _group,
    WeightSpecified: _weight_specified,
    WeightInverseVolatility: _inverse_volatility,
    Filter: _filter,
    If: _if,
}


# ---------------------------------------------------------------------------------------- group fragility


def _fragile(root: Node, cache: IndicatorCache, memo: dict[int, BoolArray]) -> BoolArray:
    """Per day d: the group's return on d may differ between a whole-history and a windowed
    evaluation, because a decision inside it at d-1 was on a knife edge (conservative: every
    decision inside counts, taken branch or not)."""
    edges = _edges(root, cache, memo)
    out = np.zeros(edges.shape[0], dtype=np.bool_)
    out[1:] = edges[:-1]
    return out


def _edges(root: Node, cache: IndicatorCache, memo: dict[int, BoolArray]) -> BoolArray:
    """Per day: some decision in `root`'s subtree is on a knife edge that day (children first)."""
    if id(root) in memo:
        return memo[id(root)]
    size = cache.history.dates.shape[0]
    for node in reversed(list(iter_nodes(root))):
        if id(node) in memo:
            continue
        edge = np.zeros(size, dtype=np.bool_)
        kids = child_nodes(node)
        for child in kids:
            if id(child) in memo:
                edge |= memo[id(child)]
        if isinstance(node, If) and not (_certain(node.condition.left) and _certain(node.condition.right)):
            left, right = _whole(node.condition.left, cache), _whole(node.condition.right, cache)
            edge |= _near(np.broadcast_to(np.asarray(left, dtype=np.float64), (size,)), right)
        elif isinstance(node, Filter | WeightInverseVolatility):
            name, window = ((node.indicator.name, node.indicator.window) if isinstance(node, Filter)
                            else ("stdev-return", node.window))
            span = INDICATORS[name].lookback_bars(window)
            for child in kids:
                if not isinstance(child, Asset):
                    shifted = np.zeros(size, dtype=np.bool_)
                    shifted[1:] = memo[id(child)][:-1]
                    edge |= _spread(shifted, span)
            if isinstance(node, Filter) and node.count < len(kids) and not _certain_scores(kids, name):
                scores = np.vstack([node_indicator(k, name, window, cache) for k in kids])
                ranked = np.sort(-scores if node.select == "top" else scores, axis=0)
                edge |= _near(ranked[node.count - 1], ranked[node.count])
        memo[id(node)] = edge
    return memo[id(root)]


def _whole(operand: Operand, cache: IndicatorCache) -> FloatArray | float:
    if isinstance(operand, Number):
        return float(operand.value)
    assert isinstance(operand, IndicatorCall) and operand.symbol is not None
    return cache.indicator(operand.name, operand.symbol, operand.window)


def _spread(flags: BoolArray, span: int) -> BoolArray:
    """True on t when any of flags[t-span+1 .. t] is."""
    count = np.concatenate(([0], np.cumsum(flags)))
    ends = np.arange(1, flags.shape[0] + 1)
    return np.asarray(count[ends] - count[np.maximum(ends - span, 0)] > 0, dtype=np.bool_)


__all__ = ["ROUNDING_GUARD", "TOLERANCE", "Timeline", "timeline"]
