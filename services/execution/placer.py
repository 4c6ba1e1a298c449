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
from dataclasses import dataclass, field
from typing import Any, Literal

from services.execution.legs import Leg
from shared.broker.port import (
    Broker,
    BrokerError,
    DuplicateClientOrderId,
    Order,
    OrderRejected,
    RateLimited,
)
from shared.runtime.observability import make_logger

logger = make_logger("execution")

How = Literal["submitted", "adopted", "rejected", "failed", "skipped", "unknown"]
"""failed: known not to be at the broker (confirmed absent, refused, never sent); unknown: it may be."""
CANCEL_REREADS = 3
MAX_LOOKUP_DELAY = 8.0
"""The longest wait between two look-ups of an order the broker says exists."""
MAX_THROTTLE_DELAY = 8.0
"""The longest wait after a 429 that named no reset time."""


@dataclass
class Placement:
    leg: Leg
    how: How
    order: Order | None = None
    error: str | None = None
    posted: bool = False
    """This run sent a POST that may have created the order (accepted, or its reply lost): an order found
    afterwards was placed now, not adopted from an earlier run."""

    @property
    def placed_now(self) -> bool:
        return self.order is not None and self.how in ("submitted", "adopted") and self.posted

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
    throttled_posts_without_deadline: int = 20
    """429s are resubmitted until the deadline leaves too little time; with no deadline (no Lambda context),
    at most this many."""

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
        client order id, after a 429 (a refusal: nothing was created) or after a failed POST whose order a
        look-up confirmed absent (module doc)."""
        try:
            request = leg.request()
        except ValueError as exc:  # an amount no broker takes: nothing is sent
            return Placement(leg, "rejected", error=f"not sent to the broker: {exc}")
        tries = _Tries(self._monotonic())
        while True:
            if tries.posts:
                wait = max(0.0, tries.failed_at + tries.wait - self._monotonic())
                if not self._fits(wait) or tries.out_of_patience(self.timing, self.deadline):
                    return Placement(leg, "failed", error=tries.gave_up(leg, self._monotonic(),
                                                                        deadline=not self._fits(wait)))
                if wait > 0:
                    self._sleep(wait)
                logger.warning("resubmitting order %s with the same client order id (POST %d)",
                               leg.client_order_id, tries.posts + 1)
            tries.posts += 1
            try:
                order = self.broker.submit_order(request)
            except OrderRejected as exc:
                logger.warning("order %s rejected: %s", leg.client_order_id, exc)
                if tries.uncertain:  # an earlier POST may have landed after all (and used the buying power)
                    late = self._late_arrival(leg)
                    if late is not None:
                        return late
                return Placement(leg, "rejected", error=str(exc))
            except DuplicateClientOrderId as exc:
                logger.warning("order %s already exists at the broker; adopting it", leg.client_order_id)
                return self._recover(leg, f"the broker reports it exists ({exc})", posted=tries.uncertain > 0)
            except RateLimited as exc:  # refused before anything was created: send the same POST again
                tries.throttled(str(exc), exc.retry_after, self._monotonic(), self.timing)
                logger.warning("order %s refused for the rate limit (429 number %d); resubmitting",
                               leg.client_order_id, tries.refusals)
                continue
            except BrokerError as exc:  # BrokerUnavailable and anything else: the outcome is unknown
                tries.unknown(str(exc), getattr(exc, "retry_after", None), self._monotonic(), self.timing)
                logger.warning("order %s: outcome unknown (%s); looking it up", leg.client_order_id, exc)
                found, absent, lookup_error = self._look_up(leg)
                if found is not None:
                    found.posted = True
                    return found
                if not absent:
                    return Placement(leg, "unknown", posted=True, error=(
                        f"outcome unknown: {_failures(tries.failures)}; the look-ups by client order id did not "
                        f"answer ({self.timing.post_lookup_attempts} tries; last: {lookup_error}); not resubmitted"))
                if tries.uncertain >= max(1, self.timing.post_attempts):
                    return Placement(leg, "failed", error=(
                        f"not placed: {_failures(tries.failures)}; after each, no order under client order id "
                        f"{leg.client_order_id} (looked up); gave up after {tries.posts} POSTs"))
                continue
            return Placement(leg, "submitted", order, posted=True)

    def place(self, leg: Leg) -> Placement:
        """Look up, then adopt or submit."""
        return self.find(leg) or self.submit(leg)

    def refuse(self, leg: Leg, reason: str, *, resumed: bool = False) -> Placement:
        """Not submitting `leg` (e.g. a sell above `qty_available`): rejected with `reason`, unless an order
        under its id appeared since the caller's look-up (a concurrent run placed it, and that is why the
        holdings look short): then that order is adopted, so the report matches the broker. If that look-up
        fails, the leg's outcome is unknown, not rejected. In a resumed run it is unknown too when the look-up
        finds nothing: an earlier attempt may have placed it (why the shares are gone) while the broker's
        order look-up still lags; the stuck check settles it from the broker's book."""
        try:
            found = self.find(leg)
        except BrokerError as exc:
            return Placement(leg, "unknown", error=(f"{reason}; not placed by this run, but whether another run "
                                                   f"placed {leg.client_order_id} is unknown (look-up failed: {exc})"))
        if found is None and resumed:
            return Placement(leg, "unknown", error=(
                f"{reason}; not placed by this run, but an earlier attempt of it may have placed "
                f"{leg.client_order_id} (the broker's order look-up can lag): settled from the broker's book"))
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

    def _recover(self, leg: Leg, cause: str, *, posted: bool) -> Placement:
        """The broker says the leg's order exists (422): look it up until it shows, at least
        `post_lookup_attempts` times and then for as long as the deadline allows (a stale read can lag
        the order book by many seconds). Never visible: `unknown`, never resubmitted and never failed:
        the orchestrator's stuck check settles it from the broker's book."""
        started, tries, last_error = self._monotonic(), 0, ""
        while True:
            delay = 0.0 if tries == 0 else min(MAX_LOOKUP_DELAY,
                                               self.timing.post_lookup_delay_seconds * 2 ** (tries - 1))
            if tries >= self.timing.post_lookup_attempts and (
                    self.deadline is None or self._monotonic() + delay > self.deadline):
                break
            if delay:
                self._sleep(delay)
            tries += 1
            try:
                order = self.broker.get_order_by_client_id(leg.client_order_id)
            except BrokerError as exc:
                last_error = f"; last look-up failed: {exc}"
                continue
            if order is not None:
                placement = self._adopt(leg, order)
                placement.posted = posted
                return placement
        return Placement(leg, "unknown", posted=posted, error=(
            f"outcome unknown: {cause}, yet {tries} look-ups by client order id over "
            f"{self._monotonic() - started:.0f} s did not return it{last_error}; not resubmitted; the orchestrator "
            "settles it from the broker's book"))

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


