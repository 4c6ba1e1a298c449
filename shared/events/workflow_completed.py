"""WorkflowCompleted: the day ended well; the summary a user reads first."""

from __future__ import annotations

from typing import ClassVar

from shared.events.base import DomainEvent, Frozen
from shared.events.types import Count, Identifier, IsoDate, Money, Seconds, UtcDatetime


class WorkflowSummary(Frozen):
    orders_placed: Count
    orders_filled: Count
    orders_failed: Count
    turnover: Money
    equity_before: Money | None = None
    equity_after: Money | None = None
    step_seconds: dict[str, Seconds]
    """Seconds from the previous step to this one: signals, planned, executed, completed."""


class WorkflowCompleted(DomainEvent):
    detail_type: ClassVar[str] = "WorkflowCompleted"

    trading_date: IsoDate | None = None
    plan_id: Identifier | None = None
    summary: WorkflowSummary
    started_at: UtcDatetime | None = None
    completed_at: UtcDatetime
