"""The order-placing engine over the Broker port: each leg placed at most once, outcomes always known.

Per leg:
  look up by client order id ─ found ──────────────────────────────► adopted
        │ not found
        ▼
  submit ─ accepted ───────────────────────────────────────────────► submitted
        ├─ OrderRejected (definitive: no order exists) ─────────────► rejected
        ├─ DuplicateClientOrderId (it exists: alpaca-py or a twin run) ► look up ► adopted
        └─ BrokerUnavailable (timeout, 5xx, 429: outcome unknown) ──► look up (bounded, on read errors)
              found ► adopted
              confirmed absent (a look-up answered "no such order") ► resubmit, SAME client order id
              never answered ► failed "outcome unknown", not resubmitted
A resubmission waits for what the broker asked (Retry-After, a 429's rate-limit reset), at least
`post_lookup_delay_seconds x 2^(n-1)` after the failure, and is made only while `post_attempts`
POSTs have not all been spent and it can finish before the deadline (the Lambda's, less what the
run needs after placing: `placing_deadline`). Only after that is the leg reported failed.

Why resubmitting is safe: the id is the leg's, never a new one, and the broker refuses a second
order with an id it holds (Alpaca 422, the simulated broker likewise). If the first POST was still
in flight and lands after all, one of the two is refused as a duplicate and we adopt the order: at
most one order per leg whatever the timing; and a resubmission the broker refuses for another reason
(the late order used the buying power) is looked up once more and that order adopted. An order found
under our id but for another symbol or side is never touched and is reported failed.

Waiting: `wait` polls open orders (cumulative filled_qty, from the broker) until all are final or
`fill_wait_seconds` has passed, sleeping `poll_interval_seconds` between rounds; `cancel_open`
cancels what is left and re-reads each order for its final fills. Sleep and clock are injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from services.execution.legs import Leg
from shared.broker.port import (
    Broker,
    BrokerError,
    DuplicateClientOrderId,
    Order,
    OrderRejected,
)
from shared.runtime.observability import make_logger

logger = make_logger("execution")

How = Literal["submitted", "adopted", "rejected", "failed", "skipped"]
CANCEL_REREADS = 3


@dataclass
class Placement:
    leg: Leg
    how: How
    order: Order | None = None
    error: str | None = None

    @property
    def is_open(self) -> bool:
        return self.order is not None and not self.order.is_terminal


FINISH_RESERVE_SECONDS = 10.0
"""What a run needs after its last wait: the account re-read, TradeExecuted published, the guard marked."""


@dataclass(frozen=True)
class Timing:
    fill_wait_seconds: float = 60.0
    poll_interval_seconds: float = 2.0
    post_lookup_attempts: int = 4
    post_lookup_delay_seconds: float = 1.0
    post_attempts: int = 3
    """POSTs per leg at most, the first included: after a failed POST whose order a look-up confirmed
    absent, the same request (same client order id) is sent again, up to this many in all."""
    post_seconds: float = 15.0
    """Time one resubmission may take (the POST and the look-ups after it): one is made only if it can
    finish before the placer's deadline."""

    @property
    def after_placing_seconds(self) -> float:
        """The longest a run needs after its last POST: both fill waits, their cancels, the finish."""
        return 2 * (self.fill_wait_seconds + CANCEL_REREADS * self.poll_interval_seconds) + FINISH_RESERVE_SECONDS


