"""TradeExecuted: what the broker did with each planned order, and whether the plan succeeded."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.events.base import DomainEvent, Frozen
from shared.events.types import (
    BrokerId,
    Count,
    Identifier,
    Money,
    Notional,
    OrderQuantity,
    Price,
    Quantity,
    ShortText,
    Side,
    Symbol,
    Text,
    UtcDatetime,
)
from shared.limits.model import LimitBinding

OrderOutcome = Literal["filled", "partially_filled", "canceled", "rejected", "failed", "skipped", "open"]
ExecutionStatus = Literal["executed", "partial", "failed", "rejected", "market_closed", "halted", "empty"]
KillSwitchState = Literal["active", "reducing", "halted"]


class OrderResult(Frozen):
    client_order_id: BrokerId
    broker_order_id: BrokerId | None = None
    symbol: Symbol
    side: Side
    requested_qty: OrderQuantity | None = None
    requested_notional: Notional | None = None
    filled_qty: Quantity
    avg_fill_price: Price | None = None
    """From the broker's fills; None when nothing filled (never invented)."""
    status: OrderOutcome
    error: ShortText | None = None


class ExecutionTotals(Frozen):
    orders_planned: Count
    orders_placed: Count
    orders_filled: Count
    orders_partially_filled: Count
    orders_failed: Count
    orders_skipped: Count
    buy_value: Money
    sell_value: Money
    turnover: Money


class AccountSummary(Frozen):
    equity: Money
    cash: Money
    buying_power: Money


class TradeExecuted(DomainEvent):
    detail_type: ClassVar[str] = "TradeExecuted"

    plan_id: Identifier
    success: bool
    status: ExecutionStatus
    reason: Text | None = None
    kill_switch: KillSwitchState
    orders: tuple[OrderResult, ...]
    totals: ExecutionTotals
    account_before: AccountSummary | None = None
    account_after: AccountSummary | None = None
    started_at: UtcDatetime
    finished_at: UtcDatetime
    limit_bindings: tuple[LimitBinding, ...] = Field(default=(), max_length=50)
    """Every limit that bound this plan: those that refused it (nothing placed) or clipped it (the plan's)."""
