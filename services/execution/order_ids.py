"""The client order id recipe: one id per (plan, symbol, side, leg), the same on every run.

    alch-{plan_id}-{symbol}-{side}-{leg}        e.g. alch-plan-7f3a9c2e1b4d5a60-TQQQ-buy-0

`leg` counts the plan's orders of the same symbol and side, in plan order (normally 0). The id
is what makes an order idempotent at the broker: it is looked up before every submission and
Alpaca refuses a second order with the same id (HTTP 422), so a plan run twice, or resumed
after a crash, can never place an order twice.

Alpaca accepts at most 128 characters. We keep to a conservative charset (letters, digits,
`.`, `_`, `-`). A plan id that would make the id too long, or that holds any other character
(`:` is legal in our identifiers), is replaced by `h` + the first 32 hex digits of its SHA-256:
still deterministic, and two plan ids never share an id unless their digests collide.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from shared.broker.port import Side

PREFIX = "alch"
MAX_LENGTH = 128
_SAFE = re.compile(r"^[A-Za-z0-9._\-]+$")


class ClientOrderIdError(ValueError):
    """A client order id cannot be built from these parts."""


def _plan_part(plan_id: str, tail: str) -> str:
    candidate = f"{PREFIX}-{plan_id}-{tail}"
    if _SAFE.fullmatch(plan_id) and len(candidate) <= MAX_LENGTH:
        return plan_id
    return "h" + hashlib.sha256(plan_id.encode()).hexdigest()[:32]


def client_order_id(plan_id: str, symbol: str, side: Side, leg: int) -> str:
    """The deterministic client order id of one planned order."""
    if not plan_id:
        raise ClientOrderIdError("plan_id is empty")
    if side not in ("buy", "sell"):
        raise ClientOrderIdError(f"side must be buy or sell, got {side!r}")
    if leg < 0:
        raise ClientOrderIdError(f"leg must not be negative, got {leg}")
    if not _SAFE.fullmatch(symbol):
        raise ClientOrderIdError(f"symbol {symbol!r} has characters Alpaca may refuse in a client order id")
    tail = f"{symbol}-{side}-{leg}"
    coid = f"{PREFIX}-{_plan_part(plan_id, tail)}-{tail}"
    validate(coid)
    return coid


def validate(coid: str) -> str:
    if not 1 <= len(coid) <= MAX_LENGTH:
        raise ClientOrderIdError(f"client order id {coid!r} has {len(coid)} characters (1-{MAX_LENGTH})")
    if not _SAFE.fullmatch(coid):
        raise ClientOrderIdError(f"client order id {coid!r} has characters outside [A-Za-z0-9._-]")
    return coid


def plan_order_ids(plan_id: str, orders: Iterable[tuple[str, Side]]) -> list[str]:
    """The id of each (symbol, side) in plan order; repeats of a symbol and side get legs 1, 2, ..."""
    seen: dict[tuple[str, Side], int] = {}
    ids = []
    for symbol, side in orders:
        leg = seen.get((symbol, side), 0)
        seen[(symbol, side)] = leg + 1
        ids.append(client_order_id(plan_id, symbol, side, leg))
    return ids
