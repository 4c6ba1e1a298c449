"""The placer's state machine against the simulated broker, with faults injected by a wrapper."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.execution.legs import Leg
from services.execution.placer import Placer, Timing, placing_deadline
from shared.broker.port import BrokerUnavailable, OrderRejected, OrderRequest
from shared.venues.simulated.faults import Fault, SimFaults
from tests.fakes.execution_support import Context, FaultyBroker, seed_positions, sim_broker
from tests.fakes.sim_clock import SimClock

D = Decimal


def leg(symbol: str = "SPY", side: str = "buy", *, qty: str | None = None, notional: str | None = "1000",
        coid: str | None = None) -> Leg:
    if qty is not None:
        notional = None
    return Leg(0, coid or f"alch-p1-{symbol}-{side}-0", symbol, side, D(qty) if qty else None,  # type: ignore[arg-type]
               D(notional) if notional else None, True, D("500"))


@pytest.fixture
def clock():
    return SimClock()


def placer_for(broker, clock, **timing) -> Placer:
    return Placer(broker, Timing(**{"fill_wait_seconds": 10, "poll_interval_seconds": 1, "post_lookup_attempts": 3,
                                    "post_lookup_delay_seconds": 0.5, **timing}),
                  sleep=clock.sleep, monotonic=clock.monotonic)


def orders_with(broker, coid):
    return [o for o in broker.list_orders() if o.client_order_id == coid]


def test_a_new_order_is_looked_up_then_submitted_once(tmp_path, clock):
    broker = FaultyBroker(sim_broker(tmp_path))
    placement = placer_for(broker, clock).place(leg())
    assert placement.how == "submitted" and placement.order.status == "filled"
    assert broker.posts == ["alch-p1-SPY-buy-0"]


def test_an_existing_order_is_adopted_without_a_post(tmp_path, clock):
    inner = sim_broker(tmp_path)
    inner.submit_order(OrderRequest("alch-p1-SPY-buy-0", "SPY", "buy", notional=D("1000")))
    broker = FaultyBroker(inner)
    placement = placer_for(broker, clock).place(leg())
    assert placement.how == "adopted" and placement.order.client_order_id == "alch-p1-SPY-buy-0"
    assert broker.posts == []
    assert len(orders_with(inner, "alch-p1-SPY-buy-0")) == 1


def test_a_lost_reply_is_recovered_by_looking_the_order_up(tmp_path, clock):
    broker = FaultyBroker(sim_broker(tmp_path), submit_faults={"alch-p1-SPY-buy-0": "lost_reply"})
    placement = placer_for(broker, clock).place(leg())
    assert placement.how == "adopted" and placement.order.status == "filled"
    assert broker.posts == ["alch-p1-SPY-buy-0"]  # never re-POSTed
    assert clock.sleeps == [0.5]  # waited once before the look-up


def test_a_refused_post_confirmed_absent_is_resubmitted_once_with_the_same_id(tmp_path, clock):
    inner = sim_broker(tmp_path)
    broker = FaultyBroker(inner, submit_faults={"alch-p1-SPY-buy-0": "refused"})
    placement = placer_for(broker, clock).place(leg())
    assert placement.how == "submitted" and placement.order.status == "filled"
    assert broker.posts == ["alch-p1-SPY-buy-0", "alch-p1-SPY-buy-0"]  # the same id, never a new one
    assert len(orders_with(inner, "alch-p1-SPY-buy-0")) == 1
    assert clock.sleeps == [0.5]  # the look-up's wait; the resubmission was due 0.5 s after the failure


def test_posts_failing_every_time_are_bounded_then_reported_failed(tmp_path, clock):
    inner = sim_broker(tmp_path)
    broker = FaultyBroker(inner, next_submit_faults=["refused"] * 5)
    placement = placer_for(broker, clock, post_attempts=3).place(leg())
    assert placement.how == "failed" and placement.order is None
    assert "3 POSTs failed" in placement.error and "gave up after 3 POSTs" in placement.error
    assert broker.posts == ["alch-p1-SPY-buy-0"] * 3
    assert orders_with(inner, "alch-p1-SPY-buy-0") == []
    # a look-up after each failure; the 2nd resubmission is due 1 s after its failure (backoff 0.5 s x 2)
    assert clock.sleeps == [0.5, 0.5, 0.5, 0.5]


class RateLimitedPosts:
    """Refuses the first `refusals` POSTs as a 429 would, asking to retry after `retry_after` seconds."""

    def __init__(self, inner, refusals: int, retry_after: float | None) -> None:
        self.inner, self.refusals, self.retry_after = inner, refusals, retry_after
        self.posts: list[str] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def submit_order(self, request):
        self.posts.append(request.client_order_id)
        if self.refusals > 0:
            self.refusals -= 1
            raise BrokerUnavailable(f"order {request.client_order_id}: HTTP 429: rate limit exceeded",
                                    retry_after=self.retry_after)
        return self.inner.submit_order(request)


def test_a_resubmission_waits_for_the_brokers_retry_after(tmp_path, clock):
    broker = RateLimitedPosts(sim_broker(tmp_path), refusals=2, retry_after=7.0)
    started = clock.now
    placement = placer_for(broker, clock).place(leg())
    assert placement.how == "submitted"
    assert broker.posts == ["alch-p1-SPY-buy-0"] * 3
    assert clock.sleeps == [0.5, 6.5, 0.5, 6.5]  # look up, then the rest of the 7 s the broker asked for
    assert clock.now - started == 14.0


def test_no_resubmission_that_cannot_finish_before_the_deadline(tmp_path, clock):
    inner = sim_broker(tmp_path)
    broker = RateLimitedPosts(inner, refusals=1, retry_after=30.0)
    placer = Placer(broker, Timing(post_lookup_delay_seconds=0.5, post_seconds=10.0), sleep=clock.sleep,
                    monotonic=clock.monotonic, deadline=clock.now + 35.0)  # 30 s wait + 10 s POST > 35 s
    placement = placer.place(leg())
    assert placement.how == "failed" and "deadline" in placement.error
    assert broker.posts == ["alch-p1-SPY-buy-0"] and orders_with(inner, "alch-p1-SPY-buy-0") == []
    assert clock.sleeps == [0.5]  # looked up, then did not wait for a POST it would not make


def test_a_resubmission_that_fits_the_deadline_is_made(tmp_path, clock):
    broker = RateLimitedPosts(sim_broker(tmp_path), refusals=1, retry_after=20.0)
    placer = Placer(broker, Timing(post_lookup_delay_seconds=0.5, post_seconds=10.0), sleep=clock.sleep,
                    monotonic=clock.monotonic, deadline=clock.now + 35.0)
    assert placer.place(leg()).how == "submitted" and len(broker.posts) == 2


def test_the_placing_deadline_is_the_lambdas_less_what_the_run_needs_after_placing(clock):
    timing = Timing(fill_wait_seconds=60, poll_interval_seconds=2)
    assert timing.after_placing_seconds == 2 * (60 + 3 * 2) + 10
    assert placing_deadline(Context(remaining_ms=300_000), timing, clock.monotonic) == clock.now + 300 - 142
    assert placing_deadline(object(), timing, clock.monotonic) is None


def test_a_post_whose_order_appears_after_all_is_adopted_not_duplicated(tmp_path, clock):
    # The first POST timed out while in flight: the look-up finds nothing, the resubmission meets the
    # order the first one created (the broker refuses the id twice) and adopts it.
    inner = sim_broker(tmp_path)
    broker = FaultyBroker(inner)
    original = broker.get_order_by_client_id
    calls = {"n": 0}

    def late_lookup(coid):
        calls["n"] += 1
        if calls["n"] == 2:  # the look-up right after the failed POST: not there yet
            inner.submit_order(leg().request())  # ...and then the in-flight POST lands
            return None
        return original(coid)

    broker.get_order_by_client_id = late_lookup  # type: ignore[method-assign]
    broker.submit_faults["alch-p1-SPY-buy-0"] = "refused"
    placement = placer_for(broker, clock).place(leg())
    assert placement.how == "adopted"
    assert len(orders_with(inner, "alch-p1-SPY-buy-0")) == 1


def test_a_resubmission_refused_because_the_first_post_landed_after_all_adopts_that_order(tmp_path, clock):
    # The first POST timed out in flight; the look-up missed it; by the resubmission it has landed and used
    # the buying power, and the broker refuses the resubmission for that rather than as a duplicate.
    inner = sim_broker(tmp_path)
    posts: list[str] = []

    class LateLanding:
        def __getattr__(self, name):
            return getattr(inner, name)

        def submit_order(self, request):
            posts.append(request.client_order_id)
            if len(posts) == 1:
                raise BrokerUnavailable("order: read timed out (injected); outcome unknown")
            inner.submit_order(request)  # the first POST lands now ...
            raise OrderRejected("insufficient buying power (injected)")  # ... and the second is refused

    placement = placer_for(LateLanding(), clock).place(leg())
    assert placement.how == "adopted" and placement.order is not None
    assert posts == ["alch-p1-SPY-buy-0"] * 2 and len(orders_with(inner, "alch-p1-SPY-buy-0")) == 1


def test_a_refused_leg_whose_order_appeared_meanwhile_is_adopted(tmp_path, clock):
    inner = sim_broker(tmp_path)
    seed_positions(inner, {"SPY": "4"})
    placer = placer_for(FaultyBroker(inner), clock)
    sell = leg(side="sell", qty="4")
    assert placer.refuse(sell, "short").how == "rejected"
    inner.submit_order(sell.request())  # a concurrent run places our sell under our id
    refused = placer.refuse(sell, "selling 4 SPY exceeds the 0 shares available")
    assert refused.how == "adopted" and refused.order.status == "filled"


def test_a_refusal_whose_look_up_fails_is_an_unknown_outcome(tmp_path, clock):
    broker = FaultyBroker(sim_broker(tmp_path), lookup_failures=1)
    refused = placer_for(broker, clock).refuse(leg(side="sell", qty="4"), "short")
    assert refused.how == "unknown" and refused.error.startswith("short; not placed by this run")
    assert "unknown" in refused.error and broker.posts == []


def test_an_amount_no_broker_takes_is_rejected_without_a_post(tmp_path, clock):
    broker = FaultyBroker(sim_broker(tmp_path))
    bad = Leg(0, "x" * 129, "SPY", "buy", None, D("10"), True, D("500"))  # an id longer than 128
    placement = placer_for(broker, clock).place(bad)
    assert placement.how == "rejected" and "not sent" in placement.error and broker.posts == []


def test_look_up_failures_during_recovery_are_retried_within_the_bound(tmp_path, clock):
    broker = FaultyBroker(sim_broker(tmp_path), submit_faults={"alch-p1-SPY-buy-0": "lost_reply"})
    placer = placer_for(broker, clock)
    broker.lookup_failures = 0
    original = broker.submit_order

    def submit_then_fail_lookups(request):
        try:
            return original(request)
        finally:
            broker.lookup_failures = 2

    broker.submit_order = submit_then_fail_lookups  # type: ignore[method-assign]
    placement = placer.submit(leg())
    assert placement.how == "adopted"


def test_look_ups_failing_every_time_leave_the_order_unknown_not_resubmitted(tmp_path, clock):
    broker = FaultyBroker(sim_broker(tmp_path), submit_faults={"alch-p1-SPY-buy-0": "lost_reply"})
    placer = placer_for(broker, clock)
    original = broker.submit_order

    def submit_then_fail_lookups(request):
        try:
            return original(request)
        finally:
            broker.lookup_failures = 99

    broker.submit_order = submit_then_fail_lookups  # type: ignore[method-assign]
    placement = placer.submit(leg())
    assert placement.how == "unknown" and "did not answer" in placement.error and "not resubmitted" in placement.error
    assert broker.posts == ["alch-p1-SPY-buy-0"]  # absence never confirmed: never resubmitted


def test_a_duplicate_answer_is_adopted_at_once(tmp_path, clock):
    broker = FaultyBroker(sim_broker(tmp_path), submit_faults={"alch-p1-SPY-buy-0": "duplicate"})
    placement = placer_for(broker, clock).place(leg())
    assert placement.how == "adopted" and clock.sleeps == []


def test_a_rejection_is_definitive(tmp_path, clock):
    inner = sim_broker(tmp_path, faults=SimFaults(by_symbol={"SPY": Fault("reject", message="asset halted")}))
    placement = placer_for(FaultyBroker(inner), clock).place(leg())
    assert placement.how == "rejected" and placement.error == "asset halted" and placement.order is None


def test_an_id_found_on_another_symbol_is_left_alone(tmp_path, clock):
    inner = sim_broker(tmp_path)
    inner.submit_order(OrderRequest("alch-p1-SPY-buy-0", "QQQ", "buy", notional=D("100")))
    broker = FaultyBroker(inner)
    placement = placer_for(broker, clock).place(leg())
    assert placement.how == "failed" and "belongs to a buy QQQ order" in placement.error
    assert broker.posts == []


def test_wait_polls_partial_fills_until_filled(tmp_path, clock):
    faults = SimFaults(by_client_order_id={"alch-p1-SPY-sell-0": Fault("partial", steps=(D("0.25"), D("0.5"), D("1")))})
    broker = sim_broker(tmp_path, faults=faults)
    seed_positions(broker, {"SPY": "8"})
    placer = placer_for(broker, clock)
    placement = placer.place(leg(side="sell", qty="4"))
    assert placement.order.status == "new"
    placer.wait([placement])
    assert placement.order.status == "filled" and placement.order.filled_qty == D("4")
    assert clock.sleeps == [1, 1]  # three polls, two sleeps


def test_an_order_that_never_fills_is_canceled_after_a_bounded_wait_keeping_its_fills(tmp_path, clock):
    faults = SimFaults(by_client_order_id={"alch-p1-SPY-sell-0": Fault("partial", steps=(D("0.25"), D("0.5")))})
    broker = sim_broker(tmp_path, faults=faults)
    seed_positions(broker, {"SPY": "8"})
    placer = placer_for(broker, clock, fill_wait_seconds=5, poll_interval_seconds=2)
    placement = placer.place(leg(side="sell", qty="8"))
    placer.wait([placement])
    assert sum(clock.sleeps) == pytest.approx(5)
    assert placement.order.status == "partially_filled"
    canceled = placer.cancel_open([placement])
    assert canceled == [placement]
    assert placement.order.status == "canceled" and placement.order.filled_qty == D("4")


def test_a_stalled_order_is_canceled_with_nothing_filled(tmp_path, clock):
    broker = sim_broker(tmp_path, faults=SimFaults(by_symbol={"SPY": Fault("stall")}))
    placer = placer_for(broker, clock, fill_wait_seconds=3)
    placement = placer.place(leg())
    placer.wait([placement])
    placer.cancel_open([placement])
    assert placement.order.status == "canceled" and placement.order.filled_qty == 0


def test_zero_fill_wait_polls_once_and_never_sleeps(tmp_path, clock):
    broker = sim_broker(tmp_path, faults=SimFaults(by_symbol={"SPY": Fault("stall")}))
    placer = placer_for(broker, clock, fill_wait_seconds=0)
    placement = placer.place(leg())
    placer.wait([placement])
    assert clock.sleeps == []
