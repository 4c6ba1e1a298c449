"""The local archive and dead-letter queue: JSON lines under the state directory."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_lock = threading.Lock()


def _append(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")


def _read(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class Archive:
    """Every event the local bus accepted, as EventBridge's archive keeps them (for replay)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "archive" / "events.jsonl"

    def append(self, envelope: dict[str, Any]) -> None:
        _append(self.path, envelope)

    def events(self, start: datetime | None = None, end: datetime | None = None) -> list[dict[str, Any]]:
        out = []
        for envelope in _read(self.path):
            at = parse_time(envelope["time"])
            if (start is None or at >= start) and (end is None or at <= end):
                out.append(envelope)
        return out


class DeadLetterQueue:
    """Deliveries that failed every attempt, with the rule, target and last error."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "dlq" / "messages.jsonl"

    def send(self, envelope: dict[str, Any], *, rule: str | None, target: str, error: str, attempts: int,
             failed_at: datetime) -> dict[str, Any]:
        record = {"message_id": str(uuid.uuid4()), "event": envelope, "rule": rule, "target": target,
                  "error": error, "attempts": attempts,
                  "failed_at": failed_at.isoformat().replace("+00:00", "Z")}
        _append(self.path, record)
        return record

    def messages(self) -> list[dict[str, Any]]:
        return list(_read(self.path))

    def remove(self, message_ids: set[str]) -> None:
        with _lock:
            kept = [m for m in _read(self.path) if m["message_id"] not in message_ids]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(m, sort_keys=True) + "\n" for m in kept), encoding="utf-8")
            tmp.replace(self.path)
