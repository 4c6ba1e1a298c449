"""The simulated broker's ledger: pure functions over its account document (cash, positions, orders).

All amounts are stored as decimal strings. Buys pay and sells receive cash rounded to the cent
against the trader; fractional quantities have 9 places; prices 4.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from typing import Any, cast

from shared.broker.port import TERMINAL_STATES, Order, OrderRejected, OrderRequest, Side

Doc = dict[str, Any]
CENT = Decimal("0.01")
PRICE_STEP = Decimal("0.0001")
FRACTION_STEP = Decimal("0.000000001")


def text_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def notional_of(request: OrderRequest) -> Decimal:
    assert request.notional is not None
    return request.notional


def floor_qty(value: Decimal, quantum: Decimal) -> Decimal:
    return value.quantize(quantum, ROUND_DOWN) if quantum < 1 else value.to_integral_value(ROUND_DOWN)


def remaining(order: Doc) -> Decimal:
    return Decimal(order["total_qty"]) - Decimal(order["filled_qty"])


def open_orders(doc: Doc, side: str, symbol: str | None = None) -> list[Doc]:
    return [
        o
        for o in doc["orders"].values()
        if o["side"] == side and o["status"] not in TERMINAL_STATES and symbol in (None, o["symbol"])
    ]


def buying_power(doc: Doc) -> Decimal:
    reserved = sum((remaining(o) * Decimal(o["est_price"]) for o in open_orders(doc, "buy")), Decimal(0))
    return (Decimal(doc["cash"]) - reserved).quantize(CENT, ROUND_DOWN)


def check_funds(doc: Doc, request: OrderRequest, total: Decimal, price: Decimal) -> None:
    if request.side == "buy":
        cost = request.notional if request.notional is not None else total * price
        available = buying_power(doc)
        if cost > available:
            raise OrderRejected(f"insufficient buying power (cost {cost:.2f}, buying power {available})")
        return
    held = Decimal(doc["positions"].get(request.symbol, {}).get("qty", "0"))
    pending = sum((remaining(o) for o in open_orders(doc, "sell", request.symbol)), Decimal(0))
    if total > held - pending:
        raise OrderRejected(
            f"insufficient qty available for order (requested: {total}, available: {held - pending})"
        )


def advance(doc: Doc, order: Doc, price: Decimal) -> None:
    plan = order["plan"]
    if plan == "reject_later":
        order["status"] = "rejected"
    elif plan == "fill":
        fill(doc, order, remaining(order), price)
    elif plan == "partial" and order["step"] < len(order["steps"]):
        total = Decimal(order["total_qty"])
        target = floor_qty(total * Decimal(order["steps"][order["step"]]), Decimal(order["quantum"]))
        order["step"] += 1
        fill(doc, order, target - Decimal(order["filled_qty"]), price)


def fill(doc: Doc, order: Doc, qty: Decimal, price: Decimal) -> None:
    if qty <= 0:
        return
    symbol, filled = order["symbol"], Decimal(order["filled_qty"])
    held = doc["positions"].setdefault(symbol, {"qty": "0", "cost": "0", "last_price": str(price)})
    held_qty, cost = Decimal(held["qty"]), Decimal(held["cost"])
    if order["side"] == "buy":
        amount = (qty * price).quantize(CENT, ROUND_UP)
        doc["cash"] = str(Decimal(doc["cash"]) - amount)
        held_qty, cost = held_qty + qty, cost + amount
    else:
        doc["cash"] = str(Decimal(doc["cash"]) + (qty * price).quantize(CENT, ROUND_DOWN))
        cost = (cost * (held_qty - qty) / held_qty).quantize(CENT) if held_qty else Decimal(0)
        held_qty -= qty
    if held_qty == 0:
        del doc["positions"][symbol]
    else:
        held.update(qty=str(held_qty), cost=str(cost), last_price=str(price))
    previous = Decimal(order["filled_avg_price"] or "0")
    new_filled = filled + qty
    order["filled_avg_price"] = str(
        ((previous * filled + price * qty) / new_filled).quantize(PRICE_STEP, ROUND_HALF_EVEN)
    )
    order["filled_qty"] = str(new_filled)
    order["status"] = "filled" if new_filled >= Decimal(order["total_qty"]) else "partially_filled"


def to_order(order: Doc) -> Order:
    return Order(
        broker_order_id=order["id"],
        client_order_id=order["client_order_id"],
        symbol=order["symbol"],
        side=cast(Side, order["side"]),
        qty=None if order["qty"] is None else Decimal(order["qty"]),
        notional=None if order["notional"] is None else Decimal(order["notional"]),
        filled_qty=Decimal(order["filled_qty"]),
        filled_avg_price=None if order["filled_avg_price"] is None else Decimal(order["filled_avg_price"]),
        status=order["status"],
        submitted_at=datetime.fromisoformat(order["submitted_at"]),
    )