def placing_deadline(context: Any, timing: Timing, monotonic: Callable[[], float] = time.monotonic) -> float | None:
    """The `monotonic()` time by which a resubmission must have finished, from a Lambda context: its
    remaining time less `timing.after_placing_seconds`. None (no deadline) without a context."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return monotonic() + float(remaining()) / 1000.0 - timing.after_placing_seconds


class Placer:
    def __init__(
        self,
        broker: Broker,
        timing: Timing,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        deadline: float | None = None,
    ) -> None:
        """`deadline`: a `monotonic()` time (see `placing_deadline`); None: bounded by `post_attempts` only."""
        self.broker = broker
        self.timing = timing
        self._sleep = sleep
        self._monotonic = monotonic
        self.deadline = deadline

    # ---- placing -------------------------------------------------------------------------------

    def find(self, leg: Leg) -> Placement | None:
        """The leg's order if the broker has it (adopted), else None. Read errors propagate."""
        order = self.broker.get_order_by_client_id(leg.client_order_id)
        return None if order is None else self._adopt(leg, order)

    def submit(self, leg: Leg) -> Placement:
        """POST the leg (the caller has just looked it up and not found it); resubmit it, with the same
        client order id, only after a failed POST whose order a look-up confirmed absent (module doc)."""
        try:
            request = leg.request()
        except ValueError as exc:  # an amount no broker takes: nothing is sent
            return Placement(leg, "rejected", error=f"not sent to the broker: {exc}")
        attempts = max(1, self.timing.post_attempts)
        failures: list[str] = []
        retry_after: float | None = None
        failed_at = self._monotonic()
        for post in range(1, attempts + 1):
            if post > 1:
                wait = max(retry_after or 0.0, self.timing.post_lookup_delay_seconds * 2 ** (post - 2))
                wait = max(0.0, failed_at + wait - self._monotonic())
                if not self._fits(wait):
                    return Placement(leg, "failed", error=(
                        f"not placed: {_failures(failures)}; no order under client order id {leg.client_order_id} "
                        f"(looked up); not resubmitted: POST {post} of {attempts} could not finish before the "
                        "function's deadline"))
                if wait > 0:
                    self._sleep(wait)
                logger.warning("resubmitting order %s with the same client order id (POST %d of %d)",
                               leg.client_order_id, post, attempts)
            try:
                order = self.broker.submit_order(request)
            except OrderRejected as exc:
                logger.warning("order %s rejected: %s", leg.client_order_id, exc)
                if post > 1:  # an earlier POST may have landed after all (and used the buying power): look
                    late = self._late_arrival(leg)
                    if late is not None:
                        return late
                return Placement(leg, "rejected", error=str(exc))
            except DuplicateClientOrderId as exc:
                logger.warning("order %s already exists at the broker; adopting it", leg.client_order_id)
                return self._recover(leg, f"the broker reports it exists ({exc})", wait_first=False)
            except BrokerError as exc:  # BrokerUnavailable and anything else: the outcome is unknown
                failed_at = self._monotonic()
                retry_after = getattr(exc, "retry_after", None)
                failures.append(str(exc))
                logger.warning("order %s: outcome unknown (%s); looking it up", leg.client_order_id, exc)
                found, absent, lookup_error = self._look_up(leg)
                if found is not None:
                    return found
                if not absent:
                    return Placement(leg, "failed", error=(
                        f"outcome unknown: {_failures(failures)}; the look-ups by client order id did not answer "
                        f"({self.timing.post_lookup_attempts} tries; last: {lookup_error}); not resubmitted"))
                continue
            return Placement(leg, "submitted", order)
        return Placement(leg, "failed", error=(
            f"not placed: {_failures(failures)}; after each, no order under client order id "
            f"{leg.client_order_id} (looked up); gave up after {attempts} POSTs"))

    def place(self, leg: Leg) -> Placement:
        """Look up, then adopt or submit."""
        return self.find(leg) or self.submit(leg)

    def refuse(self, leg: Leg, reason: str) -> Placement:
        """Not submitting `leg` (e.g. a sell above `qty_available`): rejected with `reason`, unless an order
        under its id appeared since the caller's look-up (a concurrent run placed it, and that is why the
        holdings look short): then that order is adopted, so the report matches the broker. If that look-up
        fails, the leg is reported failed (outcome unknown), not rejected."""
        try:
            found = self.find(leg)
        except BrokerError as exc:
            return Placement(leg, "failed", error=(f"{reason}; not placed by this run, but whether another run "
                                                   f"placed {leg.client_order_id} is unknown (look-up failed: {exc})"))
        return found or Placement(leg, "rejected", error=reason)

    def _fits(self, wait: float) -> bool:
        return self.deadline is None or self._monotonic() + wait + self.timing.post_seconds <= self.deadline

    def _adopt(self, leg: Leg, order: Order) -> Placement:
        if order.symbol != leg.symbol or order.side != leg.side:
            return Placement(leg, "failed", order=None, error=(
                f"client order id {leg.client_order_id} belongs to a {order.side} {order.symbol} order "
                f"({order.broker_order_id}) at the broker; left alone, nothing placed"))
        return Placement(leg, "adopted", order)

    def _late_arrival(self, leg: Leg) -> Placement | None:
        """After a resubmission was refused: the leg's order if an earlier POST created it after all."""
        for attempt in range(self.timing.post_lookup_attempts):
            if attempt:
                self._sleep(self.timing.post_lookup_delay_seconds * 2 ** (attempt - 1))
            try:
                order = self.broker.get_order_by_client_id(leg.client_order_id)
            except BrokerError:
                continue
            return None if order is None else self._adopt(leg, order)
        return None

    def _look_up(self, leg: Leg) -> tuple[Placement | None, bool, str]:
        """After a failed POST: (adopted placement or None, confirmed absent, last look-up error).
        Waits before each try (doubling); stops at the first answer, found or not."""
        last_error = ""
        for attempt in range(self.timing.post_lookup_attempts):
            self._sleep(self.timing.post_lookup_delay_seconds * 2 ** attempt)
            try:
                order = self.broker.get_order_by_client_id(leg.client_order_id)
            except BrokerError as exc:
                last_error = str(exc)
                continue
            return (None if order is None else self._adopt(leg, order)), order is None, ""
        return None, False, last_error

    def _recover(self, leg: Leg, cause: str, *, wait_first: bool) -> Placement:
        attempts = self.timing.post_lookup_attempts
        last_error = ""
        for attempt in range(attempts):
            if wait_first or attempt:
                self._sleep(self.timing.post_lookup_delay_seconds * 2 ** (attempt if wait_first else attempt - 1))
            try:
                order = self.broker.get_order_by_client_id(leg.client_order_id)
            except BrokerError as exc:
                last_error = f"; last look-up failed: {exc}"
                continue
            if order is not None:
                return self._adopt(leg, order)
        return Placement(leg, "failed", error=(
            f"outcome unknown: {cause}; not found by client order id after {attempts} look-ups{last_error}; "
            "not resubmitted"))

    # ---- waiting -------------------------------------------------------------------------------

    def _refresh(self, placement: Placement) -> None:
        assert placement.order is not None
        try:
            placement.order = self.broker.get_order(placement.order.broker_order_id)
        except BrokerError as exc:  # keep the last known state; the next round tries again
            logger.warning("poll of %s failed: %s", placement.leg.client_order_id, exc)

    def wait(self, placements: Sequence[Placement]) -> None:
        """Poll open orders until every one is final or the fill wait is over."""
        started = self._monotonic()
        while True:
            pending = [p for p in placements if p.is_open]
            for placement in pending:
                self._refresh(placement)
            pending = [p for p in pending if p.is_open]
            left = self.timing.fill_wait_seconds - (self._monotonic() - started)
            if not pending or left <= 0:
                return
            self._sleep(min(self.timing.poll_interval_seconds, left))

    def cancel_open(self, placements: Sequence[Placement]) -> list[Placement]:
        """Cancel every order still open, then re-read it for its final fills; returns those canceled."""
        pending = [p for p in placements if p.is_open]
        for placement in pending:
            assert placement.order is not None
            try:
                self.broker.cancel_order(placement.order.broker_order_id)
            except BrokerError as exc:
                logger.warning("cancel of %s failed: %s", placement.leg.client_order_id, exc)
        for attempt in range(CANCEL_REREADS):
            still = [p for p in pending if p.is_open]
            if not still:
                break
            if attempt:
                self._sleep(self.timing.poll_interval_seconds)
            for placement in still:
                self._refresh(placement)
        return pending


def _failures(failures: Sequence[str]) -> str:
    """The POST failures of one leg, for its error (bounded: the first and the last)."""
    if len(failures) == 1:
        return f"the POST failed ({failures[0]})"
    return f"{len(failures)} POSTs failed (first: {failures[0]}; last: {failures[-1]})"
