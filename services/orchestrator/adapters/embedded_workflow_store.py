"""WorkflowStore on the embedded store (local runs): three logical tables in the state dir's SQLite.

- workflows:          key = correlation id; {"version", "open", "data"}
- workflow_events:    key = "<correlation id>|<event id>"; the EventEntry
- equity_snapshots:   key = "<trading mode>|<trading date>|<correlation id>"; the EquitySnapshot

Conditional writes use SqliteTable.transact (an immediate-mode transaction), which behaves like
DynamoDB's condition expressions across threads and processes.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from services.orchestrator.workflow_record import EquitySnapshot, EventEntry, StoredWorkflow, WorkflowRecord
from shared.runtime.sqlite_store import Document, SqliteTable


class EmbeddedWorkflowStore:
    def __init__(self, path: Path) -> None:
        self._workflows = SqliteTable(path, "workflows")
        self._events = SqliteTable(path, "workflow_events")
        self._snapshots = SqliteTable(path, "equity_snapshots")

    def load(self, correlation_id: str) -> StoredWorkflow | None:
        item = self._workflows.get(correlation_id)
        if item is None:
            return None
        return StoredWorkflow(record=WorkflowRecord.model_validate_json(item["data"]), version=int(item["version"]))

    def save(self, record: WorkflowRecord, *, expected_version: int) -> bool:
        new: Document = {"version": expected_version + 1, "open": record.is_open, "data": record.model_dump_json()}

        def conditional(old: Document | None) -> Document | None:
            current = 0 if old is None else int(old["version"])
            return new if current == expected_version else None

        return self._workflows.transact(record.correlation_id, conditional) is not None

    def open_workflows(self) -> list[WorkflowRecord]:
        return [WorkflowRecord.model_validate_json(item["data"]) for _, item in self._workflows.scan() if item["open"]]

    def record_event(self, entry: EventEntry) -> bool:
        created: list[bool] = []

        def put_or_note_replay(old: Document | None) -> Document | None:
            if old is None:
                created.append(True)
                return entry.model_dump(mode="json")
            if entry.replay_names:
                names = [*old.get("replay_names", []), *entry.replay_names]
                return {**old, "replay_names": names}
            return None

        self._events.transact(f"{entry.correlation_id}|{entry.event_id}", put_or_note_replay)
        return bool(created)

    def event_entry(self, correlation_id: str, event_id: str) -> EventEntry | None:
        item = self._events.get(f"{correlation_id}|{event_id}")
        return None if item is None else EventEntry.model_validate(item)

    def put_snapshot(self, snapshot: EquitySnapshot) -> None:
        key = f"{snapshot.trading_mode}|{snapshot.trading_date.isoformat()}|{snapshot.correlation_id}"
        self._snapshots.put(key, json.loads(snapshot.model_dump_json()))

    def snapshots(self, trading_mode: str, start: date, end: date) -> list[EquitySnapshot]:
        found = [EquitySnapshot.model_validate(item) for _, item in self._snapshots.scan(f"{trading_mode}|")]
        return sorted((s for s in found if start <= s.trading_date <= end),
                      key=lambda s: (s.trading_date, s.recorded_at))
