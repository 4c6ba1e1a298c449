"""Recorded facts of a workflow: what a producer really published, for its consumers to check.

A string in an event proves nothing: anyone who may put events on the bus chooses the source,
the correlation id and every other field. So each producer records what it published, in a store
only it may write (IAM `dynamodb:LeadingKeys` on its key prefix), and a consumer acts only on an
event that matches the record:

    every function   records  every event it publishes, before putting it on the bus (the publisher
                              does it: shared/events/publisher.py, `RecordingPublisher`), under
                              `fact_key(<function>, <correlation_id>)`
    portfolio        plans    only a SignalGenerated the strategy recorded
    execution        places   only a RebalancePlanned the portfolio recorded
    orchestrator     acts on  only an event the function named by its source recorded (its own
                              WorkflowFailed and ErrorNotificationRequested included)

A fact is a set of members `<event id>=<digest>`: the digest is SHA-256 over the event's canonical
JSON (keys sorted; hop count and all), so a hand-made event, or a real event id with edited contents, matches
nothing. A console resend or an archive replay of the real event carries the same JSON and matches.
The set only grows (a retried producer that publishes again under the same ids adds nothing; a
second producer run of one workflow adds its own member, and the execution's one-plan-per-workflow
guard keeps that from trading twice).

Adapters: the embedded store locally, the IdempotencyTable in DynamoDB (string-set attribute
`members`, TTL attribute `expiration`), written with `ADD`, so two writers never lose a member.
Facts are kept `FACT_RETENTION_DAYS`, longer than the bus archive, so a replayed event still finds
the record of the real one.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from shared.runtime.aws_clients import given_or_shared

if TYPE_CHECKING:
    from pydantic import BaseModel

    from shared.runtime.sqlite_store import Document

FactKind = Literal["strategy", "portfolio", "execution", "orchestrator"]
"""The function that published (shared/events/catalog.py FUNCTIONS)."""
FACT_RETENTION_DAYS = 400
_DAY = 86_400

FACT_PREFIX: dict[FactKind, str] = {
    "strategy": "strategy-workflow",
    "portfolio": "portfolio-workflow",
    # `execution-workflow#` is the execution's one-plan-per-workflow guard (services/execution/workflow_guard.py).
    "execution": "execution-published",
    "orchestrator": "orchestrator-published",
}
"""The key prefix of each function's facts: the one its role may write (infra/template.yaml)."""


def fact_key(kind: FactKind, correlation_id: str) -> str:
    return f"{FACT_PREFIX[kind]}#{correlation_id}"


def event_digest(event: BaseModel) -> str:
    """SHA-256 of the event's canonical JSON: its fields as the model writes them, every object's keys sorted.

    Sorted, because nothing promises a delivery keeps the order of an object's keys (the archive,
    a console resend, a hand-edited DLQ message may reorder `target_weights`); values are compared
    exactly as the model serialises them (Decimals as their strings)."""
    canonical = json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def member(event_id: str, digest: str) -> str:
    return f"{event_id}={digest}"


class WorkflowFacts(Protocol):
    def record(self, kind: FactKind, correlation_id: str, event_id: str, digest: str) -> None:
        """Add (event id, digest) to the workflow's fact of this kind (idempotent)."""
        ...

    def members(self, kind: FactKind, correlation_id: str) -> frozenset[str]:
        """The `<event id>=<digest>` members recorded (empty when none, or expired)."""
        ...


def verify(facts: WorkflowFacts, kind: FactKind, event: BaseModel, event_id: str, correlation_id: str) -> str | None:
    """None when `event` is what the producer recorded; else why not (for the log and the alarm)."""
    recorded = facts.members(kind, correlation_id)
    if member(event_id, event_digest(event)) in recorded:
        return None
    if not recorded:
        return f"the {kind} function recorded no event for workflow {correlation_id}"
    known = {m.split("=", 1)[0] for m in recorded}
    if event_id in known:
        return f"event {event_id} differs from what the {kind} function published for workflow {correlation_id}"
    return f"event {event_id} is not one the {kind} function published for workflow {correlation_id}"


class SqliteWorkflowFacts:
    """The embedded store (state_dir/state.sqlite)."""

    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        from shared.runtime.sqlite_store import SqliteTable  # local only: AWS never loads sqlite3

        self._table = SqliteTable(path, "workflow_facts")
        self._wall_clock = wall_clock

    def record(self, kind: FactKind, correlation_id: str, event_id: str, digest: str) -> None:
        now = int(self._wall_clock())

        def add(old: Document | None) -> Document:
            live = old if old is not None and int(old.get("expiration") or 0) >= now else None
            held = set(live["members"]) if live is not None else set()
            held.add(member(event_id, digest))
            return {"members": sorted(held), "expiration": now + FACT_RETENTION_DAYS * _DAY}

        self._table.transact(fact_key(kind, correlation_id), add)

    def members(self, kind: FactKind, correlation_id: str) -> frozenset[str]:
        item = self._table.get(fact_key(kind, correlation_id))
        if item is None or int(item.get("expiration") or 0) < int(self._wall_clock()):
            return frozenset()
        return frozenset(str(m) for m in item.get("members", ()))


class DynamoDBWorkflowFacts:
    """Facts as items of the IdempotencyTable (hash key `id`)."""

    def __init__(self, table_name: str, *, client: Any = None, wall_clock: Callable[[], float] = time.time) -> None:
        client = given_or_shared("dynamodb", client)
        self.table_name = table_name
        self._client = client
        self._wall_clock = wall_clock

    def record(self, kind: FactKind, correlation_id: str, event_id: str, digest: str) -> None:
        now = int(self._wall_clock())
        self._client.update_item(
            TableName=self.table_name,
            Key={"id": {"S": fact_key(kind, correlation_id)}},
            UpdateExpression="ADD #members :member SET expiration = :expires",
            ExpressionAttributeNames={"#members": "members"},
            ExpressionAttributeValues={":member": {"SS": [member(event_id, digest)]},
                                       ":expires": {"N": str(now + FACT_RETENTION_DAYS * _DAY)}},
        )

    def members(self, kind: FactKind, correlation_id: str) -> frozenset[str]:
        response = self._client.get_item(TableName=self.table_name, Key={"id": {"S": fact_key(kind, correlation_id)}},
                                         ConsistentRead=True)
        item = response.get("Item")
        if item is None or int(item.get("expiration", {}).get("N", "0")) < int(self._wall_clock()):
            return frozenset()
        return frozenset(item.get("members", {}).get("SS", ()))


def make_facts(*, local: bool, state_dir: Path, table_name: str | None) -> WorkflowFacts:
    if local:
        return SqliteWorkflowFacts(state_dir / "state.sqlite")
    if not table_name:
        raise ValueError("ALCHEMISER_IDEMPOTENCY_TABLE is required outside local mode (it holds the workflow facts)")
    return DynamoDBWorkflowFacts(table_name)
