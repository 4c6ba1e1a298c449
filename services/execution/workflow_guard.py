"""Layer 2 of idempotency: one plan executes per workflow (correlation id), durably.

The portfolio derives a plan id from the workflow and its inputs, so a portfolio run repeated
after the orders moved the account yields a *different* plan for the same workflow. Layer 1
(keyed on the plan id) cannot see that; this guard can. Right before its first order a plan
claims its workflow with a conditional write (absent -> claimed by this plan); a later plan for
the same workflow finds it held by another plan and places nothing. When the run has published
its TradeExecuted the claim is marked done, so a replay of the same plan long after its
idempotency record expired is still recognised as executed.

A plan refused before its first order (kill switch halted, market closed, stale, a risk limit, a
blocked account, a mode mismatch) takes the workflow too, as `refused`: the refusal is the
workflow's final outcome, so a later redelivery of that plan (or any other plan of the workflow)
places nothing, whatever the switch or the clock says by then.

Adapters: the embedded store locally (`sqlite_workflow_guard.py`) and the IdempotencyTable in
DynamoDB (`dynamodb_workflow_guard.py`, keys prefixed `execution-workflow#`). Both share a contract test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.limits.model import LimitBinding

KEY_PREFIX = "execution-workflow#"


@dataclass(frozen=True)
class WorkflowClaim:
    correlation_id: str
    plan_id: str
    done: bool = False
    status: str | None = None
    """The execution status once done (or of the refusal)."""
    refused: bool = False
    """The plan was refused before any order (halted, closed, stale, a risk limit...): final for the workflow."""
    reason: str | None = None
    """Why it was refused."""
    bindings: tuple[LimitBinding, ...] = ()
    """The limits that refused it: a republished refusal carries them, as the first did."""

    def held_by_other(self, plan_id: str) -> bool:
        return self.plan_id != plan_id


class WorkflowGuard(Protocol):
    def peek(self, correlation_id: str) -> WorkflowClaim | None:
        """The live claim on the workflow, if any."""
        ...

    def claim(self, correlation_id: str, plan_id: str) -> WorkflowClaim:
        """Claim the workflow for `plan_id` unless already claimed; returns the claim that holds it."""
        ...

    def finish(self, correlation_id: str, plan_id: str, status: str) -> None:
        """Mark this plan's claim done (no-op if another plan holds the workflow)."""
        ...

    def refuse(self, correlation_id: str, plan_id: str, status: str, reason: str,
               bindings: tuple[LimitBinding, ...] = ()) -> WorkflowClaim:
        """Record that `plan_id` was refused (with the limits that refused it), unless the workflow is already
        held; returns what holds it."""
        ...


def guard_key(correlation_id: str) -> str:
    return KEY_PREFIX + correlation_id


def claim_from(correlation_id: str, item: dict[str, Any]) -> WorkflowClaim:
    state = item.get("state")
    return WorkflowClaim(correlation_id, str(item["plan_id"]), state in ("done", "refused"),
                         None if item.get("status") is None else str(item["status"]), refused=state == "refused",
                         reason=None if item.get("reason") is None else str(item["reason"]),
                         bindings=tuple(LimitBinding.model_validate(b)
                                        for b in json.loads(item.get("bindings") or "[]")))


def refusal_item(plan_id: str, status: str, reason: str, now: int, ttl: int,
                 bindings: tuple[LimitBinding, ...] = ()) -> dict[str, Any]:
    item: dict[str, Any] = {"plan_id": plan_id, "state": "refused", "status": status, "reason": reason[:1000],
                            "claimed_at": now, "expiration": now + ttl}
    if bindings:  # JSON text: one string attribute in DynamoDB as in the embedded store
        item["bindings"] = json.dumps([b.model_dump(mode="json") for b in bindings])
    return item


def expired(item: dict[str, Any], now: float) -> bool:
    """An item past its `expiration` (TTL deletion is lazy, so both stores read such an item as absent)."""
    return int(item.get("expiration") or 0) < int(now)


class ConditionalClaims:
    """Both adapters (sqlite_workflow_guard.py, dynamodb_workflow_guard.py): a claim and a refusal are
    one conditional write of an item, `_put_if_free` (the workflow is free: no item, or an expired one)."""

    _ttl: int
    _wall_clock: Callable[[], float]

    def _put_if_free(self, correlation_id: str, item: dict[str, Any]) -> WorkflowClaim:
        raise NotImplementedError

    def claim(self, correlation_id: str, plan_id: str) -> WorkflowClaim:
        now = int(self._wall_clock())
        return self._put_if_free(correlation_id, {"plan_id": plan_id, "state": "claimed", "claimed_at": now,
                                                  "expiration": now + self._ttl})

    def refuse(self, correlation_id: str, plan_id: str, status: str, reason: str,
               bindings: tuple[LimitBinding, ...] = ()) -> WorkflowClaim:
        return self._put_if_free(correlation_id, refusal_item(plan_id, status, reason, int(self._wall_clock()),
                                                              self._ttl, bindings))
