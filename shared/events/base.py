"""The envelope every domain event carries: identity, causality, time, mode, version, hops."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from shared.events.types import Identifier, TradingMode, UtcDatetime, utc_now

# Stable namespace for event ids: the same cause always yields the same id, so a handler that
# is retried and publishes again produces an event that consumers recognise as already seen.
EVENT_ID_NAMESPACE = uuid.UUID("6c1f4f0e-8d55-4d7a-9c2b-6a1e2f6f4a11")

# The longest legitimate chain is command -> WorkflowStarted/SignalGenerated (1) ->
# RebalancePlanned (2) -> TradeExecuted (3) -> WorkflowCompleted/Failed (4) ->
# ErrorNotificationRequested (5). Anything deeper is a loop.
MAX_HOPS = 8


class Frozen(BaseModel):
    """Base for every payload model: immutable, and unknown fields are an error, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DomainEvent(Frozen):
    """Fields common to every event published on the bus."""

    detail_type: ClassVar[str]

    schema_version: Literal[1] = 1
    event_id: Identifier
    correlation_id: Identifier
    causation_id: Identifier
    occurred_at: UtcDatetime
    trading_mode: TradingMode
    hop_count: int = Field(ge=0, le=1000)

    @classmethod
    def create(cls, ctx: EventContext, *, key: str = "", occurred_at: datetime | None = None,
               **payload: Any) -> Self:
        """Build an event caused by `ctx`, with a deterministic id (same cause, same id)."""
        return cls(
            event_id=deterministic_event_id(cls.detail_type, ctx.correlation_id, ctx.causation_id, key),
            correlation_id=ctx.correlation_id,
            causation_id=ctx.causation_id,
            occurred_at=occurred_at or utc_now(),
            trading_mode=ctx.trading_mode,
            hop_count=ctx.hop_count,
            **payload,
        )


@dataclass(frozen=True)
class EventContext:
    """What a new event inherits from whatever caused it."""

    correlation_id: str
    causation_id: str
    trading_mode: TradingMode
    hop_count: int

    @classmethod
    def caused_by(cls, event: DomainEvent) -> EventContext:
        return cls(event.correlation_id, event.event_id, event.trading_mode, event.hop_count + 1)

    @classmethod
    def for_command(cls, correlation_id: str, command_id: str, trading_mode: TradingMode) -> EventContext:
        """Events published in response to a command (Scheduler, console test) start at hop 1."""
        return cls(correlation_id, command_id, trading_mode, 1)


def renamed(data: Any, old: str, new: str) -> Any:
    """`data` (a model's raw input) with a field's earlier name `old` read as `new`: archived events still parse."""
    if isinstance(data, dict) and old in data and new not in data:
        return {(new if k == old else k): v for k, v in data.items()}
    return data


def deterministic_event_id(detail_type: str, correlation_id: str, causation_id: str, key: str = "") -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{detail_type}|{correlation_id}|{causation_id}|{key}"))
