"""Notifier for local runs: a readable log and a JSON-lines file in the state directory.

The local runtime captures a handler's stdout and stderr into log files, so this notifier does
not print: `alchemiser invoke` reads `notifications.jsonl` after each invocation and prints what
is new (`new_notifications` / `format_notification`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOG_NAME = "notifications.log"
JSONL_NAME = "notifications.jsonl"


class LocalNotifier:
    def __init__(self, state_dir: Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.state_dir, self._clock = Path(state_dir), clock

    def send(self, subject: str, message: str) -> str:
        message_id = f"local-{uuid.uuid4()}"
        at = self._clock().astimezone(UTC).isoformat().replace("+00:00", "Z")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.state_dir / LOG_NAME).open("a", encoding="utf-8") as fh:
            fh.write(f"===== {at}  {subject}\n{message.rstrip()}\n\n")
        with (self.state_dir / JSONL_NAME).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"id": message_id, "at": at, "subject": subject, "message": message}) + "\n")
        return message_id


def notifications_offset(state_dir: Path) -> int:
    path = Path(state_dir) / JSONL_NAME
    return path.stat().st_size if path.exists() else 0


def new_notifications(state_dir: Path, offset: int) -> list[dict[str, Any]]:
    """Notifications written after byte `offset` of notifications.jsonl (see notifications_offset)."""
    path = Path(state_dir) / JSONL_NAME
    if not path.exists():
        return []
    with path.open("rb") as fh:
        fh.seek(offset)
        lines = fh.read().decode("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def format_notification(notification: dict[str, Any]) -> str:
    rule = "-" * 72
    return f"{rule}\nnotification: {notification['subject']}\n{rule}\n{notification['message'].rstrip()}\n{rule}"
