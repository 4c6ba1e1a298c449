"""What the broker side saw of each leg, per run: look-ups and POSTs, in order (bench/fault_execution.py).

The rule the drill holds the placer to: a POST for a client order id is preceded, in the same delivery,
by a look-up of that id that the broker answered (found or not found) since that delivery's previous
POST for it — except right after a POST the broker refused for its rate limit (429), which creates
nothing. A POST that breaks it is a *blind* POST: the resubmission that Alpaca's 422 happens to make
harmless, and that no count of orders at the broker can see.

Against the fake Alpaca the log is the fake's own request log, each delivery's client signing with its
own key id (so concurrent deliveries are told apart); against the simulated broker it is `Audited`, a
wrapper outermost around each delivery's broker, recording the calls as the placer made them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.broker.port import BrokerError, RateLimited

LOOK_UP = "GET /v2/orders:by_client_order_id"
POST = "POST /v2/orders"
LEG_STORM = 4
"""Consecutive 429s on one leg's POSTs that make a 429 storm on that leg."""


@dataclass(frozen=True)
class Call:
    who: str
    """The delivery (its key id at the fake)."""
    kind: str
    """"look-up" (answered) or "post"."""
    coid: str
    status: int | None = None
    """A POST's answer (429: refused for the rate limit)."""


@dataclass
class Audit:
    lookups: int = 0
    posts: int = 0
    blind: list[str] = field(default_factory=list)
    """One line per blind POST."""
    leg_storms: int = 0
    """Legs (per delivery) whose POSTs met LEG_STORM or more 429s in a row."""


def audit(calls: Iterable[Call]) -> Audit:
    result = Audit()
    looked: dict[tuple[str, str], bool] = {}
    refused: dict[tuple[str, str], bool] = {}
    streak: dict[tuple[str, str], int] = {}
    stormed: set[tuple[str, str]] = set()
    for call in calls:
        key = (call.who, call.coid)
        if call.kind == "look-up":
            result.lookups += 1
            looked[key] = True
            continue
        result.posts += 1
        if not looked.get(key) and not refused.get(key):
            result.blind.append(f"{call.who}: POST {call.coid} with no look-up answered since its previous POST")
        looked[key], refused[key] = False, call.status == 429
        streak[key] = streak.get(key, 0) + 1 if call.status == 429 else 0
        if streak[key] >= LEG_STORM:
            stormed.add(key)
    result.leg_storms = len(stormed)
    return result


def fake_calls(fake: Any) -> list[Call]:
    """The fake Alpaca's log as calls: look-ups it answered (200 or 404), and every POST."""
    calls = []
    for r in fake.requests:
        if r.route == LOOK_UP and r.status in (200, 404):
            calls.append(Call(r.key_id or "", "look-up", r.query.get("client_order_id", "")))
        elif r.route == POST and isinstance(r.body, dict):
            calls.append(Call(r.key_id or "", "post", str(r.body.get("client_order_id")), r.status))
    return calls


class Audited:
    """A broker that records the look-ups and POSTs made through it (the simulated world's log)."""

    def __init__(self, inner: Any, who: str, log: list[Call], lock: threading.Lock) -> None:
        self._inner, self._who, self._log, self._lock = inner, who, log, lock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get_order_by_client_id(self, client_order_id: str) -> Any:
        order = self._inner.get_order_by_client_id(client_order_id)  # a failed look-up raises: not answered
        with self._lock:
            self._log.append(Call(self._who, "look-up", client_order_id))
        return order

    def submit_order(self, request: Any) -> Any:
        status: int | None = 200
        try:
            return self._inner.submit_order(request)
        except RateLimited:
            status = 429
            raise
        except BrokerError:
            status = None
            raise
        finally:
            with self._lock:
                self._log.append(Call(self._who, "post", request.client_order_id, status))
