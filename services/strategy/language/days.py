"""Evaluating a strategy on any set of days at once: the one evaluation, whose one-day case is the
Lambda's run and whose many-day case is the backtest.

Each node's share of the portfolio is an array over the days it is reached on; its rule
(rules.py) hands it to its children; an asset adds its share to its ticker. A day on which some
value the evaluation reads is undefined is not evaluated: it records the first problem met, in
the order a reader follows the file (problems.py). What a day needs is exactly what its own
evaluation reads, so whether a day can be evaluated is decided here once, for `signals`, the
strategy Lambda and the backtest alike (see "History needed" in docs/strategy-language.md).

Why the same floats on one day and on ten years: every value at day t is a function of the data
in a window ending at t, computed by reductions that do not depend on where the array starts
(windows.py), and the arithmetic on a day is the same code whichever other days are evaluated
with it. So a run on a day's lookback window and the backtest's whole history give the same
weights, bit for bit, provided the window holds the strategy's lookback (`Symphony.lookback_days`)
or starts where the data does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.strategy.language.cache import IndicatorCache
from services.strategy.language.errors import StrategyError
from services.strategy.language.explanation import Builder
from services.strategy.language.indicators import BoolArray, FloatArray
from services.strategy.language.nodes import (
    NO_POS,
    Asset,
    Filter,
    If,
    IndicatorCall,
    Node,
    Operand,
    WeightInverseVolatility,
)
from services.strategy.language.portfolio import node_returns, score
from services.strategy.language.problems import MAX_PROBE_DEPTH, NoClose, NoData, Problem
from services.strategy.language.rules import IntArray, explain, split


class _Flow:
    """Rule inputs on the days being evaluated (none before `start`)."""

    def __init__(self, cache: IndicatorCache, start: int) -> None:
        self.cache = cache
        self.start = start

    def operand(self, operand: Operand, days: IntArray) -> FloatArray | float:
        if isinstance(operand, IndicatorCall):
            assert operand.symbol is not None
            return self.cache.at(operand.name, operand.symbol, operand.args, days, self.start)
        return float(operand.value)

    def scores(self, children: Sequence[Node], call: IndicatorCall, days: IntArray) -> FloatArray:
        return np.vstack([self.cache.at(call.name, c.ticker, call.args, days, self.start) if isinstance(c, Asset)
                          else score(c, call, self.cache)[days] for c in children])


@dataclass
class _Visit:
    node: Node
    parent: int
    pos: IntArray
    share: FloatArray
    facts: dict[str, Any]


@dataclass
class Days:
    """Float weights on each evaluated day, or why the day cannot be evaluated."""

    file: str
    cache: IndicatorCache
    days: IntArray
    """Indices into the cache's history dates."""
    tickers: tuple[str, ...]
    weights: FloatArray
    """(len(days), len(tickers)); a row sums to 1 where the day is `ok`."""
    failed: IntArray
    """Per day: -1, or the index in `problems` of the first problem met."""
    problems: list[Problem]
    visits: list[_Visit] = field(default_factory=list)
    depth: int = 0

    @property
    def ok(self) -> BoolArray:
        return np.asarray(self.failed < 0, dtype=np.bool_)

    def row(self, k: int) -> dict[str, float]:
        return {t: float(w) for t, w in zip(self.tickers, self.weights[k], strict=True) if w > 0.0}

    def error(self, k: int) -> StrategyError:
        """Why day position k cannot be evaluated (it must not be `ok`)."""
        return self.problems[int(self.failed[k])].error(self, k, int(self.days[k]))

    # Env (problems.py): what a problem's message reads
    def probe(self, node: Node, t: int) -> StrategyError | None:
        """Evaluate `node` alone on day t: None if it can be, else why not (depth-limited)."""
        if t < 0 or self.depth >= MAX_PROBE_DEPTH:
            return None
        alone = evaluate_days(node, self.cache, np.array([t], dtype=np.int64), file=self.file)
        alone.depth = self.depth + 1
        return None if alone.failed[0] < 0 else alone.error(0)

    def returns(self, node: Node) -> FloatArray:
        return node_returns(node, self.cache)

    def explanation(self, k: int) -> Builder:
        """The decision tree of day position k (recorded with `record=True`), under an unnamed root."""
        top = Builder("root", "", 1.0, NO_POS, {})
        built: list[Builder | None] = []
        one_day = self.days.shape[0] == 1  # every visit is on it, at position 0
        for visit in self.visits:
            parent = top if visit.parent < 0 else built[visit.parent]
            at = np.zeros(1, dtype=np.int64) if one_day else np.flatnonzero(visit.pos == k)
            if not at.size or parent is None:
                built.append(None)
                continue
            j = int(at[0])
            kind, text, facts = explain(visit.node, visit.facts, j)
            node = Builder(kind, text, float(visit.share[j]), visit.node.pos, facts)
            parent.children.append(node)
            built.append(node)
        return top


def _missing_symbols(cache: IndicatorCache, symbols: Sequence[str], window: int, ends: IntArray,
                     failed: IntArray, problems: list[Problem], body: Node) -> None:
    """A run reads the `window` days ending on its day: a ticker without a close in them fails it."""
    gone: list[tuple[str, BoolArray]] = []
    starts = np.maximum(ends + 1 - window, 0)
    for symbol in symbols:
        count = cache.counts(symbol)
        missing = (count[ends + 1] - count[starts]) == 0
        if missing.any():
            gone.append((symbol, missing))
    if not gone:
        return
    names = [s for s, _ in gone]
    table = np.vstack([m for _, m in gone])
    problems.append(NoData(body, names, lambda k: table[:, k], lambda k: int(ends[k])))
    failed[table.any(axis=0)] = len(problems) - 1


