"""WorkflowFailed: a step refused or broke; the workflow ends here with the reason."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.events.base import DomainEvent
from shared.events.types import MAX_DETAILS, ShortText, Text

Step = Literal["strategy", "portfolio", "execution", "orchestrator"]


class WorkflowFailed(DomainEvent):
    detail_type: ClassVar[str] = "WorkflowFailed"

    step: Step
    reason: Text
    error_type: ShortText
    failed_event_id: ShortText | None = None
    details: dict[ShortText, ShortText] = Field(default_factory=dict, max_length=MAX_DETAILS)
