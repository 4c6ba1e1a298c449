"""The rules that turn broker orders into TradeExecuted's rows, totals and verdict (pure).

Execution applies them to what it placed (services/execution/results.py); the orchestrator applies the
same ones when it settles an order whose outcome execution could not learn, from the broker's book
(services/orchestrator/settlement.py). One copy, so the two can never disagree.

Outcome of an order at the broker: filled; rejected; final with some fills -> partially_filled; final
with none -> canceled; still open after the wait and the cancel -> open.

Verdict (documented choice): success only if every planned order ended filled (or the plan was empty).
An order whose outcome is unknown makes the run `unsettled` (not a success, not yet a failure: the
workflow stays open until it is settled). Otherwise `partial` when anything filled, `failed` when nothing did.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from shared.events.trade_executed import ExecutionStatus, ExecutionTotals, OrderOutcome, OrderResult
from shared.events.types import PRICE_PLACES, decimal_places

if TYPE_CHECKING:
    from shared.broker.port import Order

CENT = Decimal("0.01")
PRICE_STEP = Decimal(1).scaleb(-PRICE_PLACES)


def outcome_of(order: Order) -> OrderOutcome:
    """What an order the broker holds amounts to, now."""
    if order.status == "filled":
        return "filled"
    if order.status == "rejected":
        return "rejected"
    if not order.is_terminal:
        return "open"
    return "partially_filled" if order.filled_qty > 0 else "canceled"


def default_error(result: OrderOutcome) -> str | None:
    return {"rejected": "rejected by the broker after it was accepted",
            "canceled": "nothing filled within the fill wait; canceled",
            "partially_filled": "partly filled within the fill wait; the rest canceled",
            "open": "still open at the broker after the fill wait and a cancel request"}.get(result)


def fill_price(order: Order) -> Decimal | None:
    """The broker's average fill price within the event's bound; None when nothing filled (never invented)."""
    price = order.filled_avg_price
    if order.filled_qty <= 0 or not price or price <= 0:
        return None
    return price.quantize(PRICE_STEP, ROUND_HALF_EVEN) if decimal_places(price) > PRICE_PLACES else price


def row_for_order(row: OrderResult, order: Order, *, error: str | None = None) -> OrderResult:
    """`row` (its client order id, symbol, side, adopted flag) as the broker's `order` reports it."""
    status = outcome_of(order)
    return row.model_copy(update={
        "broker_order_id": order.broker_order_id, "requested_qty": order.qty, "requested_notional": order.notional,
        "filled_qty": order.filled_qty, "avg_fill_price": fill_price(order), "status": status,
        "error": error or default_error(status)})


def _traded(results: Sequence[OrderResult], side: str) -> Decimal:
    value = sum((r.filled_qty * r.avg_fill_price for r in results if r.side == side and r.avg_fill_price),
                Decimal(0))
    return value.quantize(CENT)


def totals(results: Sequence[OrderResult], planned: int) -> ExecutionTotals:
    counts = {name: sum(1 for r in results if r.status == name) for name in
              ("filled", "partially_filled", "skipped", "failed", "rejected", "canceled", "open", "unknown")}
    buys, sells = _traded(results, "buy"), _traded(results, "sell")
    at_broker = [r for r in results if r.broker_order_id is not None]
    adopted = sum(1 for r in at_broker if r.adopted)
    return ExecutionTotals(
        orders_planned=planned,
        orders_at_broker=len(at_broker),
        orders_placed_now=len(at_broker) - adopted,
        orders_adopted=adopted,
        orders_unknown=counts["unknown"],
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
    return ExecutionTotals(orders_planned=planned, orders_at_broker=0, orders_placed_now=0, orders_adopted=0,
                           orders_filled=0, orders_partially_filled=0, orders_failed=0, orders_skipped=planned,
                           buy_value=zero, sell_value=zero, turnover=zero)


def verdict(results: Sequence[OrderResult], planned: int) -> tuple[ExecutionStatus, bool]:
    if planned == 0:
        return "empty", True
    if any(r.status == "unknown" for r in results):
        return "unsettled", False
    if len(results) == planned and all(r.status == "filled" for r in results):
        return "executed", True
    if any(r.filled_qty > 0 for r in results):
        return "partial", False
    return "failed", False
