"""ErrorNotificationRequested: tell the user something went wrong (delivered once by the notifier)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.events.base import DomainEvent
from shared.events.types import MAX_DETAILS, Identifier, ShortText, Text, TradingMode, UtcDatetime


class ErrorNotificationRequested(DomainEvent):
    """Also accepts the original's hand-written shape (`error_type`, `error_message`,
    `correlation_id` only): the envelope supplies the event id and time, see `envelope.py`."""

    detail_type: ClassVar[str] = "ErrorNotificationRequested"
    accepts_envelope_defaults: ClassVar[bool] = True

    causation_id: Identifier | None = None  # type: ignore[assignment]
    trading_mode: TradingMode | None = None  # type: ignore[assignment]
    hop_count: int = Field(default=0, ge=0, le=1000)
    occurred_at: UtcDatetime

    error_type: ShortText
    error_message: Text
    step: ShortText | None = None
    severity: Literal["warning", "error", "critical"] = "error"
    details: dict[ShortText, ShortText] = Field(default_factory=dict, max_length=MAX_DETAILS)
