"""The placer's state machine against the simulated broker, with faults injected by a wrapper."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.execution.legs import Leg
from services.execution.placer import Placer, Timing
from shared.broker.port import OrderRequest
from shared.broker.simulated_faults import Fault, SimFaults
from tests.unit.execution.support import FaultyBroker, SimClock, seed_positions, sim_broker

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


def test_a_refused_post_is_never_resubmitted_and_reported_outcome_unknown(tmp_path, clock):
    inner = sim_broker(tmp_path)
    broker = FaultyBroker(inner, submit_faults={"alch-p1-SPY-buy-0": "refused"})
    placement = placer_for(broker, clock).place(leg())
    assert placement.how == "failed"
    assert "outcome unknown" in placement.error and "not resubmitted" in placement.error
    assert "after 3 look-ups" in placement.error
    assert broker.posts == ["alch-p1-SPY-buy-0"]
    assert orders_with(inner, "alch-p1-SPY-buy-0") == []
    assert clock.sleeps == [0.5, 1.0, 2.0]  # bounded, growing


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


def test_look_ups_failing_every_time_leave_the_order_failed_not_resubmitted(tmp_path, clock):
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
    assert placement.how == "failed" and "last look-up failed" in placement.error
    assert broker.posts == ["alch-p1-SPY-buy-0"]


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