Pending = tuple[Node, IntArray, FloatArray, int]
"""A node, the positions (into the evaluated days) it is reached on, its share there, its parent visit."""


class _Pass:
    def __init__(self, cache: IndicatorCache, days: IntArray, record: bool) -> None:
        self.cache = cache
        self.days = days
        self.record = record
        self.failed = np.full(days.shape[0], -1, dtype=np.int64)
        self.problems: list[Problem] = []
        self.columns: dict[str, FloatArray] = {}
        self.visits: list[_Visit] = []
        self.flow = _Flow(cache, int(days.min()) if days.shape[0] else 0)

    def fail(self, pos: IntArray, problems: Sequence[Problem], which: IntArray | int = 0) -> None:
        self.failed[pos] = len(self.problems) + which
        self.problems.extend(problems)

    def asset(self, node: Asset, pos: IntArray, share: FloatArray, parent: int) -> None:
        closes = self.cache.closes(node.ticker)
        assert closes is not None, node.ticker  # a ticker without data failed every day before the walk
        missing = np.isnan(closes[self.days[pos]])
        if missing.any():
            self.fail(pos[missing], [NoClose(node)])
            pos, share = pos[~missing], share[~missing]
        held = self.columns.get(node.ticker)
        if held is None:
            held = self.columns[node.ticker] = np.zeros(self.days.shape[0])
        held[pos] += share
        if self.record:
            self.visits.append(_Visit(node, parent, pos, share, {}))

    def node(self, node: Node, pos: IntArray, share: FloatArray, parent: int) -> list[Pending]:
        """Split `node`'s share among its children: what to visit next, in reverse order."""
        parts = split(node, self.flow, self.days[pos], share, self.record)
        decided = None
        if parts.reasons is not None:
            bad = parts.reasons >= 0
            if bad.any():
                self.fail(pos[bad], parts.problems, parts.reasons[bad])
                decided = ~bad
        index = len(self.visits)
        if self.record:
            self.visits.append(_Visit(node, parent, pos, share, parts.facts))
        out: list[Pending] = []
        for child, part in zip(reversed(parts.kids), reversed(parts.shares), strict=True):
            keep = part > 0.0
            if decided is not None:
                keep &= decided
            if keep.all():
                out.append((child, pos, part, index))
            elif keep.any():
                out.append((child, pos[keep], part[keep], index))
        return out


def prefetch(root: Node, cache: IndicatorCache, start: int) -> None:
    """Compute every indicator of a ticker the tree can read in blocks, one per (indicator, windows):
    from `start` on, or from the history's start inside a block that is ranked or weighted by its
    own returns (its replay reads every day)."""
    wanted: dict[tuple[str, tuple[int, ...], int], list[str]] = {}
    stack: list[tuple[Node, int]] = [(root, start)]
    while stack:
        node, begin = stack.pop()
        if isinstance(node, Asset):
            continue
        if isinstance(node, If):
            for operand in (node.condition.left, node.condition.right):
                if isinstance(operand, IndicatorCall) and operand.symbol is not None:
                    wanted.setdefault((operand.name, operand.args, begin), []).append(operand.symbol)
            stack.extend((child, begin) for child in node.then + node.otherwise)
            continue
        if isinstance(node, Filter | WeightInverseVolatility):
            call = node.indicator if isinstance(node, Filter) else IndicatorCall("stdev-return", None, node.window)
            tickers = [c.ticker for c in node.children if isinstance(c, Asset)]
            if tickers:
                wanted.setdefault((call.name, call.args, begin), []).extend(tickers)
            stack.extend((child, begin if isinstance(child, Asset) else 0) for child in node.children)
        else:
            stack.extend((child, begin) for child in node.children)
    for (name, args, begin), symbols in wanted.items():
        cache.prefetch(name, args, symbols, begin)


def evaluate_days(root: Node, cache: IndicatorCache, days: IntArray, *, file: str,
                  symbols: Sequence[str] = (), window: int | None = None, window_ends: IntArray | None = None,
                  record: bool = False) -> Days:
    """Weights of `root` on each day index in `days`. A run on day t reads the `window` days of
    history ending on `window_ends` (default: `days`; later for a strategy holding the targets of
    its last rebalance day): each of `symbols` must have a close in them. `record` keeps the values
    decided on, for `Days.explanation`."""
    days = np.asarray(days, dtype=np.int64)
    n = days.shape[0]
    walk = _Pass(cache, days, record)
    prefetch(root, cache, walk.flow.start)
    if symbols and window is not None:
        ends = days if window_ends is None else np.asarray(window_ends, dtype=np.int64)
        _missing_symbols(cache, symbols, window, ends, walk.failed, walk.problems, root)
    stack: list[Pending] = [(root, np.arange(n, dtype=np.int64), np.ones(n), -1)]
    while stack:
        node, pos, share, parent = stack.pop()
        alive = walk.failed[pos] < 0
        if not alive.all():
            pos, share = pos[alive], share[alive]
        if not pos.size:
            continue
        if isinstance(node, Asset):
            walk.asset(node, pos, share, parent)
        else:
            stack.extend(walk.node(node, pos, share, parent))
    tickers = tuple(sorted(walk.columns))
    weights = np.zeros((n, len(tickers)))
    for j, ticker in enumerate(tickers):
        weights[:, j] = walk.columns[ticker]
    return Days(file, cache, days, tickers, weights, walk.failed, walk.problems, walk.visits)
