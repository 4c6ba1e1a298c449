"""Broker port: what portfolio (reads) and execution (reads and orders) need from a broker.

All money and quantities are Decimal. Adapters translate their wire formats at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol

Side = Literal["buy", "sell"]
OrderState = Literal[
    "new", "accepted", "pending_new", "partially_filled", "filled", "done_for_day",
    "canceled", "expired", "replaced", "pending_cancel", "pending_replace", "rejected",
    "suspended", "stopped", "calculated", "held",
]
TERMINAL_STATES: frozenset[str] = frozenset({"filled", "canceled", "expired", "rejected", "replaced", "done_for_day"})
MAX_ORDER_QTY = Decimal("1000000000")
QTY_PLACES = 9
"""Alpaca's fractional step: 1e-9 of a share."""
MAX_ORDER_NOTIONAL = Decimal("1000000000")
NOTIONAL_PLACES = 2


def places(value: Decimal) -> int:
    """Decimal places of `value`, trailing zeros not counted."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0 or not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing)


def amount_problem(qty: Decimal | None, notional: Decimal | None) -> str | None:
    """Why no broker could take this amount (non-finite, too precise, absurdly large), or None."""
    for name, value, most, largest in (("qty", qty, QTY_PLACES, MAX_ORDER_QTY),
                                       ("notional", notional, NOTIONAL_PLACES, MAX_ORDER_NOTIONAL)):
        if value is None:
            continue
        if not value.is_finite():
            return f"{name} {value} is not a number"
        text = str(value) if len(str(value)) <= 30 else f"{value:.6E}"
        if abs(value) > largest:
            return f"{name} {text} is above the maximum {largest:,}"
        if places(value) > most:
            return f"{name} {text} has more than {most} decimal places"
    return None


@dataclass(frozen=True)
class Account:
    account_id: str
    status: str
    """Alpaca's account status, e.g. ACTIVE."""
    equity: Decimal
    cash: Decimal
    buying_power: Decimal
    trading_blocked: bool
    account_blocked: bool
    captured_at: datetime


@dataclass(frozen=True)
class Position:
    symbol: str
    qty: Decimal
    market_value: Decimal
    current_price: Decimal
    avg_entry_price: Decimal | None = None
    qty_available: Decimal = None  # type: ignore[assignment]  # None -> all of qty (see __post_init__)
    """Shares free to sell now: `qty` less what open sell orders already hold (Alpaca's
    `qty_available`). A sell above it would be refused by the broker or, on a margin account with
    shorting, open a short. Constructors that omit it get `qty` (nothing held for orders)."""

    def __post_init__(self) -> None:
        if self.qty_available is None:
            object.__setattr__(self, "qty_available", self.qty)


@dataclass(frozen=True)
class Asset:
    symbol: str
    tradable: bool
    fractionable: bool
    status: str = "active"


@dataclass(frozen=True)
class OrderRequest:
    """A market DAY order; exactly one of qty / notional."""

    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal | None = None
    notional: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.qty is None) == (self.notional is None):
            raise ValueError("exactly one of qty or notional")
        problem = amount_problem(self.qty, self.notional)
        if problem is not None:
            raise ValueError(problem)
        if len(self.client_order_id) > 128:
            raise ValueError("client_order_id longer than 128 characters")


@dataclass(frozen=True)
class Order:
    broker_order_id: str
    client_order_id: str
    symbol: str
    side: Side
    qty: Decimal | None
    notional: Decimal | None
    filled_qty: Decimal
    """Cumulative, as the broker reports it."""
    filled_avg_price: Decimal | None
    status: str
    submitted_at: datetime | None = None
    order_type: str = "market"
    limit_price: Decimal | None = None
    """Set for limit (and stop-limit) orders: what an open buy can cost at most per share."""

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATES

    def open_value(self, last_price: Decimal | None) -> Decimal | None:
        """What the unfilled rest of this order may still spend or raise: its notional less what
        filled, else the unfilled qty at the limit price (market orders: at `last_price`); None
        when neither is known."""
        if self.notional is not None:
            spent = self.filled_qty * (self.filled_avg_price or Decimal(0))
            return max(self.notional - spent, Decimal(0))
        if self.qty is None:
            return None
        price = self.limit_price if self.limit_price is not None else last_price
        if price is None:
            return None
        return max(self.qty - self.filled_qty, Decimal(0)) * price


@dataclass(frozen=True)
class Clock:
    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


@dataclass(frozen=True)
class CalendarDay:
    date: date
    open: datetime
    close: datetime


class BrokerError(Exception):
    """Base of every broker failure."""


class OrderRejected(BrokerError):
    """The broker refused the order (definitive: it does not exist)."""


class DuplicateClientOrderId(BrokerError):
    """An order with this client_order_id already exists (Alpaca: HTTP 422). Look it up."""


class BrokerUnavailable(BrokerError):
    """Timeout, connection error, 5xx or exhausted 429s: the outcome of a write is unknown.

    `retry_after`: seconds the broker asked us to wait before trying again (Retry-After, or the
    rate-limit reset header of a 429), when it said so."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(BrokerUnavailable):
    """The broker refused the request for its rate limit (HTTP 429) before doing anything: for an order
    POST, no order was created. A refusal, never an accepted order: resubmit the same request (same
    client order id) after `retry_after`, no look-up needed."""


class OrderNotFound(BrokerError):
    """No order with that id."""


class CredentialsError(RuntimeError):
    """A venue's keys are missing, unreadable, malformed, or lack what the trading mode needs (the stage's
    secret in AWS, the environment locally). Any venue's keys loader raises it: callers never name the venue."""


class BrokerReader(Protocol):
    """The read side (the portfolio function uses only this)."""

    def get_account(self) -> Account: ...
    def get_positions(self) -> list[Position]: ...
    def get_assets(self, symbols: Sequence[str]) -> dict[str, Asset]:
        """Known symbols only: a symbol missing from the result is unknown to the broker."""
        ...
    def get_latest_prices(self, symbols: Sequence[str]) -> dict[str, Decimal]: ...
    def get_clock(self) -> Clock: ...


class Broker(BrokerReader, Protocol):
    """The full port (the execution function)."""

    def submit_order(self, request: OrderRequest) -> Order:
        """Raises DuplicateClientOrderId, OrderRejected or BrokerUnavailable; never retries a POST."""
        ...
    def get_order_by_client_id(self, client_order_id: str) -> Order | None: ...
    def get_order(self, broker_order_id: str) -> Order: ...
    def cancel_order(self, broker_order_id: str) -> None: ...
    def list_open_orders(self) -> list[Order]:
        """Every order not yet final (ours and any placed elsewhere), oldest first."""
        ...
