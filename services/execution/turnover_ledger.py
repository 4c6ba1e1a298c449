"""The daily turnover cap: what all runs of one trading day may trade on one broker account, together.

The per-run turnover limit (risk.py) bounds one plan. Without a ledger, every run of a day gets a
fresh budget: a retried day, a second workflow, a plan from a second stack on the same account.
Before its first order a fresh run reserves its planned turnover here, keyed by (account, trading
date); a reservation that would take the day past `max_daily_turnover_equity_fraction` x equity is
refused, and the plan is refused with it (final for its workflow, like any refusal).

Reservations are per plan id, so a run retried after a crash (between the reservation and its
claim) does not reserve twice. A reservation is never released: a plan that then fills less than
planned still counts what it asked for, which errs on the side of trading less.

Adapters: the embedded store locally, the IdempotencyTable in DynamoDB (an item under the execution
function's own key prefix, `execution-workflow#turnover#<account>#<date>`, written with an
optimistic version check). Both share a contract test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from services.execution.workflow_guard import KEY_PREFIX

if TYPE_CHECKING:
    from shared.runtime.sqlite_store import Document

RETENTION_SECONDS = 35 * 86_400
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Reservation:
    granted: bool
    used_before: Decimal
    """What the day's other plans had reserved (dollars)."""
    cap: Decimal


class TurnoverLedger(Protocol):
    def reserve(self, account_id: str, day: date, plan_id: str, amount: Decimal, cap: Decimal) -> Reservation:
        """Reserve `amount` for `plan_id` unless the day's total would exceed `cap` (idempotent per plan)."""
        ...


def ledger_key(account_id: str, day: date) -> str:
    return f"{KEY_PREFIX}turnover#{account_id}#{day.isoformat()}"


def decide(plans: dict[str, str], plan_id: str, amount: Decimal, cap: Decimal) -> tuple[Reservation, dict[str, str]]:
    """The pure rule: (the answer, the plans map to store) given the day's reservations so far."""
    others = sum((Decimal(v) for k, v in plans.items() if k != plan_id), Decimal(0))
    if plan_id in plans:
        return Reservation(True, others, cap), plans
    if others + amount > cap:
        return Reservation(False, others, cap), plans
    return Reservation(True, others, cap), {**plans, plan_id: str(amount)}


class SqliteTurnoverLedger:
    def __init__(self, path: Path, *, wall_clock: Callable[[], float] = time.time) -> None:
        from shared.runtime.sqlite_store import SqliteTable  # local only: AWS never loads sqlite3

        self._table = SqliteTable(path, "execution_turnover")
        self._wall_clock = wall_clock

    def reserve(self, account_id: str, day: date, plan_id: str, amount: Decimal, cap: Decimal) -> Reservation:
        answer: list[Reservation] = []

        def update(old: Document | None) -> Document | None:
            plans = dict((old or {}).get("plans", {}))
            reservation, new = decide(plans, plan_id, amount, cap)
            answer.append(reservation)
            if new is plans:
                return None
            return {"plans": new, "expiration": int(self._wall_clock()) + RETENTION_SECONDS}

        self._table.transact(ledger_key(account_id, day), update)
        return answer[-1]


class DynamoDBTurnoverLedger:
    def __init__(self, table_name: str, *, client: Any = None, wall_clock: Callable[[], float] = time.time) -> None:
        if client is None:
            from shared.runtime import aws_clients

            client = aws_clients.client("dynamodb")
        self.table_name = table_name
        self._client = client
        self._wall_clock = wall_clock

    def reserve(self, account_id: str, day: date, plan_id: str, amount: Decimal, cap: Decimal) -> Reservation:
        key = {"id": {"S": ledger_key(account_id, day)}}
        for _ in range(MAX_ATTEMPTS):
            item = self._client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
            version = int(item["version"]["N"]) if item else 0
            plans = {k: v["S"] for k, v in item.get("plans", {}).get("M", {}).items()} if item else {}
            reservation, new = decide(plans, plan_id, amount, cap)
            if new is plans:
                return reservation
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item={**key, "plans": {"M": {k: {"S": v} for k, v in new.items()}},
                          "version": {"N": str(version + 1)},
                          "expiration": {"N": str(int(self._wall_clock()) + RETENTION_SECONDS)}},
                    ConditionExpression="attribute_not_exists(id) OR version = :v",
                    ExpressionAttributeValues={":v": {"N": str(version)}},
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                continue  # another run reserved meanwhile: read again
            return reservation
        raise RuntimeError(f"the turnover ledger for {account_id} on {day} kept changing; retry")
