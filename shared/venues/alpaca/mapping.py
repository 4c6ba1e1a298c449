"""Alpaca JSON (as alpaca-py returns it with raw_data=True) to the broker port's types, and back.

Alpaca sends money and quantities as JSON strings ("1234.56"); a few endpoints (portfolio
history, market data) send numbers, which `requests` parses as floats. Both go through
`Decimal(str(x))`, so a string keeps every digit and a float keeps its shortest repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.broker.port import (
    Account,
    Asset,
    BrokerError,
    CalendarDay,
    Clock,
    Order,
    OrderRequest,
    Position,
    Side,
)
from shared.runtime.clock import NEW_YORK

Raw = Mapping[str, Any]


def dec(value: object, field: str = "value") -> Decimal:
    if value is None or isinstance(value, bool):
        raise BrokerError(f"broker sent no usable {field}: {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise BrokerError(f"broker sent a malformed {field}: {value!r}") from None
    if not result.is_finite():
        raise BrokerError(f"broker sent a non-finite {field}: {value!r}")
    return result


def dec_or_none(value: object, field: str = "value") -> Decimal | None:
    return None if value is None or value == "" else dec(value, field)


def parse_ts(value: object) -> datetime:
    """An Alpaca timestamp (RFC 3339, 'Z' or an offset, up to nanoseconds) as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise BrokerError(f"broker sent a malformed timestamp: {value!r}") from None
    else:
        raise BrokerError(f"broker sent a malformed timestamp: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_ts_or_none(value: object) -> datetime | None:
    return None if value is None or value == "" else parse_ts(value)


def to_account(raw: Raw, captured_at: datetime) -> Account:
    return Account(
        account_id=str(raw.get("account_number") or raw["id"]),
        status=str(raw.get("status", "")),
        equity=dec(raw.get("equity"), "equity"),
        cash=dec(raw.get("cash"), "cash"),
        buying_power=dec(raw.get("buying_power"), "buying_power"),
        trading_blocked=bool(raw.get("trading_blocked", False)),
        account_blocked=bool(raw.get("account_blocked", False)),
        captured_at=captured_at,
    )


def to_position(raw: Raw) -> Position:
    symbol = str(raw["symbol"])
    short = raw.get("side") == "short"
    qty = dec(raw.get("qty"), f"{symbol} qty")
    if short and qty > 0:
        qty = -qty
    # What is free to sell (qty less open sell orders). Missing: fail loudly rather than guess.
    available = dec(raw.get("qty_available"), f"{symbol} qty_available")
    if short and available > 0:
        available = -available
    return Position(
        symbol=symbol,
        qty=qty,
        qty_available=available,
        market_value=dec(raw.get("market_value"), f"{symbol} market_value"),
        current_price=dec(raw.get("current_price"), f"{symbol} current_price"),
        avg_entry_price=dec_or_none(raw.get("avg_entry_price"), f"{symbol} avg_entry_price"),
    )


def to_asset(raw: Raw) -> Asset:
    return Asset(
        symbol=str(raw["symbol"]),
        tradable=bool(raw.get("tradable", False)),
        fractionable=bool(raw.get("fractionable", False)),
        status=str(raw.get("status", "")),
    )


def _side(value: object) -> Side:
    if value not in ("buy", "sell"):
        raise BrokerError(f"broker sent an order with side {value!r}")
    return value


def to_order(raw: Raw) -> Order:
    return Order(
        broker_order_id=str(raw["id"]),
        client_order_id=str(raw["client_order_id"]),
        symbol=str(raw.get("symbol") or ""),
        side=_side(raw.get("side")),
        qty=dec_or_none(raw.get("qty"), "qty"),
        notional=dec_or_none(raw.get("notional"), "notional"),
        filled_qty=dec(raw.get("filled_qty") or "0", "filled_qty"),
        filled_avg_price=dec_or_none(raw.get("filled_avg_price"), "filled_avg_price"),
        status=str(raw["status"]),
        submitted_at=parse_ts_or_none(raw.get("submitted_at")),
        order_type=str(raw.get("order_type") or raw.get("type") or "market"),
        limit_price=dec_or_none(raw.get("limit_price"), "limit_price"),
    )


def to_clock(raw: Raw) -> Clock:
    return Clock(
        timestamp=parse_ts(raw["timestamp"]),
        is_open=bool(raw["is_open"]),
        next_open=parse_ts(raw["next_open"]),
        next_close=parse_ts(raw["next_close"]),
    )


def _local_time(value: object) -> time:
    text = str(value)
    try:
        return time.fromisoformat(text if len(text) > 4 else f"{text[:2]}:{text[2:]}")
    except ValueError:
        raise BrokerError(f"broker sent a malformed calendar time: {value!r}") from None


def to_calendar_day(raw: Raw) -> CalendarDay:
    """Alpaca's calendar gives New York wall-clock times ("09:30", "13:00"); the port wants UTC."""
    day = date.fromisoformat(str(raw["date"]))
    opens = datetime.combine(day, _local_time(raw["open"]), NEW_YORK).astimezone(UTC)
    closes = datetime.combine(day, _local_time(raw["close"]), NEW_YORK).astimezone(UTC)
    return CalendarDay(date=day, open=opens, close=closes)


def order_payload(request: OrderRequest) -> dict[str, str]:
    """The POST /v2/orders body: a market DAY order, quantities as exact decimal strings.

    Built by hand rather than through alpaca-py's MarketOrderRequest, whose qty/notional are
    floats; Alpaca's API takes these fields as strings.
    """
    payload = {
        "symbol": request.symbol,
        "side": request.side,
        "type": "market",
        "time_in_force": "day",
        "client_order_id": request.client_order_id,
    }
    if request.notional is not None:
        payload["notional"] = format(request.notional, "f")
    else:
        assert request.qty is not None  # OrderRequest guarantees exactly one
        payload["qty"] = format(request.qty, "f")
    return payload


@dataclass(frozen=True)
class PortfolioHistory:
    """Alpaca's GET /v2/account/portfolio/history, in Decimal (for the orchestrator's P&L report)."""

    timestamps: tuple[datetime, ...]
    equity: tuple[Decimal | None, ...]
    profit_loss: tuple[Decimal | None, ...]
    profit_loss_pct: tuple[Decimal | None, ...]
    base_value: Decimal | None
    timeframe: str


def to_portfolio_history(raw: Raw) -> PortfolioHistory:
    def column(name: str) -> tuple[Decimal | None, ...]:
        return tuple(dec_or_none(v, name) for v in raw.get(name) or ())

    return PortfolioHistory(
        timestamps=tuple(datetime.fromtimestamp(int(t), UTC) for t in raw.get("timestamp") or ()),
        equity=column("equity"),
        profit_loss=column("profit_loss"),
        profit_loss_pct=column("profit_loss_pct"),
        base_value=dec_or_none(raw.get("base_value"), "base_value"),
        timeframe=str(raw.get("timeframe", "")),
    )
