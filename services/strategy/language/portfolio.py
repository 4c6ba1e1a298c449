"""A group's own portfolio over the whole history: its daily returns, and the indicators that rank
or weight it (a filter over groups, inverse volatility of blocks).

A group's return on day d is what its holdings, decided at the close of d-1 with data up to d-1,
earned from d-1 to d (rebalanced daily, as Composer simulates a symphony). The holdings are the
node rules' own shares (rules.py) with a share of 1 on every day, so a group is replayed by the
same rules that evaluate it, not by a second walker; returns are linear in the shares, so each
node's series combines its children's, bottom-up: O(nodes x days), no per-day loop.

Before the first day it can decide, a group holds cash (its NAV is flat): a group inside a group
inside a filter needs the history of its deepest indicator, not the sum of every level's windows
(Composer backtests a symphony from the first day all its assets have data). It is scored from
its first daily return on (never before), and a gap after that is a gap: a window that reaches
into it is undefined.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from services.strategy.language.cache import IndicatorCache
from services.strategy.language.indicators import INDICATORS, FloatArray
from services.strategy.language.nodes import Asset, Group, IndicatorCall, Node, Operand
from services.strategy.language.rules import IntArray, inputs_of, split


class _Replay:
    """Rule inputs on every day of the history, the candidates' returns already computed."""

    def __init__(self, cache: IndicatorCache, returns: dict[int, FloatArray]) -> None:
        self.cache = cache
        self.returns = returns

    def operand(self, operand: Operand, days: IntArray) -> FloatArray | float:
        if isinstance(operand, IndicatorCall):
            assert operand.symbol is not None
            return self.cache.indicator(operand.name, operand.symbol, operand.args)
        return float(operand.value)

    def scores(self, children: Sequence[Node], call: IndicatorCall, days: IntArray) -> FloatArray:
        return np.vstack([self.cache.indicator(call.name, c.ticker, call.args) if isinstance(c, Asset)
                          else score(c, call, self.cache, self.returns[id(c)]) for c in children])


def node_returns(root: Node, cache: IndicatorCache) -> FloatArray:
    """Daily returns of `root`'s portfolio over the whole history (NaN where undefined)."""
    found = cache.returns(root.ticker) if isinstance(root, Asset) else cache.node_returns.get(root)
    if found is not None:
        return found
    size = cache.history.dates.shape[0]
    days = np.arange(size, dtype=np.int64)
    ones = np.ones(size)
    results: dict[int, FloatArray] = {}
    pending: Counter[int] = Counter()
    replay = _Replay(cache, results)
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
            for child in inputs_of(node):
                pending[id(child)] += 1
                stack.append((child, False))
            continue
        parts = split(node, replay, days, ones)
        value = np.zeros(size)
        for child, part in zip(parts.kids, parts.shares, strict=True):
            held = part[:-1]
            with np.errstate(invalid="ignore"):
                value[1:] += np.where(held > 0.0, held * results[id(child)][1:], 0.0)
        value[0] = np.nan
        if parts.reasons is not None:
            value[1:][parts.reasons[:-1] >= 0] = np.nan
        for child in parts.kids:
            pending[id(child)] -= 1
            if not pending[id(child)]:
                results.pop(id(child), None)
        results[key] = value
        if isinstance(node, Group) or node is root:
            cache.node_returns[node] = value
    return results[id(root)]


def score(node: Node, call: IndicatorCall, cache: IndicatorCache, returns: FloatArray | None = None) -> FloatArray:
    """`call`'s indicator of `node`'s portfolio on every day (its own for an asset): from its first
    daily return on, over its returns with the days before that counted as cash (a flat NAV)."""
    if isinstance(node, Asset):
        return cache.indicator(call.name, node.ticker, call.args)
    key = (node, call.name, call.args)
    found = cache.node_series.get(key)
    if found is None:
        series = returns if returns is not None else node_returns(node, cache)
        of_returns = INDICATORS[call.name].of_returns
        assert of_returns is not None, call.name  # the parser refuses a price-level ranking of a block
        defined = ~np.isnan(series)
        first = int(defined.argmax()) if defined.any() else series.shape[0]
        filled = series.copy()
        filled[:first] = 0.0
        found = of_returns(filled, call.args[0])
        found[:first] = np.nan
        cache.node_series[key] = found
    return found
