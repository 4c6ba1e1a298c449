"""RebalancePlanned: the orders that bring the account to the target, ready to execute as is."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Self

from pydantic import Field, model_validator

from shared.events.base import DomainEvent, Frozen
from shared.events.types import (
    Identifier,
    IsoDate,
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
    Weight,
)
from shared.limits.model import LimitBinding, Limits


class PositionSnapshot(Frozen):
    symbol: Symbol
    qty: Quantity
    market_value: Money
    price: Price


class AccountSnapshot(Frozen):
    """The account as the plan saw it."""

    status: ShortText
    equity: Money
    cash: Money
    buying_power: Money
    positions: tuple[PositionSnapshot, ...]
    captured_at: UtcDatetime


class PlannedOrder(Frozen):
    """One order. Exactly one of `qty` (shares) or `notional` (dollars) is set."""

    symbol: Symbol
    side: Side
    qty: OrderQuantity | None = None
    notional: Notional | None = None
    reference_price: Price
    estimated_value: Money
    attribution: dict[str, Money]
    """Strategy name -> signed dollars it wants traded in this symbol (buys positive)."""
    reason: ShortText
    full_exit: bool = False
    fractionable: bool = True

    @model_validator(mode="after")
    def _qty_xor_notional(self) -> Self:
        if (self.qty is None) == (self.notional is None):
            raise ValueError("exactly one of qty or notional must be set")
        amount = self.qty if self.qty is not None else self.notional
        if amount is not None and amount <= 0:
            raise ValueError("order amount must be positive")
        if self.notional is not None and self.side == "sell":
            raise ValueError("sells are by quantity (notional sells can leave dust or oversell)")
        return self


class SkippedTrade(Frozen):
    symbol: Symbol
    side: Side
    estimated_value: Money
    reason: ShortText


class BuyScaling(Frozen):
    factor: Decimal = Field(allow_inf_nan=False, ge=0, le=1)
    reason: ShortText


class PlanParameters(Frozen):
    cash_reserve: Weight
    min_trade_value: Money
    drift_band: Weight


class RebalancePlanned(DomainEvent):
    detail_type: ClassVar[str] = "RebalancePlanned"

    plan_id: Identifier
    signal_event_id: Identifier
    trading_date: IsoDate
    account: AccountSnapshot
    target_weights: dict[Symbol, Weight]
    current_weights: dict[Symbol, Weight]
    orders: tuple[PlannedOrder, ...]
    skipped: tuple[SkippedTrade, ...] = ()
    scaling: BuyScaling | None = None
    parameters: PlanParameters
    summary: Text
    limits: Limits | None = None
    """The workflow's limits (the signal's), for the execution step; None: the defaults."""
    limit_bindings: tuple[LimitBinding, ...] = Field(default=(), max_length=50)
    """Limits that shaped the plan (a position clipped to max_position_weight)."""
