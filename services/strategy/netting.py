"""Netting: several strategies' targets into one account target, keeping who wanted what.

Each strategy's weights are scaled by its allocation and summed per ticker (as Composer nets
symphonies before sending orders). Contributions are exact Decimal products; the net weights
are rounded to 9 places with the residue on the largest, so they sum to exactly 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from services.strategy.language import Evaluation
from services.strategy.language.evaluator import round_weights


@dataclass(frozen=True)
class Contribution:
    """What one strategy asks of one ticker: allocation x its own weight."""

    strategy: str
    symbol: str
    allocation: Decimal
    strategy_weight: Decimal
    weight: Decimal


@dataclass(frozen=True)
class NetAllocation:
    weights: dict[str, Decimal]
    """Net target weights: non-negative, at most 9 places, summing to exactly 1."""
    contributions: tuple[Contribution, ...]

    def by_symbol(self, symbol: str) -> dict[str, Decimal]:
        """Per strategy, its contribution to `symbol` (for attribution)."""
        return {c.strategy: c.weight for c in self.contributions if c.symbol == symbol}

    def by_strategy(self, strategy: str) -> dict[str, Decimal]:
        return {c.symbol: c.weight for c in self.contributions if c.strategy == strategy}


def net_allocations(results: Sequence[tuple[str, Decimal, Evaluation]]) -> NetAllocation:
    """Net (name, allocation, evaluation) triples; allocations must be positive and sum to 1."""
    if not results:
        raise ValueError("nothing to net: no strategy results")
    names = [name for name, _, _ in results]
    if len(set(names)) != len(names):
        raise ValueError(f"strategy names must be unique, got {names}")
    with localcontext() as ctx:
        ctx.prec = 60  # products and sums below stay exact
        total = sum((allocation for _, allocation, _ in results), Decimal(0))
        if total != 1 or any(allocation <= 0 for _, allocation, _ in results):
            raise ValueError(f"allocations must be positive and sum to 1, got {total}")
        contributions: list[Contribution] = []
        net: dict[str, Decimal] = {}
        for name, allocation, evaluation in results:
            if sum(evaluation.weights.values(), Decimal(0)) != 1:
                raise ValueError(f"strategy {name!r}: its weights do not sum to 1")
            for symbol, weight in sorted(evaluation.weights.items()):
                share = allocation * weight
                contributions.append(Contribution(name, symbol, allocation, weight, share))
                net[symbol] = net.get(symbol, Decimal(0)) + share
        rounded = round_weights(net)
    return NetAllocation(rounded, tuple(contributions))
