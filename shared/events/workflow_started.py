"""WorkflowStarted: a trading day has begun (published by the strategy function)."""

from __future__ import annotations

from typing import ClassVar, Literal

from shared.events.base import DomainEvent, Frozen
from shared.events.types import IsoDate, UtcDatetime, Weight


class StrategyRef(Frozen):
    name: str
    file: str
    allocation: Weight


class WorkflowStarted(DomainEvent):
    detail_type: ClassVar[str] = "WorkflowStarted"

    trigger: Literal["schedule", "manual", "replay"]
    mode: Literal["trade"] = "trade"
    trading_date: IsoDate
    as_of: UtcDatetime
    stage: str
    strategies: tuple[StrategyRef, ...]
