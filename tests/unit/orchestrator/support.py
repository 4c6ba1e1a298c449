"""Test support for the orchestrator: sample events, envelopes, fakes and a harness around app.handle."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.orchestrator import app
from services.orchestrator.adapters.embedded_workflow_store import EmbeddedWorkflowStore
from services.orchestrator.dependencies import CLAIMS_OPERATION, Dependencies
from services.orchestrator.notifications import NotificationDelivery
from services.orchestrator.ports import EquityPoint, WorkflowStore
from services.orchestrator.settings import OrchestratorSettings
from shared.events import DomainEvent, route_for
from shared.events.catalog import ORCHESTRATOR, SOURCE_OF, producer_of
from shared.events.envelope import open_envelope
from shared.events.middleware import parse_delivery
from shared.events.publisher import RecordingPublisher
from shared.runtime.idempotency import IdempotentOperation, SqlitePersistenceLayer
from shared.runtime.published_facts import SqliteWorkflowFacts
from tests.conftest import LambdaContextStub, load_test_event
from tests.fakes.facts import record_published
from tests.fakes.in_memory import InMemoryPublisher

CORRELATION = "run-2026-11-25-paper"
T0 = datetime(2026, 11, 25, 14, 35, 12, tzinfo=UTC)
PRODUCER_SOURCE = {
    "WorkflowStarted": SOURCE_OF["strategy"],
    "SignalGenerated": SOURCE_OF["strategy"],
    "RebalancePlanned": SOURCE_OF["portfolio"],
    "TradeExecuted": SOURCE_OF["execution"],
    "WorkflowCompleted": SOURCE_OF[ORCHESTRATOR],
    "ErrorNotificationRequested": SOURCE_OF[ORCHESTRATOR],
}
SAMPLE_FILES = {
    "WorkflowStarted": "workflow-started.json",
    "SignalGenerated": "signal-generated.json",
    "RebalancePlanned": "rebalance-planned.json",
    "TradeExecuted": "trade-executed.json",
    "WorkflowFailed": "workflow-failed.json",
    "WorkflowCompleted": "workflow-completed.json",
    "ErrorNotificationRequested": "error-notification-requested.json",
}


def sample(detail_type: str, **changes: Any) -> Any:
    """The sample event of that type from test-events/, validated, with `changes` applied (and re-validated)."""
    detail = load_test_event(SAMPLE_FILES[detail_type])["detail"]
    detail.update({k: _jsonable(v) for k, v in changes.items()})
    route = route_for(detail_type)
    assert route is not None
    return route.model.model_validate(detail)


def _jsonable(value: Any) -> Any:
    if isinstance(value, DomainEvent):
        return json.loads(value.model_dump_json())
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def envelope(event: DomainEvent, *, source: str | None = None, replay_name: str | None = None,
             envelope_id: str | None = None) -> dict[str, Any]:
    """The event as an EventBridge rule delivers it."""
    out = {
        "version": "0",
        "id": envelope_id or str(uuid.uuid4()),
        "detail-type": event.detail_type,
        "source": source or PRODUCER_SOURCE.get(event.detail_type, SOURCE_OF["portfolio"]),
        "account": "123456789012",
        "time": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(event.model_dump_json()),
    }
    if replay_name:
        out["replay-name"] = replay_name
    return out


class FakeNotifier:
    """Records what it sends; can fail the next N sends or be slow (to force overlaps)."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures_left = 0
        self.delay = delay
        self.attempts = 0
        self._lock = threading.Lock()

    def send(self, subject: str, message: str) -> str:
        with self._lock:
            self.attempts += 1
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            if self.failures_left:
                self.failures_left -= 1
                raise ConnectionError("SNS is unavailable")
            self.sent.append((subject, message))
            return f"msg-{len(self.sent)}"


