"""Netting: several strategies' targets into one account target, keeping who wanted what.

Each strategy's weights are scaled by its allocation and summed per ticker (as Composer nets
symphonies before sending orders). Contributions are exact Decimal products; the net weights
are rounded to 9 places with the residue on the largest, so they sum to exactly 1
(services/strategy/language/weights.py). `net_units` is that rule on whole units of 10^-9, exact
in integers, for one day (the Lambda) or every day of a backtest at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

import numpy as np

from services.strategy.language import Evaluation
from services.strategy.language.weights import UNIT, IntArray, decimal_weights, round_weights, settle

_MAX_PLACES = 9
"""Allocations with at most this many decimal places net in int64 (products stay below 10^18)."""


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


def check_allocations(allocations: Sequence[Decimal]) -> None:
    with localcontext() as ctx:
        ctx.prec = 60
        total = sum(allocations, Decimal(0))
    if total != 1 or any(allocation <= 0 for allocation in allocations):
        raise ValueError(f"allocations must be positive and sum to 1, got {total}")


def net_units(allocations: Sequence[Decimal], units: Sequence[IntArray], columns: Sequence[IntArray],
              width: int) -> IntArray | None:
    """Σ allocation x weight per ticker, every row (day) at once: `units[s]` is strategy s's settled
    weights in units of 10^-9, its column j the ticker `columns[s][j]` of the `width` netted ones
    (in ticker order). Rounded half-even to units, the residue on the largest: exactly
    `round_weights` of the Decimal sums. None when an allocation has more than 9 decimal places
    (net those with `net_allocations`)."""
    places = max(-min(int(a.normalize().as_tuple().exponent), 0) for a in allocations)
    if places > _MAX_PLACES:
        return None
    scale = 10**places
    total = np.zeros((units[0].shape[0], width), dtype=np.int64)
    for allocation, weights, where in zip(allocations, units, columns, strict=True):
        total[:, where] += int(allocation.scaleb(places)) * weights
    if scale == 1:
        return settle(total)
    quotient, remainder = np.divmod(total, scale)
    up = (2 * remainder > scale) | ((2 * remainder == scale) & (quotient % 2 == 1))
    return settle(quotient + up)


def net_allocations(results: Sequence[tuple[str, Decimal, Evaluation]]) -> NetAllocation:
    """Net (name, allocation, evaluation) triples; allocations must be positive and sum to 1."""
    if not results:
        raise ValueError("nothing to net: no strategy results")
    names = [name for name, _, _ in results]
    if len(set(names)) != len(names):
        raise ValueError(f"strategy names must be unique, got {names}")
    check_allocations([allocation for _, allocation, _ in results])
    contributions: list[Contribution] = []
    with localcontext() as ctx:
        ctx.prec = 60  # products and sums below stay exact
        net: dict[str, Decimal] = {}
        for name, allocation, evaluation in results:
            if sum(evaluation.weights.values(), Decimal(0)) != 1:
                raise ValueError(f"strategy {name!r}: its weights do not sum to 1")
            for symbol, weight in sorted(evaluation.weights.items()):
                share = allocation * weight
                contributions.append(Contribution(name, symbol, allocation, weight, share))
                net[symbol] = net.get(symbol, Decimal(0)) + share
    tickers = sorted(net)
    rows = [np.array([[_units(e.weights.get(t)) for t in tickers]], dtype=np.int64) for _, _, e in results]
    every = np.arange(len(tickers), dtype=np.int64)
    netted = net_units([allocation for _, allocation, _ in results], rows, [every] * len(rows), len(tickers))
    weights = round_weights(net) if netted is None else decimal_weights(tickers, netted[0])
    return NetAllocation(weights, tuple(contributions))


def _units(weight: Decimal | None) -> int:
    """A weight of at most 9 places (every evaluation's) in units of 10^-9."""
    if weight is None:
        return 0
    units = weight.scaleb(9)
    if units != units.to_integral_value():
        raise ValueError(f"weight {weight} has more than 9 decimal places")
    return int(units)


__all__ = ["UNIT", "Contribution", "NetAllocation", "check_allocations", "net_allocations", "net_units"]
