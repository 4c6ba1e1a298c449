"""The system's own record of the positions it manages on a broker account, reconciled with the broker's.

Why: the account is the user's. Shares they bought by hand (50 AAPL, 20 MSFT) are not the system's to
sell. By default the plan manages only what this record says the system holds and the symbols its
strategies target today (services/portfolio/managed.py decides it; `manage_whole_account` manages
everything). The record is one document per broker account, written by the portfolio function alone:

- `held`: symbol -> shares the system manages, as of its last plan;
- `pending`: client order id -> (symbol, side, trading date, shares already counted) of every order
  the last plans asked for. Execution names its orders by the same recipe (order_ids.py), so the
  broker's own book says what each became.

Reconciling (`reconcile`, before every plan) folds each pending order the broker has finished into
`held` (its filled shares, bought or sold), keeps the ones still open, and forgets the ones the broker
never saw once their trading day is over (a market order is never placed after its day: execution
refuses a stale plan). Then every symbol is capped at what the broker holds: a user who sold shares
by hand takes them out of the record, so the system never sells more than the broker holds, and
never sells what the record says but the broker does not have. Nothing here trusts the execution
function's report: the broker's book is the source.

The record after a plan (`after_plan`) is what the plan managed (a targeted symbol's whole position
included: managed, and the plan says so) plus the plan's orders as pending. Adapters: the embedded
store locally, the IdempotencyTable in DynamoDB (item `portfolio-positions#<account id>`, written with
an optimistic version check; no expiry: the record lives as long as the account trades).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from shared.broker.order_ids import WorkflowKey, plan_order_ids
from shared.broker.port import Order, Side

KEY_PREFIX = "portfolio-positions#"
MAX_ATTEMPTS = 8
ZERO = Decimal(0)


@dataclass(frozen=True)
class Pending:
    """One order a plan asked for, not yet final at the broker when last looked at."""

    symbol: str
    side: Side
    trading_date: date
    counted: Decimal = ZERO
    """Shares of it already in `held` (filled while it was still open at the last reconcile)."""


@dataclass(frozen=True)
class Record:
    held: Mapping[str, Decimal] = field(default_factory=dict)
    pending: Mapping[str, Pending] = field(default_factory=dict)


class OrderLookUp(Protocol):
    def get_order_by_client_id(self, client_order_id: str) -> Order | None: ...


def record_key(account_id: str) -> str:
    return KEY_PREFIX + account_id


# ---- the pure rules -----------------------------------------------------------------------------

def _signed(order: Order, counted: Decimal) -> Decimal:
    shares = order.filled_qty - counted
    return shares if order.side == "buy" else -shares


def reconcile(record: Record, broker_qty: Mapping[str, Decimal], look_up: OrderLookUp,
              today: date) -> Record:
    """The record with every pending order settled from the broker's book, capped at what the broker holds.

    An order still open stays pending with what it filled so far counted; one the broker does not know
    is dropped once its trading day is over (before then a resumed run may still place it)."""
    held = dict(record.held)
    pending: dict[str, Pending] = {}
    for coid, entry in record.pending.items():
        order = look_up.get_order_by_client_id(coid)
        if order is None:
            if entry.trading_date >= today:
                pending[coid] = entry
            continue
        held[entry.symbol] = held.get(entry.symbol, ZERO) + _signed(order, entry.counted)
        if not order.is_terminal:
            pending[coid] = replace(entry, counted=order.filled_qty)
    return Record(capped(held, broker_qty), pending)


def capped(held: Mapping[str, Decimal], broker_qty: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Each symbol at most what the broker holds (and never below zero); symbols at zero dropped."""
    out = {s: min(q, broker_qty.get(s, ZERO)) for s, q in held.items()}
    return {s: q for s, q in sorted(out.items()) if q > 0}


