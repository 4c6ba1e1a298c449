"""Recognise how an invocation arrived and take out the payload, before any validation.

Shapes accepted (all seen in practice):
- a direct payload: `{"mode": "trade"}` (Lambda console test, Scheduler with a raw input);
- a Scheduler envelope: `"detail-type": "Scheduled Event"`, `"source": "aws.scheduler"` (only that
  source: a "Scheduled Event" from anywhere else is an ordinary event, refused as unknown);
- an EventBridge rule delivery (including one sent from the console's "Send events");
- an archive replay: a rule delivery with a `replay-name` field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_EVENT_BYTES = 256 * 1024
MAX_REASON_CHARS = 2000
"""An InvalidEventError's message is cut there: it quotes excerpts of the input, never all of it."""

DeliveryKind = Literal["direct", "scheduler", "event", "replay"]


class InvalidEventError(ValueError):
    """The invocation cannot be processed as sent. Raised so that retries and the DLQ take it."""

    def __init__(self, reason: str, *, correlation_id: str | None = None) -> None:
        reason = reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"
        super().__init__(reason)
        self.reason = reason
        self.correlation_id = correlation_id


@dataclass(frozen=True)
class Delivery:
    kind: DeliveryKind
    detail: dict[str, Any]
    detail_type: str | None = None
    source: str | None = None
    envelope_id: str | None = None
    time: str | None = None
    replay_name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_replay(self) -> bool:
        return self.kind == "replay"

    def correlation_hint(self) -> str | None:
        """Best-effort correlation id for logging, before validation."""
        value = self.detail.get("correlation_id")
        return value if isinstance(value, str) else None


def _check_size(event: dict[str, Any]) -> None:
    size = len(json.dumps(event, separators=(",", ":"), default=str).encode())
    if size > MAX_EVENT_BYTES:
        raise InvalidEventError(f"event is {size} bytes; the EventBridge limit is {MAX_EVENT_BYTES} bytes")


def _detail_object(detail: Any) -> dict[str, Any]:
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except json.JSONDecodeError as exc:
            raise InvalidEventError(f"'detail' is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(detail, dict):
        raise InvalidEventError(f"'detail' must be a JSON object, got {type(detail).__name__}")
    return detail


def open_envelope(event: Any) -> Delivery:
    """Classify the invocation and extract its payload (`detail` for envelopes)."""
    if isinstance(event, str | bytes):
        try:
            event = json.loads(event)
        except json.JSONDecodeError as exc:
            raise InvalidEventError(f"event is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(event, dict):
        raise InvalidEventError(f"event must be a JSON object, got {type(event).__name__}")

    if "detail-type" not in event and "detail" not in event:
        # Nothing upstream bounds a direct invocation at 256 KB (a synchronous invoke takes up to 6 MB),
        # so check it here. An envelope came through PutEvents or the Scheduler, which refuse anything
        # larger; re-serialising every delivery to re-check would double the middleware's cost.
        _check_size(event)
        return Delivery(kind="direct", detail=event, raw=event)
    if "detail-type" not in event or "detail" not in event:
        missing = "detail-type" if "detail-type" not in event else "detail"
        raise InvalidEventError(f"EventBridge envelope without '{missing}'")

    detail_type = event["detail-type"]
    source = event.get("source")
    if not isinstance(detail_type, str) or not detail_type:
        raise InvalidEventError("'detail-type' must be a non-empty string")
    if source is not None and not isinstance(source, str):
        raise InvalidEventError("'source' must be a string")
    replay_name = event.get("replay-name")
    kind: DeliveryKind
    if source == "aws.scheduler" and detail_type == "Scheduled Event":
        kind = "scheduler"
    elif replay_name:
        kind = "replay"
    else:
        kind = "event"
    return Delivery(
        kind=kind,
        detail=_detail_object(event["detail"]),
        detail_type=detail_type,
        source=source,
        envelope_id=event.get("id") if isinstance(event.get("id"), str) else None,
        time=event.get("time") if isinstance(event.get("time"), str) else None,
        replay_name=replay_name if isinstance(replay_name, str) else None,
        raw=event,
    )
