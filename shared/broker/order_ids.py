"""The client order id recipe: one id per (workflow, account, symbol, side, leg), the same on every run.

    alch-{YYYYMMDD}-{mode}-{workflow digest}-{symbol}-{side}-{leg}
    e.g. alch-20261125-paper-5c1e0b7a93d2f4e6-TQQQ-buy-0

The id is what makes an order idempotent at the broker: it is looked up before every submission
and Alpaca refuses a second order with the same id (HTTP 422), so a plan run twice, or resumed
after a crash, can never place an order twice.

Why the workflow and not the plan: the portfolio derives a plan id from a timestamped account
snapshot, so two runs of one day that do not share a state store (two state dirs, an expired guard
record, a dev and a prod stack on one paper account) make two different plans for the same
workflow. With ids from the plan hash both plans' orders would be accepted. With ids from the
workflow the second plan's legs find the first plan's orders under their ids and adopt them: the
broker itself makes a second plan for one workflow impossible to fill twice. A new, deliberate run
of the day is a new workflow (an explicit `correlation_id`, e.g. `alchemiser run --retry`) and so
gets new ids.

The workflow digest is the first 16 hex digits of SHA-256 over the trading date, the trading mode,
the broker's account id and the correlation id, each length-prefixed, so no two different tuples
share an input (no separator games). The date and the mode are also written in clear for people.
`leg` counts the workflow's orders of the same symbol and side in plan order (normally 0).

Every part is free of `-` (the separator), so an id splits back unambiguously: a symbol outside
`[A-Za-z0-9.]{1,24}` is written as `x` + 16 hex digits of its SHA-256. The longest id is well under
Alpaca's 128 characters; `validate` re-checks length and charset.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from shared.broker.port import Side

PREFIX = "alch"
MAX_LENGTH = 128
DIGEST_HEX = 16
_SAFE = re.compile(r"^[A-Za-z0-9._\-]+$")
_SYMBOL = re.compile(r"^[A-Za-z0-9.]{1,24}$")
_MODE = re.compile(r"^[a-z]{1,10}$")


class ClientOrderIdError(ValueError):
    """A client order id cannot be built from these parts."""


@dataclass(frozen=True)
class WorkflowKey:
    """What identifies the workflow's orders at the broker."""

    trading_date: date
    trading_mode: str
    account_id: str
    correlation_id: str

    def digest(self) -> str:
        parts = (self.trading_date.isoformat(), self.trading_mode, self.account_id, self.correlation_id)
        if not all(parts[2:]):
            raise ClientOrderIdError("the account id and the correlation id must not be empty")
        material = "".join(f"{len(p)}:{p};" for p in parts).encode()
        return hashlib.sha256(material).hexdigest()[:DIGEST_HEX]


def _symbol_part(symbol: str) -> str:
    if _SYMBOL.fullmatch(symbol):
        return symbol
    if not symbol:
        raise ClientOrderIdError("symbol is empty")
    return "x" + hashlib.sha256(symbol.encode()).hexdigest()[:DIGEST_HEX]


def client_order_id(workflow: WorkflowKey, symbol: str, side: Side, leg: int) -> str:
    """The deterministic client order id of one planned order of `workflow`."""
    if side not in ("buy", "sell"):
        raise ClientOrderIdError(f"side must be buy or sell, got {side!r}")
    if leg < 0:
        raise ClientOrderIdError(f"leg must not be negative, got {leg}")
    if not _MODE.fullmatch(workflow.trading_mode):
        raise ClientOrderIdError(f"trading mode {workflow.trading_mode!r} is not a plain lower-case word")
    coid = (f"{PREFIX}-{workflow.trading_date:%Y%m%d}-{workflow.trading_mode}-{workflow.digest()}-"
            f"{_symbol_part(symbol)}-{side}-{leg}")
    return validate(coid)


def validate(coid: str) -> str:
    if not 1 <= len(coid) <= MAX_LENGTH:
        raise ClientOrderIdError(f"client order id {coid!r} has {len(coid)} characters (1-{MAX_LENGTH})")
    if not _SAFE.fullmatch(coid):
        raise ClientOrderIdError(f"client order id {coid!r} has characters outside [A-Za-z0-9._-]")
    return coid


def plan_order_ids(workflow: WorkflowKey, orders: Iterable[tuple[str, Side]]) -> list[str]:
    """The id of each (symbol, side) in plan order; repeats of a symbol and side get legs 1, 2, ..."""
    seen: dict[tuple[str, Side], int] = {}
    ids = []
    for symbol, side in orders:
        leg = seen.get((symbol, side), 0)
        seen[(symbol, side)] = leg + 1
        ids.append(client_order_id(workflow, symbol, side, leg))
    return ids
