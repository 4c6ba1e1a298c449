"""From the plan's orders to what is sent to the broker (pure).

A `Leg` is one planned order with its client order id and the amount to request:
- sells by quantity, as planned;
- buys of fractionable assets as planned (notional dollars, or a fractional quantity);
- buys of other assets in whole shares: a notional becomes floor(notional / price) shares, a
  fractional quantity is floored; less than one share is skipped, with the reason.
Before the buys are placed they are fitted to the buying power left after the sells
(`fit_to_budget`): scaled down pro rata, amounts rounded down (cents, 9 decimals, whole shares),
and any leg worth less than $1 after scaling dropped, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from shared.broker.order_ids import WorkflowKey, plan_order_ids
from shared.broker.port import OrderRequest, Side
from shared.events.rebalance_planned import RebalancePlanned

CENT = Decimal("0.01")
FRACTION = Decimal("0.000000001")
FACTOR_STEP = Decimal("0.000001")
MIN_ORDER_VALUE = Decimal("1")


@dataclass(frozen=True)
class Leg:
    index: int
    """Position in the plan's orders."""
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal | None
    notional: Decimal | None
    fractionable: bool
    price: Decimal
    """The price this leg is valued at: the broker's, or the plan's reference price if the broker has none."""

    @property
    def value(self) -> Decimal:
        if self.notional is not None:
            return self.notional
        assert self.qty is not None
        return self.qty * self.price

    def request(self) -> OrderRequest:
        return OrderRequest(self.client_order_id, self.symbol, self.side, qty=self.qty, notional=self.notional)


@dataclass(frozen=True)
class Skip:
    leg: Leg
    reason: str


class OrderLike(Protocol):
    """A planned order: the RebalancePlanned's (PlannedOrder) or the planner's own (the backtest's OrderLine)."""

    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def qty(self) -> Decimal | None: ...
    @property
    def notional(self) -> Decimal | None: ...
    @property
    def fractionable(self) -> bool: ...
    @property
    def reference_price(self) -> Decimal: ...


def _whole(value: Decimal) -> Decimal:
    return value.to_integral_value(ROUND_DOWN)


def _leg(index: int, coid: str, order: OrderLike, price: Decimal) -> Leg:
    return Leg(index, coid, order.symbol, order.side, order.qty, order.notional, order.fractionable, price)


def workflow_key(plan: RebalancePlanned, account_id: str) -> WorkflowKey:
    """The plan's workflow at this broker account: what its client order ids are made of."""
    return WorkflowKey(plan.trading_date, plan.trading_mode, account_id, plan.correlation_id)


def build_legs(plan: RebalancePlanned, prices: Mapping[str, Decimal],
               account_id: str) -> tuple[list[Leg], list[Skip]]:
    """Every planned order as a leg (in plan order), and the buys that cannot be placed as whole shares."""
    ids = plan_order_ids(workflow_key(plan, account_id), [(o.symbol, o.side) for o in plan.orders])
    return legs_of(plan.orders, ids, prices)


def legs_of(orders: Sequence[OrderLike], ids: Sequence[str],
            prices: Mapping[str, Decimal]) -> tuple[list[Leg], list[Skip]]:
    """`orders` as legs with these client order ids, priced at `prices` (else their reference price)."""
    legs: list[Leg] = []
    skips: list[Skip] = []
    for index, (coid, order) in enumerate(zip(ids, orders, strict=True)):
        price = prices.get(order.symbol, order.reference_price)
        leg = _leg(index, coid, order, price)
        if order.side == "buy" and not order.fractionable:
            shares = _whole(order.qty if order.qty is not None else (order.notional or Decimal(0)) / price)
            if shares < 1:
                skips.append(Skip(leg, f"{order.symbol} is not fractionable and {leg.value:.2f} dollars buys "
                                       f"less than one share at {price}"))
                continue
            leg = replace(leg, qty=shares, notional=None)
        legs.append(leg)
    return legs, skips


def planned_value(order: OrderLike, price: Decimal) -> Decimal:
    """The dollar value of a planned order as the limits see it."""
    if order.notional is not None:
        return order.notional
    assert order.qty is not None
    return order.qty * price


@dataclass(frozen=True)
class Fit:
    legs: list[Leg]
    skipped: list[Skip]
    factor: Decimal | None
    """None: no scaling was needed."""
    note: str | None


def _scaled(leg: Leg, factor: Decimal) -> Leg:
    if leg.notional is not None:
        return replace(leg, notional=(leg.notional * factor).quantize(CENT, ROUND_DOWN))
    assert leg.qty is not None
    qty = leg.qty * factor
    return replace(leg, qty=qty.quantize(FRACTION, ROUND_DOWN) if leg.fractionable else _whole(qty))


def fit_to_budget(buys: Sequence[Leg], budget: Decimal) -> Fit:
    """Scale `buys` down pro rata so their value fits `budget` (dollars available for them)."""
    wanted = sum((leg.value for leg in buys), Decimal(0))
    if not buys or wanted <= budget:
        return Fit(list(buys), [], None, None)
    if budget <= 0:
        reason = f"no buying power left for buys (available {max(budget, Decimal(0)):.2f})"
        return Fit([], [Skip(leg, reason) for leg in buys], Decimal(0), reason)
    factor = (budget / wanted).quantize(FACTOR_STEP, ROUND_DOWN)
    kept: list[Leg] = []
    skipped: list[Skip] = []
    for leg in buys:
        scaled = _scaled(leg, factor)
        if scaled.value < MIN_ORDER_VALUE or (scaled.qty is not None and scaled.qty <= 0):
            skipped.append(Skip(leg, f"scaled to {scaled.value:.2f} dollars (x{factor}) to fit buying power: "
                                     f"below the ${MIN_ORDER_VALUE} minimum"))
        else:
            kept.append(scaled)
    note = (f"buys scaled by {factor} to fit buying power: wanted {wanted:.2f}, available {budget:.2f}")
    return Fit(kept, skipped, factor, note)
