"""The execution's step of the day, public: a plan's orders, the account and the limits -> legs or a refusal.

- `limit_check(orders, prices, positions, equity, limits)`: the workflow's limits (shared/limits/rules.py)
  on the orders valued as they will be placed (`legs.planned_value` at the broker's prices);
- `prepare(...)`: that check, then the legs (`legs.legs_of`: whole shares where an asset is not
  fractionable). The backtest and `alchemiser plan` call it; the Lambda (plan_run.py) calls the same
  two functions, the check only on a fresh run (a resumed one already passed it).

`orders` are any planned orders with symbol, side, qty, notional, fractionable and reference_price:
the RebalancePlanned's in the Lambda, the planner's own in the backtest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from services.execution.legs import Leg, OrderLike, Skip, legs_of, planned_value
from shared.limits.model import LimitBinding, Limits
from shared.limits.rules import Exposure, check, describe


@dataclass(frozen=True)
class Prepared:
    legs: list[Leg]
    unplaceable: list[Skip]
    """Buys too small for one whole share of an asset that is not fractionable."""
    exposures: list[Exposure]

    @property
    def buys(self) -> Decimal:
        """What the plan buys, as the limits measure it (the day's turnover reservation)."""
        return sum((e.value for e in self.exposures if e.side == "buy"), Decimal(0))


@dataclass(frozen=True)
class LimitRefusal:
    bindings: tuple[LimitBinding, ...]

    @property
    def reason(self) -> str:
        return describe(self.bindings)


def daily_cap(limits: Limits, equity: Decimal) -> Decimal:
    """What every run of the day may buy together on this account: the turnover ledger's cap (turnover_ledger.py)."""
    return (limits.max_daily_turnover_equity_fraction * equity).quantize(Decimal("0.01"))


def exposures_of(orders: Sequence[OrderLike], prices: Mapping[str, Decimal]) -> list[Exposure]:
    """Each order valued at the broker's price (the plan's reference price where the broker has none)."""
    found = []
    for order in orders:
        price = prices.get(order.symbol, order.reference_price)
        sized_by_price = order.qty is not None or not order.fractionable
        found.append(Exposure(order.symbol, order.side, planned_value(order, price),
                              price if sized_by_price and order.symbol in prices else None, order.reference_price))
    return found


def limit_check(orders: Sequence[OrderLike], *, prices: Mapping[str, Decimal], positions: Mapping[str, Decimal],
                equity: Decimal, limits: Limits) -> tuple[list[Exposure], tuple[LimitBinding, ...]]:
    """(the orders' exposures, every limit they break). `positions`: symbol -> market value at the broker."""
    exposures = exposures_of(orders, prices)
    return exposures, tuple(check(exposures, equity=equity, positions=positions, limits=limits))


def prepare(orders: Sequence[OrderLike], *, ids: Sequence[str], prices: Mapping[str, Decimal],
            positions: Mapping[str, Decimal], equity: Decimal, limits: Limits) -> Prepared | LimitRefusal:
    """The limits, then the legs to place (in plan order)."""
    exposures, bindings = limit_check(orders, prices=prices, positions=positions, equity=equity, limits=limits)
    if bindings:
        return LimitRefusal(bindings)
    legs, unplaceable = legs_of(orders, ids, prices)
    return Prepared(legs, unplaceable, exposures)
