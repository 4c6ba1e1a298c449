"""WorkflowCompleted: the day ended well; the summary a user reads first."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import model_validator

from shared.events.base import DomainEvent, Frozen, renamed
from shared.events.types import Count, Identifier, IsoDate, Money, Seconds, UtcDatetime


class WorkflowSummary(Frozen):
    orders_at_broker: Count
    """The plan's orders the broker holds: placed by the run that ended the workflow, or adopted by it."""
    orders_placed_now: Count | None = None
    """Of those, the ones that run's POSTs created (None only in events written before the split)."""
    orders_adopted: Count | None = None
    """...and the ones it found already there (an earlier, interrupted run of the workflow placed them)."""
    orders_filled: Count
    orders_failed: Count
    turnover: Money
    equity_before: Money | None = None
    equity_after: Money | None = None
    step_seconds: dict[str, Seconds]
    """Seconds from the previous step to this one: signals, planned, executed, completed."""

    @model_validator(mode="before")
    @classmethod
    def _earlier_name(cls, data: Any) -> Any:
        """Events archived before the split said `orders_placed` for what the broker held."""
        return renamed(data, "orders_placed", "orders_at_broker")


class WorkflowCompleted(DomainEvent):
    detail_type: ClassVar[str] = "WorkflowCompleted"

    trading_date: IsoDate | None = None
    plan_id: Identifier | None = None
    summary: WorkflowSummary
    started_at: UtcDatetime | None = None
    completed_at: UtcDatetime
