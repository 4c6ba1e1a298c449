"""Publishing domain events: PutEvents on the custom bus, or the local outbox.

The EventBridge publisher sends at most 10 entries per call, checks each entry against the
256 KB limit before sending anything, retries only the entries EventBridge reports as failed
(bounded, with backoff) and then raises PublishError naming what was not delivered.

Every function publishes through `publisher_factory`, whose publishers record each event as the
function's fact (shared/runtime/published_facts.py) once it passed those checks and before it is
put on the bus: a consumer acts only on an event its producer recorded, so no publishing path of
any function can forget to record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shared.events.base import DomainEvent
from shared.events.catalog import route_for
from shared.runtime import aws_clients

if TYPE_CHECKING:
    from shared.runtime.published_facts import FactKind, WorkflowFacts
    from shared.runtime.settings import CommonSettings

MAX_ENTRIES_PER_CALL = 10
MAX_ENTRY_BYTES = 256 * 1024


class EventPublisher(Protocol):
    """Port: put domain events on the bus, in order; raise PublishError if any is not delivered."""

    def publish(self, events: Sequence[DomainEvent]) -> list[str]: ...


@dataclass(frozen=True)
class Undelivered:
    event_id: str
    detail_type: str
    error_code: str
    error_message: str


class PublishError(RuntimeError):
    """Some events were not delivered; `undelivered` says which and why."""

    def __init__(self, message: str, undelivered: Sequence[Undelivered]) -> None:
        names = ", ".join(f"{u.detail_type} {u.event_id} ({u.error_code}: {u.error_message})" for u in undelivered)
        super().__init__(f"{message}: {names}")
        self.undelivered = list(undelivered)


class EventTooLargeError(PublishError):
    """An entry exceeds EventBridge's 256 KB limit; nothing was sent."""


def to_entry(event: DomainEvent, *, source: str, bus_name: str) -> dict[str, Any]:
    """The PutEvents entry for `event`, after checking that `source` may publish it."""
    route = route_for(event.detail_type)
    if route is None or source not in route.sources:
        raise ValueError(f"{source} is not a producer of {event.detail_type} (see shared/events/catalog.py)")
    return {
        "Source": source,
        "DetailType": event.detail_type,
        "Detail": event.model_dump_json(),
        "EventBusName": bus_name,
    }


def entry_size(entry: dict[str, Any]) -> int:
    """Entry size as EventBridge computes it (Time, Source, DetailType, Detail, Resources)."""
    size = 14 if entry.get("Time") else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key, "")).encode())
    size += sum(len(r.encode()) for r in entry.get("Resources", []))
    return size


def _check_sizes(events: Sequence[DomainEvent], entries: Sequence[dict[str, Any]]) -> None:
    too_big = [
        Undelivered(ev.event_id, ev.detail_type, "EntryTooLarge", f"{entry_size(en)} bytes > {MAX_ENTRY_BYTES}")
        for ev, en in zip(events, entries, strict=True)
        if entry_size(en) > MAX_ENTRY_BYTES
    ]
    if too_big:
        raise EventTooLargeError("not published (nothing was sent)", too_big)


class EventBridgePublisher:
    """PutEvents on the custom bus through boto3."""

    def __init__(self, bus_name: str, source: str, client: Any = None, *, max_attempts: int = 4,
                 base_delay: float = 0.1, sleep: Callable[[float], None] = time.sleep) -> None:
        self.bus_name, self.source = bus_name, source
        self.client = client if client is not None else aws_clients.client("events")
        self.max_attempts, self.base_delay, self.sleep = max_attempts, base_delay, sleep

    def publish(self, events: Sequence[DomainEvent]) -> list[str]:
        entries = [to_entry(e, source=self.source, bus_name=self.bus_name) for e in events]
        _check_sizes(events, entries)
        for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
            self._send_batch(list(zip(events[start:start + MAX_ENTRIES_PER_CALL],
                                      entries[start:start + MAX_ENTRIES_PER_CALL], strict=True)))
        return [e.detail_type for e in events]

    def _send_batch(self, pending: list[tuple[DomainEvent, dict[str, Any]]]) -> None:
        failures: list[Undelivered] = []
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(min(self.base_delay * 2 ** (attempt - 1), 2.0))
            response = self.client.put_events(Entries=[entry for _, entry in pending])
            if not response.get("FailedEntryCount"):
                return
            retry, failures = [], []
            for (event, entry), result in zip(pending, response["Entries"], strict=True):
                if "ErrorCode" in result:
                    retry.append((event, entry))
                    failures.append(Undelivered(event.event_id, event.detail_type, result["ErrorCode"],
                                                result.get("ErrorMessage", "")))
            pending = retry
        raise PublishError(f"not delivered after {self.max_attempts} attempts", failures)


class OutboxPublisher:
    """Local mode: append PutEvents entries to a per-invocation outbox the local runtime routes."""

    def __init__(self, outbox: Path, source: str, bus_name: str) -> None:
        self.outbox, self.source, self.bus_name = outbox, source, bus_name

    def publish(self, events: Sequence[DomainEvent]) -> list[str]:
        entries = [to_entry(e, source=self.source, bus_name=self.bus_name) for e in events]
        _check_sizes(events, entries)
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self.outbox.open("a", encoding="utf-8") as fh:
            for entry in entries:
                fh.write(json.dumps(entry) + "\n")
        return [e.detail_type for e in events]


def outbox_path(state_dir: Path, request_id: str) -> Path:
    return state_dir / "outbox" / f"{request_id}.jsonl"


def make_publisher(*, local: bool, state_dir: Path, bus_name: str, source: str,
                   request_id: str, client: Any = None) -> EventPublisher:
    """The publisher for this invocation: the local outbox, or EventBridge."""
    if local:
        return OutboxPublisher(outbox_path(state_dir, request_id), source, bus_name)
    return EventBridgePublisher(bus_name, source, client)


class RecordingPublisher:
    """Records each event as `producer`'s fact (published_facts.py), then hands them to `inner`.

    Recorded after the checks that would refuse the batch (a producer that may not publish the
    detail-type, an entry over the size limit: nothing was sent, so nothing is recorded) and before
    anything is sent, so a consumer never sees an event its producer did not record. A send that then
    fails leaves a record of an event not (yet) delivered: the retry republishes the same event."""

    def __init__(self, inner: EventPublisher, facts: WorkflowFacts, producer: FactKind, source: str) -> None:
        self.inner, self.facts, self.producer, self.source = inner, facts, producer, source

    def publish(self, events: Sequence[DomainEvent]) -> list[str]:
        from shared.runtime.published_facts import event_digest

        _check_sizes(events, [to_entry(e, source=self.source, bus_name="") for e in events])
        for event in events:
            self.facts.record(self.producer, event.correlation_id, event.event_id, event_digest(event))
        return self.inner.publish(events)


def publisher_factory(settings: CommonSettings, source: str, facts: WorkflowFacts) -> Callable[[str], EventPublisher]:
    """request id -> the publisher for that invocation (a service's `Dependencies.publisher_for`): the
    local outbox is per request id; EventBridge reuses one client per container (aws_clients). Each
    publisher records what it publishes in `facts` (RecordingPublisher)."""
    from shared.events.catalog import producer_of

    producer = producer_of(source)

    def publisher_for(request_id: str) -> EventPublisher:
        inner = make_publisher(local=settings.local, state_dir=settings.state_dir, bus_name=settings.event_bus_name,
                               source=source, request_id=request_id)
        return RecordingPublisher(inner, facts, producer, source)

    return publisher_for
