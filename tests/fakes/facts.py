"""Record a hand-made event as its producer would have when publishing it (shared/runtime/workflow_facts.py).

The portfolio plans only a SignalGenerated the strategy recorded, and execution runs only a
RebalancePlanned the portfolio recorded. A test that hands a consumer an event it built itself
(rather than one a real producer published) records it first, the way the producer would, in the
store the handler under test reads: the embedded store of ALCHEMISER_STATE_DIR locally, the
ALCHEMISER_IDEMPOTENCY_TABLE when ALCHEMISER_BACKEND=aws (moto).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shared.events.base import DomainEvent
from shared.events.rebalance_planned import RebalancePlanned
from shared.events.signal_generated import SignalGenerated
from shared.runtime.workflow_facts import (
    DynamoDBWorkflowFacts,
    FactKind,
    SqliteWorkflowFacts,
    WorkflowFacts,
    event_digest,
)

_KINDS: dict[str, tuple[FactKind, type[DomainEvent]]] = {
    "SignalGenerated": ("strategy", SignalGenerated),
    "RebalancePlanned": ("portfolio", RebalancePlanned),
}


def facts_from_env() -> WorkflowFacts:
    if os.environ.get("ALCHEMISER_BACKEND") == "aws":
        import boto3

        return DynamoDBWorkflowFacts(os.environ["ALCHEMISER_IDEMPOTENCY_TABLE"], client=boto3.client("dynamodb"))
    return SqliteWorkflowFacts(Path(os.environ["ALCHEMISER_STATE_DIR"]) / "state.sqlite")


def as_event(delivery: DomainEvent | dict[str, Any]) -> DomainEvent:
    """The event in a model, an EventBridge envelope or a bare detail."""
    if isinstance(delivery, DomainEvent):
        return delivery
    detail_type = delivery.get("detail-type")
    detail = delivery.get("detail", delivery)
    if detail_type is None:
        detail_type = "RebalancePlanned" if "plan_id" in detail and "orders" in detail else "SignalGenerated"
    _, model = _KINDS[detail_type]
    return model.model_validate(detail)


def record_published(delivery: DomainEvent | dict[str, Any], facts: WorkflowFacts | None = None) -> DomainEvent:
    """Record `delivery` as published by its producer; returns the event."""
    event = as_event(delivery)
    kind, _ = _KINDS[event.detail_type]
    (facts or facts_from_env()).record(kind, event.correlation_id, event.event_id, event_digest(event))
    return event
