"""Resubmitting a failed order POST, through the real alpaca-py client against the fake Alpaca server.

The fake answers the scripted 429/5xx (with their headers) to the first POSTs and counts every POST
it received: that count, and the orders it holds per client order id, are the assertions.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.execution.legs import Leg
from services.execution.placer import Placer, Timing
from tests.fakes.alpaca_broker import make_broker
from tests.fakes.fake_alpaca import FakeAlpaca, fake_alpaca, running_fake_alpaca
from tests.fakes.sim_clock import SimClock

__all__ = ["fake_alpaca"]
COID = "alch-wf-1-TLT-buy-0"
WALL = 1_700_000_000.0


def tlt_buy() -> Leg:
    return Leg(0, COID, "TLT", "buy", None, Decimal("2000"), True, Decimal("92"))


def placer(fake: FakeAlpaca, clock: SimClock, *, deadline: float | None = None, **timing: float) -> Placer:
    broker = make_broker(fake, clock, wall_clock=lambda: WALL + clock.now)
    options = {"post_lookup_delay_seconds": 0.5, "post_attempts": 3, **timing}
    return Placer(broker, Timing(**options), sleep=clock.sleep, monotonic=clock, deadline=deadline)  # type: ignore[arg-type]


def posts(fake: FakeAlpaca) -> list[tuple[str, int | None]]:
    return [(r.body["client_order_id"], r.status) for r in fake.requests_to("POST /v2/orders")]


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_on_the_post_is_resubmitted_with_the_same_id_once_confirmed_absent(fake_alpaca: FakeAlpaca,
                                                                                  status: int):
    clock = SimClock()
    fake_alpaca.script_next("POST /v2/orders", status=status)
    placement = placer(fake_alpaca, clock).place(tlt_buy())
    assert placement.how == "submitted" and placement.order is not None
    assert posts(fake_alpaca) == [(COID, status), (COID, 200)]
    assert [r.status for r in fake_alpaca.requests_to("GET /v2/orders:by_client_order_id")] == [404, 404]
    assert len(fake_alpaca.orders_with_client_id(COID)) == 1


def test_a_429_is_resubmitted_after_the_rate_limit_reset(fake_alpaca: FakeAlpaca):
    clock = SimClock()
    reset = str(int(WALL + clock.now + 9))  # the window resets 9 s from now (Unix seconds)
    fake_alpaca.script_next("POST /v2/orders", status=429,
                            headers={"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0",
                                     "X-RateLimit-Reset": reset})
    placement = placer(fake_alpaca, clock).place(tlt_buy())
    assert placement.how == "submitted"
    assert posts(fake_alpaca) == [(COID, 429), (COID, 200)]
    assert clock.sleeps == [9.0]  # a 429 creates nothing: no look-up, the whole 9 s until the reset


def test_a_503_retry_after_is_honoured(fake_alpaca: FakeAlpaca):
    clock = SimClock()
    fake_alpaca.script_next("POST /v2/orders", status=503, headers={"Retry-After": "4"})
    assert placer(fake_alpaca, clock).place(tlt_buy()).how == "submitted"
    assert clock.sleeps == [0.5, 3.5]
    assert len(posts(fake_alpaca)) == 2 and len(fake_alpaca.orders_with_client_id(COID)) == 1


def test_posts_failing_every_time_stop_at_the_bound_and_report_failed(fake_alpaca: FakeAlpaca):
    clock = SimClock()
    fake_alpaca.script_next("POST /v2/orders", status=503, times=5)
    placement = placer(fake_alpaca, clock, post_attempts=3).place(tlt_buy())
    assert placement.how == "failed" and "gave up after 3 POSTs" in (placement.error or "")
    assert posts(fake_alpaca) == [(COID, 503)] * 3  # bounded, and always the same client order id
    assert fake_alpaca.orders_with_client_id(COID) == []


def test_no_resubmission_past_the_deadline(fake_alpaca: FakeAlpaca):
    clock = SimClock()
    fake_alpaca.script_next("POST /v2/orders", status=429, headers={"Retry-After": "30"})
    placement = placer(fake_alpaca, clock, deadline=clock.now + 20.0, post_seconds=10.0).place(tlt_buy())
    assert placement.how == "failed" and "deadline" in (placement.error or "")
    assert posts(fake_alpaca) == [(COID, 429)]
    assert fake_alpaca.orders_with_client_id(COID) == []


def test_a_lost_reply_is_adopted_and_never_resubmitted(fake_alpaca: FakeAlpaca):
    clock = SimClock()
    fake_alpaca.script_next("POST /v2/orders", status=504, after_create=True)
    placement = placer(fake_alpaca, clock).place(tlt_buy())
    assert placement.how == "adopted"
    assert posts(fake_alpaca) == [(COID, 504)]
    assert len(fake_alpaca.orders_with_client_id(COID)) == 1


def test_a_resubmission_meeting_an_order_that_landed_late_adopts_it(fake_alpaca: FakeAlpaca):
    # The first POST created the order but the look-up right after missed it (the fake answered 404 by
    # script); the resubmission gets Alpaca's 422 for the id and adopts the one order.
    clock = SimClock()
    fake_alpaca.script_next("POST /v2/orders", status=503, after_create=True)
    fake_alpaca.script_next("GET /v2/orders:by_client_order_id", status=404,
                            body={"code": 40410000, "message": "order not found"})
    placement = placer(fake_alpaca, clock).submit(tlt_buy())  # (the caller's look-up is done)
    assert placement.how == "adopted"
    assert posts(fake_alpaca) == [(COID, 503), (COID, 422)]
    assert len(fake_alpaca.orders_with_client_id(COID)) == 1


# ---- 429s are refusals; a duplicate id means the order exists (issue 24, items 4 and 5) -------------

def lookups(fake: FakeAlpaca) -> list[int | None]:
    return [r.status for r in fake.requests_to("GET /v2/orders:by_client_order_id")]


def test_six_429s_in_a_row_are_resubmitted_until_the_broker_takes_the_order(fake_alpaca: FakeAlpaca):
    """A 429 creates nothing: the same POST is sent again (after the reset) however often, within the deadline."""
    clock = SimClock()
    fake_alpaca.script_next("POST /v2/orders", status=429, times=6,
                            headers={"X-RateLimit-Remaining": "0", "Retry-After": "2"})
    placement = placer(fake_alpaca, clock, deadline=clock.now + 600.0, post_seconds=10.0).place(tlt_buy())
    assert placement.how == "submitted" and placement.order is not None, placement.error
    assert posts(fake_alpaca) == [(COID, 429)] * 6 + [(COID, 200)]
    assert len(fake_alpaca.orders_with_client_id(COID)) == 1
    assert all(s >= 2.0 for s in clock.sleeps[-6:])  # each resubmission waited for the Retry-After


def test_429s_until_the_deadline_are_reported_failed_with_the_reason(fake_alpaca: FakeAlpaca):
    clock = SimClock()
    fake_alpaca.script_next("POST /v2/orders", status=429, times=50, headers={"Retry-After": "5"})
    placement = placer(fake_alpaca, clock, deadline=clock.now + 60.0, post_seconds=10.0).place(tlt_buy())
    assert placement.how == "failed" and placement.order is None
    error = placement.error or ""
    assert "429" in error and "rate limit" in error and "deadline" in error, error
    assert fake_alpaca.orders_with_client_id(COID) == []
    assert clock.now <= 1000.0 + 60.0  # never past the deadline


def test_a_duplicate_id_with_a_stale_look_up_keeps_looking_until_the_order_shows(fake_alpaca: FakeAlpaca):
    """The POST's reply is lost, the look-ups answer 404 for 30 s: the resubmission's 422 says the order
    exists, so the placer keeps looking it up (within the deadline) and adopts the one order."""
    clock = SimClock()
    with running_fake_alpaca(clock=clock) as fake:
        fake.stale_lookups(30.0)
        fake.script_next("POST /v2/orders", status=504, after_create=True)
        placement = placer(fake, clock, deadline=clock.now + 300.0).place(tlt_buy())
        assert placement.how == "adopted" and placement.order is not None, placement.error
        assert [s for _, s in posts(fake)] == [504, 422]
        assert any(r.stale for r in fake.requests_to("GET /v2/orders:by_client_order_id"))
        assert lookups(fake)[-1] == 200 and len(fake.orders_with_client_id(COID)) == 1


def test_a_duplicate_id_never_visible_before_the_deadline_is_unknown_not_failed(fake_alpaca: FakeAlpaca):
    clock = SimClock()
    with running_fake_alpaca(clock=clock) as fake:
        fake.stale_lookups(10_000.0)
        fake.script_next("POST /v2/orders", status=504, after_create=True)
        placement = placer(fake, clock, deadline=clock.now + 120.0).place(tlt_buy())
        assert placement.how == "unknown", (placement.how, placement.error)
        assert "exists" in (placement.error or "") and "422" in (placement.error or "")
        assert [s for _, s in posts(fake)] == [504, 422]  # never a third POST
        assert len(fake.orders_with_client_id(COID)) == 1
        assert clock.now <= 1000.0 + 120.0
