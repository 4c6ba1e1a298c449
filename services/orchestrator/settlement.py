"""Settling a workflow whose execution could not learn an order's outcome, from the broker's book.

Execution reports a leg `unknown` when the broker said its order exists (a 422 for its client order id)
or may exist (a POST whose reply was lost, and look-ups that never answered), yet no look-up returned it
before the function's deadline (services/execution/placer.py). Its TradeExecuted is then `unsettled`
(success false), and the orchestrator keeps the workflow open as `settling` instead of failing it while
the broker may have filled the order (terminal.executed).

Each run of the scheduled stuck check (commands.py) looks every unknown order up by its client order id.
One found still open is canceled, as execution cancels what is left after its fill wait (it would have,
had its look-up answered), and read again for its final fills. Once every one is found and final, the rows are
rebuilt from the broker's orders with the rules execution uses (shared/events/trade_results.py), the
totals and the verdict recomputed, and the workflow ends as any executed workflow does (completed,
with the report and the equity snapshot, or failed). The settled TradeExecuted is the orchestrator's
record of the execution (its own event id, derived from execution's; it is not published); its reason
says what was settled, and when. An order still not visible, or still open, waits for the next check;
after `stuck_fail_after_minutes` without settling, the workflow is failed with the client order ids to
check at the broker (terminal.stuck).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from services.orchestrator.workflow_record import WorkflowRecord
from shared.events.base import deterministic_event_id
from shared.events.trade_executed import TradeExecuted
from shared.events.trade_results import row_for_order, totals, verdict

if TYPE_CHECKING:
    from services.orchestrator.ports import OrderLookup


def unknown_orders(record: WorkflowRecord) -> list[str]:
    """Client order ids of the orders the record's execution reports `unknown`."""
    orders = (record.execution or {}).get("orders", [])
    return [o["client_order_id"] for o in orders if o.get("status") == "unknown"]


def settle(record: WorkflowRecord, lookup: OrderLookup, now: datetime) -> TradeExecuted | None:
    """The record's execution with every unknown order as the broker holds it now (one still open canceled
    first); None while any is not visible, not yet final, or held under its id for another symbol or side.
    Broker errors propagate."""
    if record.execution is None:
        return None
    execution = TradeExecuted.model_validate(record.execution)
    rows, settled = [], []
    for row in execution.orders:
        if row.status != "unknown":
            rows.append(row)
            continue
        order = lookup.get_order_by_client_id(row.client_order_id)
        if order is None or (order.symbol, order.side) != (row.symbol, row.side):
            return None
        if not order.is_terminal:  # what execution does after its fill wait
            lookup.cancel_order(order.broker_order_id)
            order = lookup.get_order_by_client_id(row.client_order_id)
            if order is None or not order.is_terminal:
                return None
        rows.append(row_for_order(row, order))
        settled.append(f"{row.side} {row.symbol}")
    status, success = verdict(rows, execution.totals.orders_planned)
    note = f"settled from the broker's book at {now.isoformat()}: {', '.join(settled)}"
    return TradeExecuted.model_validate({**dict(execution),
        "event_id": deterministic_event_id("TradeExecuted", execution.correlation_id, execution.event_id, "settled"),
        "orders": tuple(rows), "totals": totals(rows, execution.totals.orders_planned), "status": status,
        "success": success,
        "reason": f"{note}; execution had reported: {execution.reason}" if execution.reason else note})  # capped
