"""Reads retry 429/5xx with backoff; all stays under 200 requests/minute; alpaca-py's own retry is off."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from shared.broker.port import BrokerUnavailable, OrderRequest
from shared.venues.alpaca.http import disable_builtin_retry, install_timeout
from shared.venues.alpaca.rate_limit import RateLimiter
from shared.venues.alpaca.trading import AlpacaBroker
from tests.fakes.alpaca_broker import make_broker
from tests.fakes.fake_alpaca import FakeAlpaca, running_fake_alpaca
from tests.fakes.sim_clock import SimClock


def test_429_storm_on_reads_is_retried_with_growing_backoff(
    fake_alpaca: FakeAlpaca, sim_clock: SimClock
) -> None:
    broker = make_broker(fake_alpaca, sim_clock, wall_clock=lambda: 0.0)
    fake_alpaca.script_next("GET /v2/account", status=429, times=3, headers={"X-RateLimit-Limit": "200"})

    account = broker.get_account()

    assert account.cash == Decimal("100000")
    assert [r.status for r in fake_alpaca.requests_to("GET /v2/account")] == [429, 429, 429, 200]
    assert sim_clock.sleeps == [0.5, 1.0, 2.0]


def test_429_reset_header_is_honoured(fake_alpaca: FakeAlpaca, sim_clock: SimClock) -> None:
    broker = make_broker(fake_alpaca, sim_clock, wall_clock=lambda: 1_700_000_000.0)
    fake_alpaca.script_next(
        "GET /v2/positions",
        status=429,
        headers={"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000007"},
    )
    assert broker.get_positions() == []
    assert sim_clock.sleeps == [7.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_on_reads_is_retried(fake_alpaca: FakeAlpaca, broker: AlpacaBroker, status: int) -> None:
    fake_alpaca.script_next("GET /v2/clock", status=status, times=2)
    assert broker.get_clock().is_open is True
    assert len(fake_alpaca.requests_to("GET /v2/clock")) == 3


def test_read_timeouts_are_retried(fake_alpaca: FakeAlpaca, sim_clock: SimClock) -> None:
    broker = make_broker(fake_alpaca, sim_clock, timeout=0.2)
    fake_alpaca.script_next("GET /v2/orders:by_client_order_id", delay=1.0)
    assert broker.get_order_by_client_id("x") is None
    assert len(fake_alpaca.requests_to("GET /v2/orders:by_client_order_id")) == 2


def test_exhausted_read_retries_raise_unavailable(fake_alpaca: FakeAlpaca, sim_clock: SimClock) -> None:
    broker = make_broker(fake_alpaca, sim_clock, read_attempts=4)
    fake_alpaca.script_next("GET /v2/account", status=429, times=10, headers={"X-RateLimit-Remaining": "0"})
    with pytest.raises(BrokerUnavailable, match="429"):
        broker.get_account()
    assert len(fake_alpaca.requests_to("GET /v2/account")) == 4
    assert sim_clock.sleeps == [0.5, 1.0, 2.0]


def test_rate_limiter_keeps_every_minute_under_200_requests() -> None:
    clock = SimClock()
    with running_fake_alpaca(clock=clock) as fake:
        fake.enforce_rate_limit(200, window=60.0)
        broker = make_broker(fake, clock)
        for i in range(450):
            if i % 3 == 0:
                broker.get_clock()
            else:
                broker.get_order_by_client_id(f"c{i}")
        stamps = [r.at for r in fake.requests]

    assert len(stamps) == 450
    assert all(r.status != 429 for r in fake.requests)
    busiest = max(sum(1 for t in stamps if s - 60.0 < t <= s) for s in stamps)
    assert busiest <= 200
    assert clock.now - 1000.0 >= 60.0  # it really had to wait


def test_without_the_limiter_the_fake_would_answer_429(sim_clock: SimClock) -> None:
    """The rate-limit check above can fail: a limiter allowing 400/min trips the fake's 200/min."""
    with running_fake_alpaca(clock=sim_clock) as fake:
        fake.enforce_rate_limit(200, window=60.0)
        loose = RateLimiter(400, burst=300, clock=sim_clock, sleep=sim_clock.sleep)
        broker = make_broker(fake, sim_clock, rate_limiter=loose, wall_clock=lambda: 0.0)
        for i in range(260):
            broker.get_order_by_client_id(f"c{i}")
    assert any(r.status == 429 for r in fake.requests)


def test_order_posts_take_rate_limit_tokens_too(fake_alpaca: FakeAlpaca, sim_clock: SimClock) -> None:
    limiter = RateLimiter(20, burst=2, clock=sim_clock, sleep=sim_clock.sleep)
    broker = make_broker(fake_alpaca, sim_clock, rate_limiter=limiter)
    for i in range(4):
        broker.submit_order(OrderRequest(f"o{i}", "SPY", "buy", qty=Decimal("1")))
    assert sim_clock.sleeps  # the third and fourth POST waited for tokens


def test_alpaca_py_retry_internals_are_what_we_switch_off() -> None:
    """Fails loudly if an alpaca-py upgrade renames or changes its built-in retry (which re-sends POSTs)."""
    from alpaca.data.historical.stock import StockHistoricalDataClient
    from alpaca.trading.client import TradingClient

    for client in (TradingClient("k", "s", paper=True), StockHistoricalDataClient("k", "s")):
        assert (client._retry, client._retry_wait, client._retry_codes) == (3, 3, [429, 504])
        assert hasattr(client, "_session")
        disable_builtin_retry(client)
        install_timeout(client, 1.0)
        assert (client._retry, client._retry_codes) == (0, [])


def test_guards_refuse_a_client_without_the_expected_internals() -> None:
    class Changed:
        pass

    with pytest.raises(RuntimeError, match="_retry"):
        disable_builtin_retry(Changed())
    with pytest.raises(RuntimeError, match="_session"):
        install_timeout(Changed(), 1.0)


def test_no_3_second_alpaca_py_retry_on_reads_either(fake_alpaca: FakeAlpaca, sim_clock: SimClock) -> None:
    broker: AlpacaBroker = make_broker(fake_alpaca, sim_clock)
    fake_alpaca.script_next("GET /v2/account", status=504, times=2)
    started = time.monotonic()
    broker.get_account()
    assert time.monotonic() - started < 1.5
    assert len(fake_alpaca.requests_to("GET /v2/account")) == 3  # our retries, counted, not alpaca-py's


@pytest.mark.parametrize("status,headers,expected", [
    (429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000012"}, 12.0),
    (503, {"Retry-After": "4"}, 4.0),
    (503, {"Retry-After": "Tue, 14 Nov 2023 22:13:25 GMT"}, 5.0),  # an HTTP-date: 1700000005
    (500, {"X-RateLimit-Remaining": "150", "X-RateLimit-Reset": "1700000030"}, None),  # not rate limited
    (502, {}, None),
])
def test_a_failed_post_carries_the_brokers_retry_hint(
    fake_alpaca: FakeAlpaca, sim_clock: SimClock, status: int, headers: dict[str, str], expected: float | None
) -> None:
    broker = make_broker(fake_alpaca, sim_clock, wall_clock=lambda: 1_700_000_000.0)
    fake_alpaca.script_next("POST /v2/orders", status=status, headers=headers)
    with pytest.raises(BrokerUnavailable) as raised:
        broker.submit_order(OrderRequest("c-hint", "SPY", "buy", qty=Decimal("1")))
    assert raised.value.retry_after == expected
    assert fake_alpaca.order_posts() == 1  # the adapter itself never re-sends a POST
