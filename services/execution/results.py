"""From placements to TradeExecuted's results, totals and verdict (pure).

Per order, what the broker says: requested amounts (the broker's own for adopted orders),
cumulative filled quantity and average fill price (None when nothing filled — never invented).

Outcome of an order at the broker: filled; rejected; final with some fills -> partially_filled;
final with none -> canceled; still open after the wait and the cancel -> open.

Verdict (documented choice): success only if every planned order ended filled (or the plan was
empty). Otherwise `partial` when anything filled, `failed` when nothing did.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from services.execution.placer import Placement
from shared.events.trade_executed import ExecutionStatus, ExecutionTotals, OrderOutcome, OrderResult
from shared.events.types import PRICE_PLACES, decimal_places

CENT = Decimal("0.01")
PRICE_STEP = Decimal(1).scaleb(-PRICE_PLACES)


def outcome(placement: Placement) -> OrderOutcome:
    order = placement.order
    if placement.how in ("rejected", "skipped"):
        return placement.how
    if placement.how == "failed" or order is None:
        return "failed"
    if order.status == "filled":
        return "filled"
    if order.status == "rejected":
        return "rejected"
    if not order.is_terminal:
        return "open"
    return "partially_filled" if order.filled_qty > 0 else "canceled"


def _error(placement: Placement, result: OrderOutcome) -> str | None:
    if placement.error:
        return placement.error
    if result == "rejected":
        return "rejected by the broker after it was accepted"
    if result == "canceled":
        return "nothing filled within the fill wait; canceled"
    if result == "partially_filled":
        return "partly filled within the fill wait; the rest canceled"
    if result == "open":
        return "still open at the broker after the fill wait and a cancel request"
    return None


def order_result(placement: Placement) -> OrderResult:
    leg, order = placement.leg, placement.order
    result = outcome(placement)
    if order is not None:
        requested_qty, requested_notional = order.qty, order.notional
        filled = order.filled_qty
        price = order.filled_avg_price if filled > 0 and order.filled_avg_price and order.filled_avg_price > 0 else None
        if price is not None and decimal_places(price) > PRICE_PLACES:  # the event's bound; the broker's own digits
            price = price.quantize(PRICE_STEP, ROUND_HALF_EVEN)
    else:
        requested_qty, requested_notional, filled, price = leg.qty, leg.notional, Decimal(0), None
    return OrderResult(
        client_order_id=leg.client_order_id,
        broker_order_id=order.broker_order_id if order is not None else None,
        symbol=leg.symbol,
        side=leg.side,
        requested_qty=requested_qty,
        requested_notional=requested_notional,
        filled_qty=filled,
        avg_fill_price=price,
        status=result,
        error=_error(placement, result),
    )


def _traded(results: Sequence[OrderResult], side: str) -> Decimal:
    value = sum((r.filled_qty * r.avg_fill_price for r in results if r.side == side and r.avg_fill_price),
                Decimal(0))
    return value.quantize(CENT)


def totals(results: Sequence[OrderResult], planned: int) -> ExecutionTotals:
    counts = {name: sum(1 for r in results if r.status == name) for name in
              ("filled", "partially_filled", "skipped", "failed", "rejected", "canceled", "open")}
    buys, sells = _traded(results, "buy"), _traded(results, "sell")
    return ExecutionTotals(
        orders_planned=planned,
        orders_placed=sum(1 for r in results if r.broker_order_id is not None),
        orders_filled=counts["filled"],
        orders_partially_filled=counts["partially_filled"],
        orders_failed=counts["failed"] + counts["rejected"] + counts["canceled"] + counts["open"],
        orders_skipped=counts["skipped"] + max(0, planned - len(results)),
        buy_value=buys,
        sell_value=sells,
        turnover=buys + sells,
    )


def nothing_placed(planned: int) -> ExecutionTotals:
    zero = Decimal("0.00")
    return ExecutionTotals(orders_planned=planned, orders_placed=0, orders_filled=0, orders_partially_filled=0,
                           orders_failed=0, orders_skipped=planned, buy_value=zero, sell_value=zero, turnover=zero)


def verdict(results: Sequence[OrderResult], planned: int) -> tuple[ExecutionStatus, bool]:
    if planned == 0:
        return "empty", True
    if len(results) == planned and all(r.status == "filled" for r in results):
        return "executed", True
    if any(r.filled_qty > 0 for r in results):
        return "partial", False
    return "failed", False
