"""From placements to TradeExecuted's rows (pure); the totals and the verdict are shared/events/trade_results.py's.

Per order, what the broker says: requested amounts (the broker's own for adopted orders), cumulative
filled quantity and average fill price (None when nothing filled — never invented). A leg the placer
could not learn the outcome of is `unknown` (no broker id); one known not to be at the broker, `failed`.
A row is `adopted` when its order was at the broker before this run sent any POST for it.
"""

from __future__ import annotations

from decimal import Decimal

from services.execution.placer import Placement
from shared.events.trade_executed import OrderOutcome, OrderResult
from shared.events.trade_results import nothing_placed, row_for_order, totals, verdict

__all__ = ["nothing_placed", "order_result", "outcome", "totals", "verdict"]


_NOT_AT_BROKER: dict[str, OrderOutcome] = {"rejected": "rejected", "skipped": "skipped", "unknown": "unknown"}
"""A placement without an order at the broker: its outcome (anything else: failed)."""


def outcome(placement: Placement) -> OrderOutcome:
    return order_result(placement).status


def order_result(placement: Placement) -> OrderResult:
    leg, order = placement.leg, placement.order
    how: OrderOutcome = _NOT_AT_BROKER.get(placement.how, "failed")
    row = OrderResult(client_order_id=leg.client_order_id, symbol=leg.symbol, side=leg.side,
                      requested_qty=leg.qty, requested_notional=leg.notional, filled_qty=Decimal(0), status=how,
                      error=placement.error)
    if order is None or placement.how in ("rejected", "skipped", "failed", "unknown"):
        return row
    adopted = placement.how == "adopted" and not placement.posted
    return row_for_order(row.model_copy(update={"adopted": adopted}), order, error=placement.error)
