"""Events archived before the order counts were split (`orders_placed`) still parse: replays stay safe."""

from __future__ import annotations

from shared.events.trade_executed import TradeExecuted
from shared.events.workflow_completed import WorkflowCompleted
from tests.conftest import load_test_event


def archived(name: str, where: str) -> dict:
    detail = load_test_event(name)["detail"]
    counts = detail[where]
    for key in ("orders_placed_now", "orders_adopted"):
        counts.pop(key)
    counts["orders_placed"] = counts.pop("orders_at_broker")
    return detail


def test_an_archived_trade_executed_reads_its_placed_count_as_at_the_broker():
    totals = TradeExecuted.model_validate(archived("trade-executed.json", "totals")).totals
    assert (totals.orders_at_broker, totals.orders_placed_now, totals.orders_adopted) == (3, None, None)


def test_an_archived_workflow_completed_reads_likewise():
    summary = WorkflowCompleted.model_validate(archived("workflow-completed.json", "summary")).summary
    assert (summary.orders_at_broker, summary.orders_placed_now) == (3, None)
