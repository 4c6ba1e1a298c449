"""evaluate(): a Symphony on a PriceHistory → Decimal target weights and the explanation of them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from services.strategy.language.cache import IndicatorCache
from services.strategy.language.days import evaluate_days
from services.strategy.language.errors import StrategyError
from services.strategy.language.explanation import Builder, Explanation, bounded, freeze, targets_text, tree_lines
from services.strategy.language.problems import first_use
from services.strategy.language.symphony import Symphony
from services.strategy.language.weights import round_weights, to_decimal_weights
from shared.marketdata.port import PriceHistory

__all__ = ["Evaluation", "evaluate", "first_use", "round_weights", "to_decimal_weights"]



@dataclass(frozen=True, eq=False)
class Evaluation:
    """Target weights (Decimal, >= 0, at most 9 places, summing to exactly 1) and why."""

    strategy: str
    source_file: str
    as_of: date
    weights: dict[str, Decimal]
    explanation: Explanation

    def render(self) -> str:
        """The whole decision tree, one node per line."""
        return "\n".join(self._lines()) + "\n"

    def summary_lines(self, limit: int = 200) -> tuple[str, ...]:
        """At most `limit` lines (each at most 240 characters) for an event payload or a log."""
        return bounded(self._lines(), limit)

    def _lines(self) -> Iterator[str]:
        return tree_lines(self.explanation)


def evaluate(symphony: Symphony, history: PriceHistory, cache: IndicatorCache | None = None, *,
             on: date | None = None) -> Evaluation:
    """Weights on the history's last day (or on the last day on or before `on`, as a strategy that
    rebalances monthly holds the targets of its rebalance day): the one-day case of the evaluation
    over days (days.py), the same code and the same floats as the backtest's. Pass one `cache` to
    every strategy of a run: indicator values at a day use only closes up to that day."""
    if history.dates.shape[0] == 0:
        raise StrategyError(
            symphony.source_file,
            symphony.pos.line,
            symphony.pos.column,
            "the price history is empty: nothing to evaluate on",
        )
    if cache is None:
        cache = IndicatorCache()
    cache.bind(history)
    last = history.dates.shape[0] - 1
    t = last
    if on is not None:
        t = int(np.searchsorted(history.dates, np.datetime64(on, "D"), side="right")) - 1
        if t < 0:
            raise StrategyError(symphony.source_file, symphony.pos.line, symphony.pos.column,
                                f"the price history starts after {on}: nothing to evaluate on")
    day = evaluate_days(symphony.body, cache, np.array([t], dtype=np.int64), file=symphony.source_file,
                        symbols=symphony.symbols, window=last + 1, window_ends=np.array([last], dtype=np.int64),
                        record=True)
    if not day.ok[0]:
        raise day.error(0)
    raw, top = day.row(0), day.explanation(0)
    weights = to_decimal_weights(raw)
    as_of: date = history.dates[t].astype(date)
    header = f"{symphony.name} ({symphony.source_file}) on {as_of}: {targets_text(weights)}"
    if as_of != history.as_of:
        header += (f" (rebalances {symphony.rebalance_frequency}: the targets decided on {as_of}, "
                   f"held through {history.as_of})")
    facts = {"name": symphony.name, "as_of": as_of, "weights": dict(weights)}
    root = Builder("symphony", header, 1.0, symphony.pos, facts, top.children)
    return Evaluation(symphony.name, symphony.source_file, as_of, weights, freeze(root))
