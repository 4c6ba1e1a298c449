"""`AlpacaBroker.list_open_orders`: GET /v2/orders?status=open through alpaca-py's get_orders, against
the fake Alpaca server; open orders placed elsewhere (a limit buy at the dashboard) are listed with
their limit price, filled ones are not."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.broker.port import BrokerError, OrderRequest
from shared.venues.alpaca.trading import OPEN_ORDERS_PAGE


def test_open_orders_are_listed_with_their_limit_price_and_filled_ones_are_not(broker, fake_alpaca):
    broker.submit_order(OrderRequest("filled-1", "SPY", "buy", notional=Decimal("100")))  # fills at once
    limit = fake_alpaca.add_open_order("SPY", "buy", qty="3", limit_price="390.5", client_order_id="dash-1")
    fake_alpaca.add_open_order("QQQ", "buy", notional="250", client_order_id="dash-2")
    fake_alpaca.set_position("QQQ", "5")
    fake_alpaca.add_open_order("QQQ", "sell", qty="2", client_order_id="dash-3")

    orders = broker.list_open_orders()

    assert [o.client_order_id for o in orders] == ["dash-1", "dash-2", "dash-3"]  # oldest first
    first = orders[0]
    assert (first.broker_order_id, first.symbol, first.side, first.qty, first.limit_price, first.order_type) == (
        limit["id"], "SPY", "buy", Decimal("3"), Decimal("390.5"), "limit")
    assert first.open_value(Decimal("999")) == Decimal("1171.5")  # at the limit, not the last price
    assert orders[1].notional == Decimal("250") and orders[1].open_value(None) == Decimal("250")
    assert orders[2].open_value(Decimal("10")) == Decimal("20")  # a market order: qty left at the last price
    (request,) = fake_alpaca.requests_to("GET /v2/orders")
    assert request.query["status"] == "open" and request.query["direction"] == "asc"
    assert int(request.query["limit"]) == OPEN_ORDERS_PAGE


def test_a_full_page_of_open_orders_is_refused_rather_than_reported_short(broker, fake_alpaca):
    page = [{"id": f"00000000-0000-0000-0000-{i:012d}", "client_order_id": f"c{i}", "symbol": "SPY",
             "side": "buy", "qty": "1", "notional": None, "filled_qty": "0", "status": "new"}
            for i in range(OPEN_ORDERS_PAGE)]
    fake_alpaca.script_next("GET /v2/orders", body=page)
    with pytest.raises(BrokerError, match="500 or more open orders"):
        broker.list_open_orders()


def test_open_orders_retry_a_transient_failure_like_every_read(broker, fake_alpaca, sim_clock):
    fake_alpaca.add_open_order("SPY", "buy", qty="1", limit_price="1")
    fake_alpaca.script_next("GET /v2/orders", status=503)
    assert len(broker.list_open_orders()) == 1
    assert len(sim_clock.sleeps) == 1
