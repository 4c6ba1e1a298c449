"""The fake speaks Alpaca's shapes: alpaca-py's own models (raw_data=False) parse every answer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import requests

from tests.fakes.fake_alpaca import FakeAlpaca


def test_alpaca_py_models_parse_the_fakes_answers(fake_alpaca: FakeAlpaca) -> None:
    from alpaca.data.historical.stock import StockHistoricalDataClient
    from alpaca.data.requests import StockLatestTradeRequest
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
    from alpaca.trading.requests import GetCalendarRequest, GetOrdersRequest, MarketOrderRequest

    fake_alpaca.set_position("SPY", "3")
    fake_alpaca.fill_mode("QQQ", "stall")
    client = TradingClient(fake_alpaca.api_key, "fake-secret", url_override=fake_alpaca.url)

    assert client.get_account().cash == "100000"
    assert client.get_all_positions()[0].qty == "3"
    assert client.get_asset("SPY").fractionable is True
    assert len(client.get_all_assets()) >= 8
    order = client.submit_order(
        MarketOrderRequest(
            symbol="QQQ", qty=2, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, client_order_id="m1"
        )
    )
    assert order.status == OrderStatus.NEW
    assert client.get_order_by_id(order.id).client_order_id == "m1"
    assert client.get_order_by_client_id("m1").id == order.id
    assert [o.id for o in client.get_orders(GetOrdersRequest(status="open"))] == [order.id]
    client.cancel_order_by_id(order.id)
    assert client.get_order_by_id(order.id).status == OrderStatus.CANCELED
    assert client.get_clock().is_open is True
    days = client.get_calendar(GetCalendarRequest(start=date(2024, 1, 1), end=date(2024, 1, 7)))
    assert [d.date for d in days] == [date(2024, 1, d) for d in (1, 2, 3, 4, 5)]
    history = client.get_portfolio_history()
    assert history.timeframe == "1D" and len(history.equity) == len(history.timestamp)

    data = StockHistoricalDataClient(fake_alpaca.api_key, "fake-secret", url_override=fake_alpaca.url)
    trades = data.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols=["SPY", "QQQ"]))
    assert trades["SPY"].price == 500.0


def test_single_symbol_latest_trade_route(fake_alpaca: FakeAlpaca) -> None:
    headers = {"APCA-API-KEY-ID": fake_alpaca.api_key, "APCA-API-SECRET-KEY": "fake-secret"}
    answer = requests.get(f"{fake_alpaca.url}/v2/stocks/SPY/trades/latest", headers=headers, timeout=5)
    assert answer.json()["trade"]["p"] == 500.0
    assert (
        requests.get(
            f"{fake_alpaca.url}/v2/stocks/NOPE/trades/latest", headers=headers, timeout=5
        ).status_code
        == 404
    )


def test_429_carries_rate_limit_headers_and_requests_are_recorded(fake_alpaca: FakeAlpaca) -> None:
    fake_alpaca.script_next("GET /v2/account", status=429)
    headers = {"APCA-API-KEY-ID": fake_alpaca.api_key, "APCA-API-SECRET-KEY": "fake-secret"}
    answer = requests.get(f"{fake_alpaca.url}/v2/account", headers=headers, timeout=5)
    assert answer.status_code == 429
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(answer.headers)
    assert requests.get(f"{fake_alpaca.url}/v2/account", headers=headers, timeout=5).status_code == 200
    assert [(r.route, r.status, r.key_id) for r in fake_alpaca.requests] == [
        ("GET /v2/account", 429, fake_alpaca.api_key),
        ("GET /v2/account", 200, fake_alpaca.api_key),
    ]


def test_fills_move_cash_and_positions(fake_alpaca: FakeAlpaca) -> None:
    from alpaca.trading.client import TradingClient

    client = TradingClient(fake_alpaca.api_key, "fake-secret", url_override=fake_alpaca.url, raw_data=True)
    client.post(
        "/orders",
        {
            "symbol": "SPY",
            "side": "buy",
            "type": "market",
            "time_in_force": "day",
            "client_order_id": "f1",
            "qty": "2",
        },
    )
    assert Decimal(client.get_account()["cash"]) == Decimal("99000")
    assert client.get_all_positions()[0]["qty"] == "2"


def test_script_next_refuses_unknown_routes(fake_alpaca: FakeAlpaca) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        fake_alpaca.script_next("POST /v2/order", status=504)
    with pytest.raises(ValueError, match="after_create"):
        fake_alpaca.script_next("GET /v2/account", after_create=True)


@pytest.mark.parametrize("body,message", [
    ({"qty": "0.0000000001"}, "too many decimal places"),
    ({"notional": "10.001"}, "too many decimal places"),
    ({"qty": "-1"}, "must be positive"),
])
def test_the_fake_refuses_amounts_alpaca_refuses(fake_alpaca: FakeAlpaca, body: dict, message: str) -> None:
    response = requests.post(f"{fake_alpaca.url}/v2/orders", json={
        "symbol": "SPY", "side": "buy", "type": "market", "time_in_force": "day", "client_order_id": "c", **body},
        headers={"APCA-API-KEY-ID": fake_alpaca.api_key, "APCA-API-SECRET-KEY": "fake-secret"}, timeout=5)
    assert response.status_code == 422 and message in response.json()["message"]
    assert fake_alpaca.orders == [] and fake_alpaca.order_posts() == 1
