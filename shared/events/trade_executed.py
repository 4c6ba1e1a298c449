"""TradeExecuted: what the broker did with each planned order, and whether the plan succeeded."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from shared.events.base import DomainEvent, Frozen, renamed
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

OrderOutcome = Literal["filled", "partially_filled", "canceled", "rejected", "failed", "skipped", "open", "unknown"]
"""`failed`: known not to be at the broker. `unknown`: the broker says the order exists (or may) but no look-up
returned it before the deadline: no broker id, and the orchestrator settles it from the broker's book."""
ExecutionStatus = Literal["executed", "partial", "failed", "rejected", "market_closed", "halted", "empty",
                          "unsettled"]
"""`unsettled`: some order's outcome is `unknown`; the workflow stays open until the orchestrator settles it."""
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
    adopted: bool = False
    """The order was already at the broker when this run looked it up (an earlier run of the workflow, or a
    twin's plan, placed it): counted in `orders_adopted`, not `orders_placed_now`."""


class ExecutionTotals(Frozen):
    """`orders_at_broker` = `orders_placed_now` + `orders_adopted`: the planned orders the broker holds
    (each with its broker id), those this run's POSTs created, and those it found there (placed by an
    earlier run of the workflow, or a twin's plan). `orders_unknown`: orders whose outcome is unknown
    (not counted at the broker until settled)."""

    orders_planned: Count
    orders_at_broker: Count
    orders_placed_now: Count | None = None
    """None only in events written before this field existed."""
    orders_adopted: Count | None = None
    orders_unknown: Count = 0
    orders_filled: Count
    orders_partially_filled: Count
    orders_failed: Count
    orders_skipped: Count
    buy_value: Money
    sell_value: Money
    turnover: Money

    @model_validator(mode="before")
    @classmethod
    def _earlier_name(cls, data: Any) -> Any:
        """Events archived before the split said `orders_placed` for what the broker held."""
        return renamed(data, "orders_placed", "orders_at_broker")


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
