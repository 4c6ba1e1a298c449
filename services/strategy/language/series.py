"""Whole-history daily returns of a portfolio node, for ranking and weighting groups.

A group's return on day d is what its holdings, decided at the close of d-1 with data up to
d-1, earned from d-1 to d (daily rebalanced, as Composer simulates a symphony). Returns are
linear in weights, so every node's series is a combination of its children's series and the
tree is replayed over all days at once: O(nodes x days), vectorised, no per-day loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from services.strategy.language.cache import IndicatorCache
from services.strategy.language.indicators import FloatArray, compute, runs
from services.strategy.language.nodes import (
    Asset,
    Filter,
    Group,
    If,
    Node,
    Number,
    Operand,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
)

COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
    "=": np.equal,
}


def nav(returns: FloatArray) -> FloatArray:
    """Growth of 1 over each run of defined returns, starting the day before the run."""
    out = np.full(returns.shape[0], np.nan)
    for start, end in runs(~np.isnan(returns)):
        base = max(start - 1, 0)
        out[base] = 1.0
        out[base + 1 : end] = np.cumprod(1.0 + returns[base + 1 : end])
    return out


def node_indicator(
    node: Node, name: str, window: int | None, cache: IndicatorCache, returns: FloatArray | None = None
) -> FloatArray:
    """An indicator of a candidate: the ticker's own for an asset, else computed on the node's NAV."""
    if isinstance(node, Asset):
        return cache.indicator(name, node.ticker, window)
    key = (node, name, window or 0)
    found = cache.node_series.get(key)
    if found is None:
        series = returns if returns is not None else node_returns(node, cache)
        found = compute(name, nav(series), window)
        cache.node_series[key] = found
    return found


def _inputs(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Asset):
        return ()
    if isinstance(node, If):
        return node.then + node.otherwise
    if isinstance(node, WeightSpecified):
        return tuple(c for w, c in zip(node.weights, node.children, strict=True) if w > 0)
    return node.children


def node_returns(root: Node, cache: IndicatorCache) -> FloatArray:
    """Daily returns of `root`'s portfolio over the whole history (NaN where undefined)."""
    found = cache.returns(root.ticker) if isinstance(root, Asset) else cache.node_returns.get(root)
    if found is not None:
        return found
    results: dict[int, FloatArray] = {}
    pending: Counter[int] = Counter()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if not expanded:
            if key in results:
                continue
            known = cache.returns(node.ticker) if isinstance(node, Asset) else cache.node_returns.get(node)
            if known is not None:
                results[key] = known
                continue
            stack.append((node, True))
            for child in _inputs(node):
                pending[id(child)] += 1
                stack.append((child, False))
            continue
        kids = _inputs(node)
        value = _combine(node, kids, [results[id(c)] for c in kids], cache)
        for child in kids:
            pending[id(child)] -= 1
            if not pending[id(child)]:
                results.pop(id(child), None)
        results[key] = value
        if isinstance(node, Group) or node is root:
            cache.node_returns[node] = value
    return results[id(root)]


def _mean(series: list[FloatArray]) -> FloatArray:
    total = series[0].copy()
    for s in series[1:]:
        total += s
    total /= len(series)
    return total


def _operand(operand: Operand, cache: IndicatorCache) -> FloatArray | float:
    if isinstance(operand, Number):
        return float(operand.value)
    assert operand.symbol is not None
    return cache.indicator(operand.name, operand.symbol, operand.window)


def _if(node: If, series: list[FloatArray], cache: IndicatorCache) -> FloatArray:
    """Day d earns the branch chosen at the close of d-1; undefined where that choice was."""
    left, right = _operand(node.condition.left, cache), _operand(node.condition.right, cache)
    size = series[0].shape[0]
    with np.errstate(invalid="ignore"):
        holds = np.broadcast_to(COMPARE[node.condition.op](left, right), (size,))
    decided = np.broadcast_to(~(np.isnan(left) | np.isnan(right)), (size,))
    split = len(node.then)
    then, otherwise = _mean(series[:split]), _mean(series[split:])
    out = np.full(size, np.nan)
    out[1:] = np.where(decided[:-1], np.where(holds[:-1], then[1:], otherwise[1:]), np.nan)
    return out


def _combine(node: Node, kids: tuple[Node, ...], series: list[FloatArray], cache: IndicatorCache) -> FloatArray:
    if isinstance(node, Group | WeightEqual):
        return _mean(series)
    if isinstance(node, WeightSpecified):
        weights = [float(w) for w in node.weights if w > 0]
        return sum((w * s for w, s in zip(weights, series, strict=True)), np.zeros_like(series[0]))
    if isinstance(node, If):
        return _if(node, series, cache)
    if isinstance(node, Filter):
        return _filter(node, kids, series, cache)
    assert isinstance(node, WeightInverseVolatility)
    return _inverse_volatility(node, kids, series, cache)


def _filter(node: Filter, kids: tuple[Node, ...], series: list[FloatArray], cache: IndicatorCache) -> FloatArray:
    call = node.indicator
    scores = np.vstack([node_indicator(k, call.name, call.window, cache, s) for k, s in zip(kids, series, strict=True)])
    held = np.vstack(series)
    order = np.argsort(-scores if node.select == "top" else scores, axis=0, kind="stable")[: node.count]
    days = np.arange(held.shape[1])
    out = np.full(held.shape[1], np.nan)
    out[1:] = held[order[:, :-1], days[1:]].mean(axis=0)
    undecided = np.asarray(np.isnan(scores).any(axis=0), dtype=np.bool_)
    out[1:][undecided[:-1]] = np.nan
    return out


def _inverse_volatility(
    node: WeightInverseVolatility, kids: tuple[Node, ...], series: list[FloatArray], cache: IndicatorCache
) -> FloatArray:
    vols = np.vstack(
        [node_indicator(k, "stdev-return", node.window, cache, s) for k, s in zip(kids, series, strict=True)]
    )
    decided = np.asarray((vols > 0).all(axis=0), dtype=np.bool_)  # NaN > 0 is False: undefined or zero
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = 1.0 / vols
        weights = inverse / inverse.sum(axis=0)
    held = np.vstack(series)
    out = np.full(held.shape[1], np.nan)
    out[1:] = (weights[:, :-1] * held[:, 1:]).sum(axis=0)
    out[1:][~decided[:-1]] = np.nan
    return out
