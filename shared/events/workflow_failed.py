"""WorkflowFailed: a step refused or broke; the workflow ends here with the reason."""

from __future__ import annotations

from typing import ClassVar, Literal

from shared.events.base import DomainEvent

Step = Literal["strategy", "portfolio", "execution", "orchestrator"]


class WorkflowFailed(DomainEvent):
    detail_type: ClassVar[str] = "WorkflowFailed"

    step: Step
    reason: str
    error_type: str
    failed_event_id: str | None = None
    details: dict[str, str] = {}
