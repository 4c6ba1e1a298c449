"""The daily turnover cap: what all runs of one trading day may trade on one broker account, together.

The per-run turnover limit (risk.py) bounds one plan. Without a ledger, every run of a day gets a
fresh budget: a retried day, a second workflow, a plan from a second stack on the same account.
Before its first order a run reserves its planned turnover here, keyed by (account, trading date); a
reservation that would take the day past `max_daily_turnover_equity_fraction` x equity is refused, and
the plan is refused with it (final for its workflow, like any refusal).

A reservation follows what reached the broker, not what was planned. When the run has placed what it
could, it *settles* its entry to the value of what the broker holds for it (plan_run.reached): filled
value for final orders, the requested value for orders still open (they may fill yet) and for orders
whose outcome is unknown, nothing for orders refused or never placed. A plan that placed nothing
releases its reservation; one that placed part keeps only that part.

The rule for crashes (a run killed between its reservation and its settlement):
- Every entry records the client order ids of its legs, with each leg's planned value, and a lease: the
  wall-clock time until which its run may still be placing (`LEASE_SECONDS` after the reservation,
  longer than a Lambda can run). Until it is settled an entry counts in full.
- A run resumed after the crash (same plan) reserves again before it places anything new: that renews
  its lease. If its entry was settled meanwhile (see the next point), the renewal is a new reservation
  checked against the cap; refused, the resumed run only adopts what exists and places nothing new.
- A run refused by the cap while some entry's lease has expired unsettled settles that entry from the
  broker's book first (each recorded client order id looked up: what exists counts, what does not is
  released), with a conditional write that fails if the entry's run renewed its lease meanwhile, and
  then asks again. So a killed run never locks the day out for good, and two runs never both trade past
  the cap: each order at the broker is covered by an entry counted at its value, or by a live lease.
A look-up that fails leaves the stale entry counted in full (errs on the side of trading less).

Reservations are per plan id, so a run retried after a crash (between the reservation and its claim)
does not reserve twice. Adapters: the embedded store locally (sqlite_turnover_ledger.py), the
IdempotencyTable in DynamoDB (dynamodb_turnover_ledger.py: an item
under the execution function's own key prefix, `execution-workflow#turnover#<account>#<date>`, written
with an optimistic version check). Both share a contract test. Entries written before settlements
existed (an amount alone) read as settled at that amount.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar

from services.execution.workflow_guard import KEY_PREFIX

RETENTION_SECONDS = 35 * 86_400
MAX_ATTEMPTS = 8
LEASE_SECONDS = 20 * 60
"""How long an unsettled reservation is its run's: a Lambda runs 15 minutes at most."""
T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One plan's share of the day."""

    amount: Decimal
    state: Literal["reserved", "settled"] = "settled"
    lease_until: float = 0.0
    """Wall-clock epoch seconds: until then a reserved entry's run may still be placing."""
    legs: Mapping[str, Decimal] = field(default_factory=dict)
    """Client order id -> planned value of each of its legs (to settle it from the broker's book)."""

    def stale(self, now: float) -> bool:
        return self.state == "reserved" and self.lease_until <= now


@dataclass(frozen=True)
class Reservation:
    granted: bool
    used_before: Decimal
    """What the day's other plans had reserved or settled (dollars)."""
    cap: Decimal
    stale: dict[str, Entry] = field(default_factory=dict)
    """Other plans' entries whose lease expired unsettled (plan id -> entry): settle them from the broker."""


class TurnoverLedger(Protocol):
    def reserve(self, account_id: str, day: date, plan_id: str, amount: Decimal, cap: Decimal, *,
                legs: Mapping[str, Decimal] | None = None) -> Reservation:
        """Reserve `amount` for `plan_id` unless the day's total would exceed `cap`; again for the same
        plan renews its lease (a settled entry is reserved anew, against the cap)."""
        ...

    def settle(self, account_id: str, day: date, plan_id: str, amount: Decimal, *,
               stale_since: float | None = None) -> bool:
        """Set `plan_id`'s entry to `amount`, settled. With `stale_since` (the lease seen expired): only if
        the entry is still reserved under that lease (nobody renewed it). False when nothing changed."""
        ...


def ledger_key(account_id: str, day: date) -> str:
    return f"{KEY_PREFIX}turnover#{account_id}#{day.isoformat()}"


# ---- the pure rules -----------------------------------------------------------------------------

Entries = dict[str, Entry]


def decide(entries: Entries, plan_id: str, amount: Decimal, cap: Decimal, legs: Mapping[str, Decimal],
           now: float) -> tuple[Reservation, Entries | None]:
    """(the answer, the entries to store or None) for a reservation, given the day's entries so far."""
    others = sum((e.amount for k, e in entries.items() if k != plan_id), Decimal(0))
    stale = {k: e for k, e in entries.items() if k != plan_id and e.stale(now)}
    mine = entries.get(plan_id)
    renewed = Entry(amount, "reserved", now + LEASE_SECONDS, dict(legs))
    if mine is not None and mine.state == "reserved":  # the same run again, or resumed: renew its lease
        kept = replace(mine, lease_until=now + LEASE_SECONDS)
        return Reservation(True, others, cap, stale), {**entries, plan_id: kept}
    if others + amount > cap:
        return Reservation(False, others, cap, stale), None
    return Reservation(True, others, cap, stale), {**entries, plan_id: renewed}


def settled(entries: Entries, plan_id: str, amount: Decimal, stale_since: float | None) -> Entries | None:
    mine = entries.get(plan_id)
    if stale_since is not None and (mine is None or mine.state != "reserved" or mine.lease_until != stale_since):
        return None  # its run renewed the lease (it is alive), or someone settled it already
    legs = mine.legs if mine is not None else {}
    return {**entries, plan_id: Entry(amount, "settled", 0.0, legs)}


def to_json(entries: Entries) -> dict[str, Any]:
    return {k: {"amount": str(e.amount), "state": e.state, "lease_until": e.lease_until,
                "legs": {c: str(v) for c, v in e.legs.items()}} for k, e in entries.items()}


def from_json(plans: Mapping[str, Any]) -> Entries:
    out: Entries = {}
    for plan_id, value in plans.items():
        if isinstance(value, str):  # written before settlements: an amount, never released
            out[plan_id] = Entry(Decimal(value))
            continue
        out[plan_id] = Entry(Decimal(value["amount"]), value["state"], float(value.get("lease_until", 0)),
                             {c: Decimal(v) for c, v in value.get("legs", {}).items()})
    return out


# ---- what both adapters share -----------------------------------------------------------------------

class LedgerOperations:
    """Both adapters (sqlite_turnover_ledger.py, dynamodb_turnover_ledger.py): the operations over one
    atomic read-modify-write of the day's entries, `_mutate`."""

    _wall_clock: Callable[[], float]

    def _mutate(self, key: str, change: Callable[[Entries], tuple[T, Entries | None]]) -> T:
        raise NotImplementedError

    def reserve(self, account_id: str, day: date, plan_id: str, amount: Decimal, cap: Decimal, *,
                legs: Mapping[str, Decimal] | None = None) -> Reservation:
        now = self._wall_clock()
        return self._mutate(ledger_key(account_id, day),
                            lambda entries: decide(entries, plan_id, amount, cap, legs or {}, now))

    def settle(self, account_id: str, day: date, plan_id: str, amount: Decimal, *,
               stale_since: float | None = None) -> bool:
        def change(entries: Entries) -> tuple[bool, Entries | None]:
            new = settled(entries, plan_id, amount, stale_since)
            return new is not None, new

        return self._mutate(ledger_key(account_id, day), change)
