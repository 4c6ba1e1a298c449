"""The order-placing engine over the Broker port: each leg placed at most once, outcomes always known.

Per leg:
  look up by client order id ─ found ──────────────────────────────► adopted
        │ not found
        ▼
  submit once ─ accepted ──────────────────────────────────────────► submitted
        ├─ OrderRejected (definitive: no order exists) ─────────────► rejected
        ├─ DuplicateClientOrderId (it exists: alpaca-py or a twin run) ► look up ► adopted
        └─ BrokerUnavailable (timeout, 5xx, 429: outcome unknown) ──► look up, a few bounded times
                                                 found ► adopted / never found ► failed "outcome unknown"
The POST is never repeated within a run: an order whose outcome stays unknown is reported failed
(a later run for the same plan looks it up again before doing anything). An order found under
our id but for another symbol or side is never touched and is reported failed.

Waiting: `wait` polls open orders (cumulative filled_qty, from the broker) until all are final or
`fill_wait_seconds` has passed, sleeping `poll_interval_seconds` between rounds; `cancel_open`
cancels what is left and re-reads each order for its final fills. Sleep and clock are injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True)
class Timing:
    fill_wait_seconds: float = 60.0
    poll_interval_seconds: float = 2.0
    post_lookup_attempts: int = 4
    post_lookup_delay_seconds: float = 1.0


class Placer:
    def __init__(
        self,
        broker: Broker,
        timing: Timing,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.broker = broker
        self.timing = timing
        self._sleep = sleep
        self._monotonic = monotonic

    # ---- placing -------------------------------------------------------------------------------

    def find(self, leg: Leg) -> Placement | None:
        """The leg's order if the broker has it (adopted), else None. Read errors propagate."""
        order = self.broker.get_order_by_client_id(leg.client_order_id)
        return None if order is None else self._adopt(leg, order)

    def submit(self, leg: Leg) -> Placement:
        """POST the leg once (the caller has just looked it up and not found it)."""
        try:
            order = self.broker.submit_order(leg.request())
        except OrderRejected as exc:
            logger.warning("order %s rejected: %s", leg.client_order_id, exc)
            return Placement(leg, "rejected", error=str(exc))
        except DuplicateClientOrderId as exc:
            logger.warning("order %s already exists at the broker; adopting it", leg.client_order_id)
            return self._recover(leg, f"the broker reports it exists ({exc})", wait_first=False)
        except BrokerError as exc:  # BrokerUnavailable and anything else: the outcome is unknown
            logger.warning("order %s: outcome unknown (%s); looking it up", leg.client_order_id, exc)
            return self._recover(leg, str(exc), wait_first=True)
        return Placement(leg, "submitted", order)

    def place(self, leg: Leg) -> Placement:
        """Look up, then adopt or submit once."""
        return self.find(leg) or self.submit(leg)

    def _adopt(self, leg: Leg, order: Order) -> Placement:
        if order.symbol != leg.symbol or order.side != leg.side:
            return Placement(leg, "failed", order=None, error=(
                f"client order id {leg.client_order_id} belongs to a {order.side} {order.symbol} order "
                f"({order.broker_order_id}) at the broker; left alone, nothing placed"))
        return Placement(leg, "adopted", order)

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
