"""The state directory's guard rails: one writer at a time, recovery after a kill, run records.

- `exclusive(state_dir)`: an exclusive `flock` on `<state>/lock`, held by every command that
  mutates the state (run, send, replay, dlq redrive/purge/delete, invoke). A second one says
  which process holds it and either waits (bounded) or raises `StateDirBusy`, having written
  nothing. The kernel drops the lock when its holder dies, however it dies.
- `recover(runtime)`: while holding the lock nothing else runs, so whatever a previous process
  left half-done belongs to a dead process: leftover outbox files are put on the bus (their
  events carry deterministic ids, consumers dedupe) and IN_PROGRESS idempotency records are
  released, so the killed handler's redelivery runs again instead of waiting out its window.
- Run records (`<state>/runs/<correlation id>.json`): the broker and market data a workflow was
  started with, so `replay` and `dlq redrive` use the same ones (never silently the simulator).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alchemiser.local.storage import BadLine, display_path, read_lines

if TYPE_CHECKING:
    from alchemiser.local.runtime import LocalRuntime

LOCK_FILE = "lock"
IN_PROGRESS = "INPROGRESS"


class StateDirBusy(RuntimeError):
    """Another alchemiser process holds the state directory's lock."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(f"another alchemiser run ({who}) holds the state dir {display_path(state_dir)}")
        self.state_dir, self.pid = state_dir, pid


def _holder(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextmanager
def exclusive(state_dir: Path, *, wait: float = 0.0, poll: float = 0.1) -> Iterator[None]:
    """Hold the state directory's lock for the block; wait up to `wait` seconds for it."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    raise StateDirBusy(state_dir, _holder(path)) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------- recovery


@dataclass(frozen=True)
class Recovered:
    outbox_events: int
    """Events left in outboxes by a killed process, now put on the bus."""
    released: int
    """IN_PROGRESS idempotency records of a dead process, released."""
    torn: int = 0
    """Outbox lines cut short by the kill (never complete events: their handler's record was
    IN_PROGRESS, so its redelivery publishes them again)."""

    def __bool__(self) -> bool:
        return bool(self.outbox_events or self.released or self.torn)


def release_in_progress(state_dir: Path) -> int:
    """Delete the IN_PROGRESS records of the embedded idempotency store (only call under the lock).

    Deleting is what Powertools itself does when the guarded function raises: the next call with
    that key runs the operation again. Completed records are untouched."""
    path = Path(state_dir) / "state.sqlite"
    if not path.exists():
        return 0
    from shared.runtime.sqlite_store import SqliteTable

    table = SqliteTable(path, "idempotency")
    stale = [key for key, item in table.scan() if item.get("status") == IN_PROGRESS]
    for key in stale:
        table.delete(key)
    return len(stale)


def read_outbox(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The PutEvents entries in an outbox file, and how many lines were unreadable (torn by a kill)."""
    problems: list[BadLine] = []
    entries = [e for e in read_lines(path, problems) if "DetailType" in e and "Detail" in e]
    return entries, len(problems)


def recover(runtime: LocalRuntime) -> Recovered:
    """Queue the leftovers of a killed process on `runtime` (call it under `exclusive`)."""
    released = release_in_progress(runtime.state_dir)
    routed = torn = 0
    outbox = runtime.state_dir / "outbox"
    for path in sorted(outbox.glob("*.jsonl"), key=lambda p: p.stat().st_mtime) if outbox.is_dir() else []:
        entries, bad = read_outbox(path)
        if entries:
            runtime.put_events(entries)
        path.unlink()
        routed += len(entries)
        torn += bad
    return Recovered(routed, released, torn)


# ---------------------------------------------------------------------------------------- run records


def runs_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "runs"


def write_run_record(state_dir: Path, correlation_id: str, record: dict[str, Any]) -> None:
    """Atomically write `<state>/runs/<correlation id>.json` (kept if it already exists)."""
    folder = runs_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{correlation_id}.json"
    if path.exists():
        return
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_run_record(state_dir: Path, correlation_id: str) -> dict[str, Any] | None:
    path = runs_dir(state_dir) / f"{correlation_id}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def retries_recorded(state_dir: Path, base_correlation_id: str) -> list[str]:
    """The retry workflows started for the day whose first workflow is `base_correlation_id`, in order."""
    folder = runs_dir(state_dir)
    if not folder.is_dir():
        return []
    prefix = f"{base_correlation_id}-retry-"
    numbered = []
    for path in folder.glob(f"{prefix}*.json"):
        suffix = path.stem[len(prefix):]
        if suffix.isdigit():
            numbered.append((int(suffix), path.stem))
    return [name for _, name in sorted(numbered)]


def current_workflow_id(state_dir: Path, base_correlation_id: str) -> str:
    """The day's latest workflow: its last retry, else its first run."""
    retries = retries_recorded(state_dir, base_correlation_id)
    return retries[-1] if retries else base_correlation_id


def workflow_status(state_dir: Path, correlation_id: str) -> tuple[str, str] | None:
    """(status, reason) of a workflow as the orchestrator recorded it, or None if it has no record."""
    path = Path(state_dir) / "state.sqlite"
    if not path.exists():
        return None
    from shared.runtime.sqlite_store import SqliteTable

    item = SqliteTable(path, "workflows").get(correlation_id)
    if item is None:
        return None
    data = json.loads(item["data"])
    failure = data.get("failure") or {}
    reason = f"{failure.get('step')}: {failure.get('reason')}" if failure else ""
    return str(data["status"]), reason
