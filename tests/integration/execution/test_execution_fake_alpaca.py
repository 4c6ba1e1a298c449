"""Execution through alpaca-py against the fake Alpaca server: every fault, and at the broker each
planned order exactly once (none duplicated, none lost) unless the broker refused it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from shared.limits.model import Limits
from tests.fakes.concurrency import all_at_once, named
from tests.fakes.execution_support import Crash, buy, coid, sell
from tests.integration.execution.conftest import Harness, today_ny

D = Decimal
FAKE_ACCOUNT = "PA0000FAKE"  # the fake's account number: our account id at Alpaca


def _coid(symbol: str, side: str) -> str:
    return coid(symbol, side, trading_date=today_ny(), account_id=FAKE_ACCOUNT)


SELL_SPY, SELL_QQQ = _coid("SPY", "sell"), _coid("QQQ", "sell")
BUY_TLT, BUY_GLD = _coid("TLT", "buy"), _coid("GLD", "buy")
ALL = [SELL_SPY, SELL_QQQ, BUY_TLT, BUY_GLD]


@pytest.fixture
def h(harness: Harness) -> Harness:
    harness.fake.set_position("SPY", "40", avg_entry_price="450")
    harness.fake.set_position("QQQ", "50", avg_entry_price="400")
    harness.fake.set_account(cash="58500")  # equity 58,500 + 20,000 + 21,500 = 100,000
    return harness


def rotation(h: Harness, **kwargs):
    return h.plan([sell("SPY", "40"), buy("TLT", notional="20000"), sell("QQQ", "20"),
                   buy("GLD", notional="15000")], **kwargs)


def posts(h: Harness) -> list[str]:
    return [r.body["client_order_id"] for r in h.fake.requests_to("POST /v2/orders")]


def test_sells_are_posted_and_settled_before_any_buy(h: Harness):
    response = h.deliver(rotation(h))
    assert response["status"] == "success"
    assert posts(h) == [SELL_SPY, SELL_QQQ, BUY_TLT, BUY_GLD]
    h.assert_exactly_once(ALL)
    [event] = h.events
    for result in event.orders:
        [order] = h.fake.orders_with_client_id(result.client_order_id)
        assert result.broker_order_id == order["id"] and result.filled_qty == D(order["filled_qty"])
        assert result.avg_fill_price == D(order["filled_avg_price"])  # from the broker, never invented


def test_duplicate_delivery_places_nothing_more(h: Harness):
    h.deliver(rotation(h))
    assert h.deliver(rotation(h))["status"] == "duplicate"
    assert len(posts(h)) == 4 and len(h.events) == 1
    h.assert_exactly_once(ALL)


def test_concurrent_delivery_places_each_order_once(h: Harness):
    statuses = named(all_at_once([lambda: h.deliver(rotation(h))] * 3), lambda r: r["status"],
                     {IdempotencyAlreadyInProgressError: "in progress"})
    assert statuses.count("success") == 1
    assert h.deliver(rotation(h))["status"] == "duplicate"
    assert len(posts(h)) == 4
    h.assert_exactly_once(ALL)


@pytest.mark.parametrize("crash_after", [1, 2, 3, 4])
def test_a_crash_after_each_submission_then_redelivery(h: Harness, crash_after: int):
    with pytest.raises(Crash):
        h.deliver(rotation(h), broker=h.crashing(crash_after), remaining_ms=0)
    assert len(h.placed()) == crash_after
    response = h.deliver(rotation(h))
    assert response["status"] == "success" and response["resumed"] is True
    assert len(posts(h)) == 4  # the orders placed before the crash were looked up and adopted
    h.assert_exactly_once(ALL)
    [event] = h.events
    assert all(r.status == "filled" for r in event.orders)


def test_a_timeout_on_an_order_post_is_resolved_by_looking_it_up(harness: Harness):
    h = harness
    h.timeout = 0.3
    h.fake.script_next("POST /v2/orders", delay=1.0, after_create=True)
    response = h.deliver(h.plan([buy("TLT", notional="20000"), buy("GLD", notional="15000")]))
    assert response["status"] == "success"
    assert len(posts(h)) == 2
    h.assert_exactly_once([BUY_TLT, BUY_GLD])


@pytest.mark.parametrize("fault", [{"status": 504}, {"drop": True}])
def test_a_lost_reply_after_the_broker_accepted_is_adopted(h: Harness, fault):
    h.fake.script_next("POST /v2/orders", after_create=True, **fault)
    assert h.deliver(rotation(h))["status"] == "success"
    assert len(posts(h)) == 4
    h.assert_exactly_once(ALL)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_post_refused_before_creation_is_resubmitted_with_the_same_id(h: Harness, status: int):
    h.fake.script_next("POST /v2/orders", status=status)
    response = h.deliver(rotation(h))
    assert response["status"] == "success"
    assert posts(h).count(SELL_SPY) == 2 and len(posts(h)) == 5  # one resubmission, same id; nothing else twice
    h.assert_exactly_once(ALL)


def test_a_post_refused_every_time_is_reported_failed_after_the_bounded_resubmissions(h: Harness):
    h.fake.script_next("POST /v2/orders", status=503, times=3)  # post_attempts (3) refusals for the first leg
    response = h.deliver(rotation(h))
    assert response["execution_status"] == "partial"
    [event] = h.events
    spy = next(r for r in event.orders if r.symbol == "SPY")
    assert spy.status == "failed" and "gave up after 3 POSTs" in spy.error and spy.broker_order_id is None
    assert posts(h).count(SELL_SPY) == 3
    h.assert_exactly_once([SELL_QQQ, BUY_TLT, BUY_GLD])


def test_429_storms_on_reads_are_ridden_out(h: Harness):
    for route, times in (("GET /v2/clock", 3), ("GET /v2/account", 2), ("GET /v2/orders:by_client_order_id", 4),
                         ("GET /v2/positions", 3)):
        h.fake.script_next(route, status=429, times=times)
    assert h.deliver(rotation(h))["status"] == "success"
    h.assert_exactly_once(ALL)
    assert sum(1 for r in h.fake.requests if r.status == 429) == 12
    assert h.clock.sleeps  # backed off (in simulated time)


def test_polling_many_open_orders_stays_under_200_requests_a_minute(tmp_path):
    from tests.fakes.fake_alpaca import running_fake_alpaca
    from tests.fakes.sim_clock import SimClock

    clock = SimClock()
    with running_fake_alpaca(clock=clock) as fake:
        fake.enforce_rate_limit(200, window=60.0)
        symbols = ["SPY", "QQQ", "TQQQ", "SQQQ", "BIL", "TLT", "GLD", "AAPL"]
        for symbol in symbols:
            fake.fill_mode(symbol, "stall")
        h = Harness(fake, tmp_path, clock=clock, fill_wait=120.0)
        response = h.deliver(h.plan([buy(s, notional="1000") for s in symbols]))
        assert response["execution_status"] == "failed"  # nothing filled: all canceled after the wait
        assert not [r for r in fake.requests if r.status == 429]
        stamps = [r.at for r in fake.requests]
        assert len(stamps) > 200  # enough traffic for the limit to matter
        assert max(sum(1 for t in stamps if start <= t < start + 60) for start in stamps) <= 200
        h.assert_exactly_once([_coid(s, "buy") for s in symbols])
        assert {o["status"] for o in fake.orders} == {"canceled"}


def test_partial_fills_are_reported_from_the_cumulative_quantity_and_the_rest_canceled(h: Harness):
    h.fake.fill_mode("QQQ", "partial", steps=["0.25", "0.5"])
    h.fake.fill_mode("TLT", "partial", steps=["0.5", "1"])
    response = h.deliver(rotation(h))
    assert response["execution_status"] == "partial" and response["status"] == "failed"
    [event] = h.events
    by_symbol = {r.symbol: r for r in event.orders}
    assert (by_symbol["QQQ"].status, by_symbol["QQQ"].filled_qty) == ("partially_filled", D("10"))
    assert "the rest canceled" in by_symbol["QQQ"].error
    assert by_symbol["TLT"].status == "filled"
    [qqq] = h.fake.orders_with_client_id(SELL_QQQ)
    assert qqq["status"] == "canceled" and D(qqq["filled_qty"]) == D("10")
    h.assert_exactly_once(ALL)


def test_rejected_orders_are_reported_rejected(h: Harness):
    h.fake.fill_mode("GLD", "reject")  # accepted, then rejected by the broker
    plan = h.plan([sell("SPY", "40"), buy("TLT", notional="20000"), sell("QQQ", "20"), buy("GLD", notional="15000"),
                   buy("ZZZZ", notional="100")])  # unknown asset: refused at the POST
    response = h.deliver(plan)
    assert response["execution_status"] == "partial"
    [event] = h.events
    by_symbol = {r.symbol: r for r in event.orders}
    assert by_symbol["GLD"].status == "rejected" and by_symbol["GLD"].broker_order_id is not None
    assert by_symbol["ZZZZ"].status == "rejected" and "not found" in by_symbol["ZZZZ"].error
    h.assert_exactly_once(ALL)  # ZZZZ was refused: it does not exist


def test_market_closed_places_nothing_and_fails_the_run(h: Harness):
    h.fake.set_clock(open=False)
    response = h.deliver(rotation(h))
    assert (response["status"], response["execution_status"]) == ("failed", "market_closed")
    [event] = h.events
    assert event.orders == () and not event.success and "market closed" in event.reason
    assert posts(h) == []


@pytest.mark.parametrize("state,expected", [
    ("active", ALL), ("reducing", [SELL_SPY, SELL_QQQ]), ("halted", [])])
def test_each_kill_switch_state(h: Harness, state: str, expected: list[str]):
    h.kill_switch_file.write_text(state)
    h.deliver(rotation(h))
    [event] = h.events
    assert event.kill_switch == state
    assert event.status == {"active": "executed", "reducing": "partial", "halted": "halted"}[state]
    h.assert_exactly_once(expected)


@pytest.mark.parametrize("limits,message", [
    (Limits(max_order_equity_fraction=D("0.15")), "max_order_equity_fraction (15%): buy TLT $20,000.00 is 20% of "
                                                  "equity $100,000.00"),
    (Limits(max_turnover_equity_fraction=D("0.3")), "max_turnover_equity_fraction (30%): the plan buys $35,000.00, "
                                                    "35% of equity $100,000.00"),
    (Limits(max_position_weight=D("0.1")), "max_position_weight (10%): TLT would be 20% of equity ($20,000.00 of "
                                           "$100,000.00) (also GLD)"),
    (Limits(max_orders_per_run=1), "max_orders_per_run (1): the plan places 2 buy orders"),
])
def test_each_risk_limit_places_nothing(h: Harness, limits, message):
    h.limits = limits
    response = h.deliver(rotation(h))
    assert response["execution_status"] == "rejected" and message in response["message"]
    assert posts(h) == []
    [event] = h.events
    assert event.status == "rejected" and message in event.reason
