"""Controllable handlers for the local runtime's own tests (a tiny template points at these)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from shared.events import EventContext, WorkflowFailed
from shared.events.publisher import OutboxPublisher, outbox_path


def _state() -> Path:
    return Path(os.environ["ALCHEMISER_STATE_DIR"])


def _record(name: str, event: Any) -> int:
    log = _state() / f"{name}.calls.jsonl"
    with log.open("a") as fh:
        fh.write(json.dumps({"event": event, "env": {k: v for k, v in os.environ.items()
                                                      if k.startswith(("ALCHEMISER_", "TEST_"))}}) + "\n")
    return len(log.read_text().splitlines())


def calls(state_dir: Path, name: str) -> list[dict[str, Any]]:
    log = state_dir / f"{name}.calls.jsonl"
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


def echo(event: Any, context: Any) -> dict[str, Any]:
    _record("echo", event)
    return {"status": "success"}


def flaky(event: Any, context: Any) -> dict[str, Any]:
    """Fails its first TEST_FAILURES calls."""
    n = _record("flaky", event)
    if n <= int(os.environ.get("TEST_FAILURES", "0")):
        raise RuntimeError(f"transient failure {n}")
    return {"status": "success"}


def publisher(event: Any, context: Any) -> dict[str, Any]:
    """Publishes one WorkflowFailed caused by the command (routed on by the test template)."""
    _record("publisher", event)
    failed = WorkflowFailed.create(EventContext("corr-1", "cmd-1", "paper", 1), step="strategy",
                                   reason="test", error_type="Test")
    OutboxPublisher(outbox_path(_state(), context.aws_request_id), "alchemiser.strategy",
                    os.environ["ALCHEMISER_EVENT_BUS_NAME"]).publish([failed])
    return {"status": "success", "correlation_id": "corr-1"}


def looper(event: Any, context: Any) -> dict[str, Any]:
    """Republishes what it receives without counting hops: a loop only the delivery cap stops."""
    detail = event["detail"]
    OutboxPublisher(outbox_path(_state(), context.aws_request_id), "alchemiser.orchestration",
                    os.environ["ALCHEMISER_EVENT_BUS_NAME"]).publish([WorkflowFailed.model_validate(detail)])
    return {"status": "success"}
