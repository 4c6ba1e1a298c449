"""AlpacaBroker order placement against the fake: never a blind POST retry, every outcome classified."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import pytest

from shared.broker.port import BrokerUnavailable, DuplicateClientOrderId, OrderRejected, OrderRequest
from shared.venues.alpaca.trading import AlpacaBroker
from tests.fakes.fake_alpaca import FakeAlpaca


def buy(coid: str, symbol: str = "SPY", **amount: Decimal) -> OrderRequest:
    return OrderRequest(coid, symbol, "buy", **(amount or {"qty": Decimal("1")}))


def test_submit_sends_a_market_day_order_with_exact_decimal_strings(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    order = broker.submit_order(buy("wf1-SPY", notional=Decimal("1234.57")))
    broker.submit_order(OrderRequest("wf1-QQQ", "QQQ", "buy", qty=Decimal("0.123456789")))

    bodies = [r.body for r in fake_alpaca.requests_to("POST /v2/orders")]
    assert bodies[0] == {
        "symbol": "SPY",
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
        "client_order_id": "wf1-SPY",
        "notional": "1234.57",
    }
    assert bodies[1]["qty"] == "0.123456789" and "notional" not in bodies[1]
    assert order.client_order_id == "wf1-SPY" and order.status == "filled"
    assert order.notional == Decimal("1234.57") and order.qty is None
    assert order.filled_qty == Decimal("2.469140000") and order.filled_avg_price == Decimal("500")


def test_duplicate_client_order_id_raises_duplicate(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    broker.submit_order(buy("same-id"))
    with pytest.raises(DuplicateClientOrderId):
        broker.submit_order(buy("same-id"))
    assert len(fake_alpaca.orders_with_client_id("same-id")) == 1
    assert [r.status for r in fake_alpaca.requests_to("POST /v2/orders")] == [200, 422]


def test_504_after_create_is_unavailable_and_the_order_exists_once(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake_alpaca.script_next("POST /v2/orders", status=504, after_create=True)

    with pytest.raises(BrokerUnavailable, match="look it up"):
        broker.submit_order(buy("lost-reply"))

    assert fake_alpaca.order_posts() == 1  # alpaca-py's own 504 retry is off
    assert len(fake_alpaca.orders_with_client_id("lost-reply")) == 1
    found = broker.get_order_by_client_id("lost-reply")
    assert found is not None and found.status == "filled"
    # a caller that resubmits anyway learns it is already placed, and no second order appears
    with pytest.raises(DuplicateClientOrderId):
        broker.submit_order(buy("lost-reply"))
    assert len(fake_alpaca.orders_with_client_id("lost-reply")) == 1


def test_post_timeout_is_unavailable_and_never_a_second_order(
    fake_alpaca: FakeAlpaca, broker_factory: Callable[..., AlpacaBroker]
) -> None:
    broker = broker_factory(timeout=0.3)
    fake_alpaca.script_next("POST /v2/orders", delay=1.5, after_create=True)

    started = time.monotonic()
    with pytest.raises(BrokerUnavailable):
        broker.submit_order(buy("slow-reply"))

    assert time.monotonic() - started < 1.2
    assert fake_alpaca.order_posts() == 1
    assert len(fake_alpaca.orders_with_client_id("slow-reply")) == 1


def test_dropped_connection_after_create_is_unavailable(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake_alpaca.script_next("POST /v2/orders", drop=True, after_create=True)

    with pytest.raises(BrokerUnavailable):
        broker.submit_order(buy("dropped"))

    assert fake_alpaca.order_posts() == 1
    assert len(fake_alpaca.orders_with_client_id("dropped")) == 1


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_answers_to_a_post_are_unavailable_after_one_attempt(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker, status: int
) -> None:
    fake_alpaca.script_next("POST /v2/orders", status=status, times=5)

    started = time.monotonic()
    with pytest.raises(BrokerUnavailable):
        broker.submit_order(buy(f"transient-{status}"))

    assert time.monotonic() - started < 1.0  # no hidden 3 s alpaca-py retry wait
    assert fake_alpaca.order_posts() == 1
    assert fake_alpaca.orders_with_client_id(f"transient-{status}") == []


def test_post_to_an_unreachable_broker_is_unavailable(fake_alpaca: FakeAlpaca) -> None:
    port = fake_alpaca.url.rsplit(":", 1)[1]
    fake_alpaca.stop()
    broker = AlpacaBroker(
        fake_alpaca.api_key,
        "fake-secret",
        trading_url=f"http://127.0.0.1:{port}",
        sleep=lambda s: None,
        timeout=0.5,
    )
    with pytest.raises(BrokerUnavailable):
        broker.submit_order(buy("nowhere"))


def test_403_insufficient_buying_power_is_rejected_with_the_broker_message(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake_alpaca.set_account(cash="100")

    with pytest.raises(OrderRejected, match="insufficient buying power") as caught:
        broker.submit_order(buy("too-big", qty=Decimal("1")))

    assert "403" in str(caught.value)
    assert fake_alpaca.orders == [] and fake_alpaca.order_posts() == 1


def test_oversell_is_rejected(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    fake_alpaca.set_position("SPY", "2")
    with pytest.raises(OrderRejected, match="insufficient qty"):
        broker.submit_order(OrderRequest("sell-3", "SPY", "sell", qty=Decimal("3")))


def test_scripted_403_is_rejected(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    fake_alpaca.script_next("POST /v2/orders", status=403)
    with pytest.raises(OrderRejected, match="insufficient buying power"):
        broker.submit_order(buy("scripted-403"))


def test_notional_on_a_non_fractionable_asset_is_rejected_422(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake_alpaca.add_asset("BRK.A", fractionable=False)
    fake_alpaca.set_price("BRK.A", "600000")
    with pytest.raises(OrderRejected, match="fractional"):
        broker.submit_order(buy("brk-notional", "BRK.A", notional=Decimal("1000")))


def test_partial_fills_report_cumulative_filled_qty(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    fake_alpaca.fill_mode("TQQQ", "partial", steps=["0.25", "0.5", "1"])

    order = broker.submit_order(OrderRequest("partial", "TQQQ", "buy", qty=Decimal("8")))
    assert (order.status, order.filled_qty) == ("new", Decimal("0"))

    seen = [broker.get_order(order.broker_order_id) for _ in range(4)]

    assert [o.filled_qty for o in seen] == [Decimal("2"), Decimal("4"), Decimal("8"), Decimal("8")]
    assert [o.status for o in seen] == ["partially_filled", "partially_filled", "filled", "filled"]
    assert seen[-1].is_terminal and seen[-1].filled_avg_price == Decimal("60")


def test_market_closed_orders_wait_accepted_then_fill_at_open(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake_alpaca.set_clock(open=False)

    order = broker.submit_order(buy("closed"))
    assert order.status == "accepted" and not order.is_terminal
    assert broker.get_clock().is_open is False

    fake_alpaca.set_clock(open=True)
    filled = broker.get_order_by_client_id("closed")
    assert filled is not None and filled.status == "filled" and filled.filled_qty == Decimal("1")


def test_broker_side_rejection_after_acceptance_shows_as_rejected(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake_alpaca.fill_mode("QQQ", "reject")
    order = broker.submit_order(buy("later-reject", "QQQ"))
    assert order.status == "new"
    polled = broker.get_order(order.broker_order_id)
    assert polled.status == "rejected" and polled.is_terminal and polled.filled_qty == 0
