"""The hop table (catalog.PUBLISH_DEPTH) against what the handlers really publish, and the legit chain under it.

The middleware refuses an input whose handler's publications would pass MAX_HOPS; that is only
right if the table says how deep each consumer really publishes. These tests run the orchestrator's
own transitions (the deepest publisher: WorkflowFailed and its ErrorNotificationRequested from one
TradeExecuted) and read the hop counts of what they would publish.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.orchestrator import state_machine
from shared.events.base import MAX_HOPS
from shared.events.catalog import EXECUTION, ORCHESTRATOR, PORTFOLIO, PUBLISH_DEPTH, ROUTES, publish_depth
from tests.unit.orchestrator.support import sample

NOW = datetime(2026, 11, 25, 14, 40, tzinfo=UTC)


def published_hops(event) -> list[int]:
    transition = state_machine.apply(None, event, now=NOW)
    record = transition.record
    assert record is not None
    return [json.loads(e.detail)["hop_count"] for e in record.pending if e.kind == "publish" and e.detail]


@pytest.mark.parametrize("changes", [
    {"success": True, "status": "executed"},
    {"success": False, "status": "failed", "reason": "broker refused"},
    {"success": False, "status": "market_closed", "reason": "closed", "orders": []},
])
def test_the_orchestrator_publishes_no_deeper_than_its_table_entry_for_trade_executed(changes):
    event = sample("TradeExecuted", **changes)
    hops = published_hops(event)
    assert hops and max(hops) - event.hop_count <= publish_depth(ORCHESTRATOR, "TradeExecuted")


def test_the_table_is_tight_for_a_failed_execution():
    event = sample("TradeExecuted", success=False, status="failed", reason="broker refused")
    assert max(published_hops(event)) - event.hop_count == publish_depth(ORCHESTRATOR, "TradeExecuted") == 2


def test_the_orchestrator_publishes_no_deeper_than_its_table_entry_for_workflow_failed():
    event = sample("WorkflowFailed")
    hops = published_hops(event)
    assert hops and max(hops) - event.hop_count == publish_depth(ORCHESTRATOR, "WorkflowFailed") == 1


def test_progress_events_publish_nothing_at_the_orchestrator():
    for detail_type in ("WorkflowStarted", "SignalGenerated", "RebalancePlanned"):
        assert published_hops(sample(detail_type)) == []
        assert publish_depth(ORCHESTRATOR, detail_type) == 0


def test_the_legitimate_chain_fits_under_the_limit_at_every_consumer():
    # command -> WorkflowStarted/SignalGenerated (1) -> RebalancePlanned (2) -> TradeExecuted (3)
    # -> WorkflowCompleted/WorkflowFailed (4) -> ErrorNotificationRequested (5)
    legit = {"WorkflowStarted": 1, "SignalGenerated": 1, "RebalancePlanned": 2, "TradeExecuted": 3,
             "WorkflowCompleted": 4, "WorkflowFailed": 4, "ErrorNotificationRequested": 5}
    assert set(legit) == set(ROUTES)
    for detail_type, hop in legit.items():
        for consumer in ROUTES[detail_type].consumers:
            assert hop + publish_depth(consumer, detail_type) <= MAX_HOPS, (detail_type, consumer)


def test_every_table_entry_names_a_real_consumer():
    for consumer, detail_type in PUBLISH_DEPTH:
        assert consumer in ROUTES[detail_type].consumers
    assert publish_depth(EXECUTION, "RebalancePlanned") == publish_depth(PORTFOLIO, "SignalGenerated") == 1