def after_plan(record: Record, managed: Mapping[str, Decimal], workflow: WorkflowKey,
               orders: Iterable[tuple[str, Side]]) -> Record:
    """The record once a plan is published: what it managed, and its orders pending under their client ids."""
    orders = list(orders)
    ids = plan_order_ids(workflow, orders)
    pending = dict(record.pending)
    for coid, (symbol, side) in zip(ids, orders, strict=True):
        pending.setdefault(coid, Pending(symbol, side, workflow.trading_date))
    return Record({s: q for s, q in sorted(managed.items()) if q > 0}, pending)


def to_json(record: Record) -> dict[str, Any]:
    return {"held": {s: str(q) for s, q in record.held.items()},
            "pending": {c: {"symbol": p.symbol, "side": p.side, "trading_date": p.trading_date.isoformat(),
                            "counted": str(p.counted)} for c, p in record.pending.items()}}


def from_json(document: Mapping[str, Any] | None) -> Record | None:
    if not document:
        return None
    return Record({s: Decimal(q) for s, q in document.get("held", {}).items()},
                  {c: Pending(p["symbol"], p["side"], date.fromisoformat(p["trading_date"]), Decimal(p["counted"]))
                   for c, p in document.get("pending", {}).items()})


# ---- adapters -------------------------------------------------------------------------------------

class PositionsRecord(Protocol):
    def read(self, account_id: str) -> Record | None:
        """The account's record; None when the system has never planned on it."""
        ...

    def update(self, account_id: str, change: Callable[[Record | None], Record]) -> Record:
        """Atomically replace the record with `change(current)` (retried on a concurrent write)."""
        ...


class SqlitePositionsRecord:
    def __init__(self, path: Path) -> None:
        from shared.runtime.sqlite_store import SqliteTable  # local only: AWS never loads sqlite3

        self._table = SqliteTable(path, "portfolio_positions")

    def read(self, account_id: str) -> Record | None:
        return from_json(self._table.get(record_key(account_id)))

    def update(self, account_id: str, change: Callable[[Record | None], Record]) -> Record:
        written: list[Record] = []

        def step(old: dict[str, Any] | None) -> dict[str, Any]:
            written.append(change(from_json(old)))
            return to_json(written[-1])

        self._table.transact(record_key(account_id), step)
        return written[-1]


class DynamoDBPositionsRecord:
    def __init__(self, table_name: str, *, client: Any = None) -> None:
        if client is None:
            from shared.runtime import aws_clients

            client = aws_clients.client("dynamodb")
        self.table_name = table_name
        self._client = client

    def _get(self, account_id: str) -> tuple[Record | None, int]:
        item = self._client.get_item(TableName=self.table_name, Key={"id": {"S": record_key(account_id)}},
                                     ConsistentRead=True).get("Item")
        if not item:
            return None, 0
        return from_json(json.loads(item["record"]["S"])), int(item["version"]["N"])

    def read(self, account_id: str) -> Record | None:
        return self._get(account_id)[0]

    def update(self, account_id: str, change: Callable[[Record | None], Record]) -> Record:
        for _ in range(MAX_ATTEMPTS):
            old, version = self._get(account_id)
            new = change(old)
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item={"id": {"S": record_key(account_id)},
                          "record": {"S": json.dumps(to_json(new), sort_keys=True)},
                          "version": {"N": str(version + 1)}},
                    ConditionExpression="attribute_not_exists(id) OR version = :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                continue  # another plan wrote meanwhile: read again
            return new
        raise RuntimeError(f"the positions record {record_key(account_id)} kept changing; retry")


def make_positions_record(*, local: bool, state_dir: Path, table_name: str | None) -> PositionsRecord:
    """The embedded store locally (the state dir's database), the IdempotencyTable in AWS."""
    if local:
        return SqlitePositionsRecord(state_dir / "state.sqlite")
    if not table_name:
        raise ValueError("ALCHEMISER_IDEMPOTENCY_TABLE is required outside local mode (it holds the positions record)")
    return DynamoDBPositionsRecord(table_name)
