"""The local archive and dead-letter queue: JSON lines under the state directory.

A kill can cut a line short. So each record is appended with one `write` of the whole line (the
file opened O_APPEND) and fsynced; an append after a torn final line first ends that line, so a
record never joins onto garbage; and readers skip a line that is not a JSON object and report it
(`problems`) instead of failing the command.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_lock = threading.Lock()


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it is under it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class BadLine:
    path: Path
    line: int
    excerpt: str

    def __str__(self) -> str:
        return f"{display_path(self.path)}:{self.line}: unreadable line skipped ({self.excerpt!r})"


def _ends_torn(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def append_line(path: Path, record: dict[str, Any], *, sync: bool = True) -> None:
    """Append one JSON line atomically: one write, never onto a torn line; fsync unless told not to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(record, sort_keys=True) + "\n").encode()
    with _lock:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if _ends_torn(fd):
                data = b"\n" + data
            os.write(fd, data)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """One line's JSON object; None for a torn, non-JSON or non-object line."""
    try:
        record = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) else None


def read_lines(path: Path, problems: list[BadLine] | None = None) -> Iterator[dict[str, Any]]:
    """The JSON objects in `path`, one a line; bad lines are skipped (and added to `problems`)."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            record = parse_line(raw)
            if record is not None:
                yield record
            elif problems is not None:
                problems.append(BadLine(path, number, raw[:60].decode("utf-8", "replace").strip()))


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class Archive:
    """Every event the local bus accepted, as EventBridge's archive keeps them (for replay)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "archive" / "events.jsonl"
        self.problems: list[BadLine] = []

    def append(self, envelope: dict[str, Any]) -> None:
        append_line(self.path, envelope)

    def all(self) -> list[dict[str, Any]]:
        self.problems = []
        return [e for e in read_lines(self.path, self.problems) if _is_envelope(e, self.problems, self.path)]

    def events(self, start: datetime | None = None, end: datetime | None = None) -> list[dict[str, Any]]:
        out = []
        for envelope in self.all():
            at = parse_time(envelope["time"])
            if (start is None or at >= start) and (end is None or at <= end):
                out.append(envelope)
        return out

    def of_workflow(self, correlation_id: str) -> list[dict[str, Any]]:
        """The workflow's events in the order the bus accepted them, each event id once."""
        seen: set[str] = set()
        out = []
        for envelope in self.all():
            detail = envelope.get("detail")
            if not isinstance(detail, dict) or detail.get("correlation_id") != correlation_id:
                continue
            event_id = str(detail.get("event_id") or envelope.get("id"))
            if event_id not in seen:
                seen.add(event_id)
                out.append(envelope)
        return out


def _is_envelope(record: dict[str, Any], problems: list[BadLine], path: Path) -> bool:
    try:
        parse_time(str(record["time"]))
        return "detail-type" in record
    except (KeyError, ValueError):
        problems.append(BadLine(path, 0, json.dumps(record)[:60]))
        return False


class DeadLetterQueue:
    """Deliveries that failed every attempt, with the rule, target and last error."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "dlq" / "messages.jsonl"
        self.problems: list[BadLine] = []

    def send(self, envelope: dict[str, Any], *, rule: str | None, target: str, error: str, attempts: int,
             failed_at: datetime) -> dict[str, Any]:
        record = {"message_id": str(uuid.uuid4()), "event": envelope, "rule": rule, "target": target,
                  "error": error, "attempts": attempts,
                  "failed_at": failed_at.isoformat().replace("+00:00", "Z")}
        append_line(self.path, record)
        return record

    def messages(self) -> list[dict[str, Any]]:
        self.problems = []
        return [m for m in read_lines(self.path, self.problems) if "message_id" in m]

    def remove(self, message_ids: set[str]) -> None:
        """Rewrite the queue without `message_ids` (atomically: a temporary file, then rename).

        Unreadable lines are kept as they are, so nothing is lost by a removal."""
        with _lock:
            if not self.path.exists():
                return
            kept: list[bytes] = []
            with self.path.open("rb") as fh:
                for raw in fh:
                    if not raw.strip():
                        continue
                    record = parse_line(raw)
                    if record is not None and record.get("message_id") in message_ids:
                        continue
                    kept.append(raw if raw.endswith(b"\n") else raw + b"\n")
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("wb") as out:
                out.write(b"".join(kept))
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(self.path)
