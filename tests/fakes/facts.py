"""Record a hand-made event as its producer would have when publishing it (shared/runtime/published_facts.py).

The portfolio plans only a SignalGenerated the strategy recorded, execution runs only a
RebalancePlanned the portfolio recorded, and the orchestrator acts only on an event its producer
recorded. A test that hands a consumer an event it built itself
(rather than one a real producer published) records it first, the way the producer would, in the
store the handler under test reads: the embedded store of ALCHEMISER_STATE_DIR locally, the
ALCHEMISER_IDEMPOTENCY_TABLE when ALCHEMISER_BACKEND=aws (moto).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from shared.events.base import DomainEvent
from shared.events.catalog import SOURCE_OF, route_for
from shared.events.envelope import open_envelope
from shared.events.middleware import parse_delivery
from shared.runtime.published_facts import (
    DynamoDBWorkflowFacts,
    FactKind,
    SqliteWorkflowFacts,
    WorkflowFacts,
    event_digest,
)


def facts_from_env() -> WorkflowFacts:
    if os.environ.get("ALCHEMISER_BACKEND") == "aws":
        import boto3

        return DynamoDBWorkflowFacts(os.environ["ALCHEMISER_IDEMPOTENCY_TABLE"], client=boto3.client("dynamodb"))
    return SqliteWorkflowFacts(Path(os.environ["ALCHEMISER_STATE_DIR"]) / "state.sqlite")


def as_event(delivery: DomainEvent | dict[str, Any]) -> DomainEvent:
    """The event in a model, an EventBridge envelope (as its consumer reads it: the envelope fills in what
    the detail may leave out) or a bare detail (a SignalGenerated or a RebalancePlanned)."""
    if isinstance(delivery, DomainEvent):
        return delivery
    detail_type = delivery.get("detail-type")
    if detail_type is not None and "detail" in delivery:
        route = route_for(detail_type)
        assert route is not None, detail_type
        event = parse_delivery(open_envelope(delivery), route.consumers[-1]).event
        assert event is not None
        return event
    detail = delivery.get("detail", delivery)
    if detail_type is None:
        detail_type = "RebalancePlanned" if "plan_id" in detail and "orders" in detail else "SignalGenerated"
    route = route_for(detail_type)
    assert route is not None, detail_type
    return route.model.model_validate(detail)


def producer_of(delivery: DomainEvent | dict[str, Any]) -> FactKind:
    """The function that published it: the envelope's source, else the one producer of its detail-type."""
    source = delivery.get("source") if isinstance(delivery, dict) else None
    if source is not None:
        return cast("FactKind", next(f for f, s in SOURCE_OF.items() if s == source))
    route = route_for(as_event(delivery).detail_type)
    assert route is not None and len(route.producers) == 1, f"{route}: name the producer (an envelope's source)"
    return cast("FactKind", route.producers[0])


def record_published(delivery: DomainEvent | dict[str, Any], facts: WorkflowFacts | None = None, *,
                     producer: FactKind | None = None) -> DomainEvent:
    """Record `delivery` as published by its producer (`producer`, the envelope's source, or the detail-type's
    one producer); returns the event."""
    event = as_event(delivery)
    kind = producer or producer_of(delivery)
    (facts or facts_from_env()).record(kind, event.correlation_id, event.event_id, event_digest(event))
    return event