@dataclass
class _Tries:
    """One leg's POSTs so far: what failed, and when the next may be sent."""

    started: float
    posts: int = 0
    uncertain: int = 0
    """POSTs whose outcome was unknown (counted against `post_attempts`); 429s are not."""
    refusals: int = 0
    """POSTs refused for the rate limit (429): nothing created."""
    failed_at: float = 0.0
    wait: float = 0.0
    """Seconds after `failed_at` before the next POST."""
    failures: list[str] = field(default_factory=list)
    last_was_429: bool = False

    def throttled(self, error: str, retry_after: float | None, now: float, timing: Timing) -> None:
        self.refusals += 1
        self.failures.append(error)
        self.failed_at, self.last_was_429 = now, True
        backoff = min(MAX_THROTTLE_DELAY, timing.post_lookup_delay_seconds * 2 ** (self.refusals - 1))
        self.wait = max(retry_after or 0.0, backoff)

    def unknown(self, error: str, retry_after: float | None, now: float, timing: Timing) -> None:
        self.uncertain += 1
        self.failures.append(error)
        self.failed_at, self.last_was_429 = now, False
        self.wait = max(retry_after or 0.0, timing.post_lookup_delay_seconds * 2 ** (self.uncertain - 1))

    def out_of_patience(self, timing: Timing, deadline: float | None) -> bool:
        return deadline is None and self.last_was_429 and self.refusals >= timing.throttled_posts_without_deadline

    def gave_up(self, leg: Leg, now: float, *, deadline: bool) -> str:
        rate = (f"; {self.refusals} of them refused for the broker's rate limit (HTTP 429) over "
                f"{now - self.started:.0f} s, each before creating anything" if self.refusals else "")
        why = (f"POST {self.posts + 1} could not finish before the function's deadline" if deadline else
               f"{self.refusals} rate-limit refusals with no deadline to bound them")
        return (f"not placed: {_failures(self.failures)}{rate}; no order under client order id "
                f"{leg.client_order_id} (looked up after each outcome-unknown POST); not resubmitted: {why}")


def _failures(failures: Sequence[str]) -> str:
    """The POST failures of one leg, for its error (bounded: the first and the last)."""
    if len(failures) == 1:
        return f"the POST failed ({failures[0]})"
    return f"{len(failures)} POSTs failed (first: {failures[0]}; last: {failures[-1]})"