class RecordingMetrics:
    def __init__(self) -> None:
        self.added: list[tuple[str, float]] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.added.append((name, value))

    def total(self, name: str) -> float:
        return sum(v for n, v in self.added if n == name)

    def names(self) -> set[str]:
        return {n for n, _ in self.added}


class WallClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeHistory:
    points: list[EquityPoint]
    source: str = "alpaca"
    calls: list[tuple[str, date]] = field(default_factory=list)

    def daily_equity(self, *, period: str, end: date) -> list[EquityPoint]:
        self.calls.append((period, end))
        return list(self.points)


@dataclass
class Harness:
    """app.handle with local adapters, a fake notifier, an in-memory publisher and recorded metrics.

    What the orchestrator publishes is recorded as its facts (as its real publisher does); an event handed
    to `deliver` is recorded as published by the function its envelope names, unless `recorded=False`
    (a forged event)."""

    state_dir: Path
    settings: OrchestratorSettings
    store: WorkflowStore
    notifier: FakeNotifier
    publisher: InMemoryPublisher
    metrics: RecordingMetrics
    wall: WallClock
    history: Any = None
    claims_path: Path | None = None
    orders: Any = None
    """The broker's book the stuck check settles unknown orders from (an OrderLookup)."""

    @classmethod
    def create(cls, state_dir: Path, *, store: WorkflowStore | None = None, **settings: Any) -> Harness:
        settings.setdefault("as_of", T0)
        config = OrchestratorSettings(backend="local", state_dir=state_dir, **settings)
        return cls(state_dir=state_dir, settings=config,
                   store=store or EmbeddedWorkflowStore(state_dir / "state.sqlite"), notifier=FakeNotifier(),
                   publisher=InMemoryPublisher(SOURCE_OF[ORCHESTRATOR]), metrics=RecordingMetrics(),
                   wall=WallClock(), claims_path=state_dir / "state.sqlite")

    def at(self, moment: datetime) -> Harness:
        self.settings = self.settings.model_copy(update={"as_of": moment})
        return self

    @property
    def facts(self) -> SqliteWorkflowFacts:
        return SqliteWorkflowFacts(self.state_dir / "state.sqlite")

    def deps(self, publisher: Any = None) -> Dependencies:
        assert self.claims_path is not None
        claims = IdempotentOperation(CLAIMS_OPERATION, SqlitePersistenceLayer(self.claims_path),
                                     expires_after_seconds=3600)
        facts = self.facts
        return Dependencies(settings=self.settings, store=self.store, facts=facts,
                            delivery=NotificationDelivery(self.notifier, claims),
                            publisher_for=lambda request_id: RecordingPublisher(
                                publisher or self.publisher, facts, ORCHESTRATOR, SOURCE_OF[ORCHESTRATOR]),
                            history=lambda: self.history, wall_clock=self.wall, orders=lambda: self.orders)

    def deliver(self, message: dict[str, Any] | DomainEvent, *, request_id: str | None = None,
                remaining_ms: int = 60_000, publisher: Any = None, recorded: bool = True,
                **envelope_options: Any) -> dict[str, Any]:
        raw = envelope(message, **envelope_options) if isinstance(message, DomainEvent) else message
        incoming = parse_delivery(open_envelope(raw), ORCHESTRATOR)
        if recorded and incoming.event is not None:  # what its producer recorded when it published it
            record_published(incoming.event, self.facts, producer=producer_of(incoming.delivery.source or ""))
        context = LambdaContextStub(aws_request_id=request_id or str(uuid.uuid4()), remaining_ms=remaining_ms)
        return app.handle(incoming, self.deps(publisher), context=context, metrics=self.metrics)

    def command(self, payload: dict[str, Any], *, request_id: str | None = None) -> dict[str, Any]:
        return self.deliver(payload, request_id=request_id)

    def published_types(self) -> list[str]:
        return [e.detail_type for e in self.publisher.events]

    def record(self) -> Any:
        stored = self.store.load(CORRELATION)
        return None if stored is None else stored.record
