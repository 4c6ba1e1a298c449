"""AlpacaBroker reads through the real alpaca-py client against the fake Alpaca server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.broker.port import BrokerError, OrderNotFound, OrderRejected, OrderRequest
from shared.venues.alpaca.trading import AlpacaBroker
from tests.fakes.fake_alpaca import FakeAlpaca


def test_account_maps_money_to_exact_decimals(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    fake_alpaca.set_account(cash="12345.67", buying_power="20000.01", trading_blocked=True)
    fake_alpaca.set_position("SPY", "2.123456789", avg_entry_price="400")

    account = broker.get_account()

    assert account.cash == Decimal("12345.67")
    assert account.buying_power == Decimal("20000.01")
    assert account.equity == Decimal("12345.67") + Decimal("2.123456789") * Decimal("500")
    assert account.trading_blocked is True and account.account_blocked is False
    assert account.status == "ACTIVE" and account.account_id == "PA0000FAKE"
    assert account.captured_at.tzinfo is not None


def test_positions_map_to_decimal_with_fractional_quantities(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake_alpaca.set_position("TQQQ", "0.000000001", avg_entry_price="55.5")
    fake_alpaca.set_position("SPY", "10", avg_entry_price="450.25")

    positions = {p.symbol: p for p in broker.get_positions()}

    assert positions["TQQQ"].qty == Decimal("0.000000001")
    assert positions["SPY"].qty == Decimal("10")
    assert positions["SPY"].market_value == Decimal("5000")
    assert positions["SPY"].current_price == Decimal("500")
    assert positions["SPY"].avg_entry_price == Decimal("450.25")
    assert all(isinstance(p.qty, Decimal) and isinstance(p.market_value, Decimal) for p in positions.values())


def test_qty_available_comes_from_alpaca_net_of_open_sells(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    fake_alpaca.set_position("SPY", "10", avg_entry_price="450")
    fake_alpaca.fill_mode("SPY", "stall")
    assert {p.symbol: p.qty_available for p in broker.get_positions()} == {"SPY": Decimal("10")}
    broker.submit_order(OrderRequest("s-open", "SPY", "sell", qty=Decimal("4")))  # open: holds 4
    [spy] = broker.get_positions()
    assert (spy.qty, spy.qty_available) == (Decimal("10"), Decimal("6"))
    with pytest.raises(OrderRejected, match="available: 6"):  # the fake refuses a sell above it, as Alpaca does
        broker.submit_order(OrderRequest("s-more", "SPY", "sell", qty=Decimal("7")))


def test_get_assets_returns_only_known_symbols_with_flags(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake_alpaca.add_asset("BRK.A", fractionable=False)
    fake_alpaca.add_asset("DELISTED", tradable=False, status="inactive")

    assets = broker.get_assets(["SPY", "BRK.A", "DELISTED", "NOSUCH", "SPY"])

    assert set(assets) == {"SPY", "BRK.A", "DELISTED"}
    assert assets["SPY"].tradable and assets["SPY"].fractionable
    assert assets["BRK.A"].tradable and not assets["BRK.A"].fractionable
    assert not assets["DELISTED"].tradable and assets["DELISTED"].status == "inactive"
    assert len(fake_alpaca.requests_to("GET /v2/assets/{symbol}")) == 4  # the duplicate asked once


def test_clock_is_parsed_to_utc(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    stamp = datetime(2024, 3, 8, 15, 0, tzinfo=UTC)
    fake_alpaca.set_clock(
        open=False,
        timestamp=stamp,
        next_open=datetime(2024, 3, 11, 13, 30, tzinfo=UTC),
        next_close=datetime(2024, 3, 11, 20, 0, tzinfo=UTC),
    )

    clock = broker.get_clock()

    assert clock.is_open is False
    assert clock.timestamp == stamp and clock.timestamp.utcoffset() is not None
    assert clock.next_open == datetime(2024, 3, 11, 13, 30, tzinfo=UTC)
    assert clock.next_close == datetime(2024, 3, 11, 20, 0, tzinfo=UTC)


def test_calendar_days_are_utc_with_early_closes_and_holidays(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake_alpaca.set_holiday(date(2024, 11, 28))
    fake_alpaca.set_calendar_day(date(2024, 11, 29), "09:30", "13:00")

    days = {d.date: d for d in broker.get_calendar(date(2024, 11, 25), date(2024, 12, 2))}

    assert sorted(days) == [
        date(2024, 11, 25),
        date(2024, 11, 26),
        date(2024, 11, 27),
        date(2024, 11, 29),
        date(2024, 12, 2),
    ]
    assert days[date(2024, 11, 29)].open == datetime(2024, 11, 29, 14, 30, tzinfo=UTC)
    assert days[date(2024, 11, 29)].close == datetime(2024, 11, 29, 18, 0, tzinfo=UTC)
    query = fake_alpaca.requests_to("GET /v2/calendar")[0].query
    assert query == {"start": "2024-11-25", "end": "2024-12-02"}


def test_latest_prices_use_the_iex_feed_and_omit_unknown_symbols(
    fake_alpaca: FakeAlpaca, broker: AlpacaBroker
) -> None:
    fake_alpaca.set_price("SPY", "501.23")

    prices = broker.get_latest_prices(["SPY", "QQQ", "NOSUCH"])

    assert prices == {"SPY": Decimal("501.23"), "QQQ": Decimal("430")}
    request = fake_alpaca.requests_to("GET /v2/stocks/trades/latest")[0]
    assert request.query["feed"] == "iex" and request.query["symbols"] == "SPY,QQQ,NOSUCH"


def test_latest_prices_for_no_symbols_asks_nothing(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    assert broker.get_latest_prices([]) == {}
    assert fake_alpaca.requests == []


def test_get_order_by_client_id_returns_none_on_404(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    assert broker.get_order_by_client_id("never-sent") is None
    lookups = fake_alpaca.requests_to("GET /v2/orders:by_client_order_id")
    assert [r.status for r in lookups] == [404]  # asked once: a 404 is an answer, not a failure
    assert lookups[0].query == {"client_order_id": "never-sent"}


def test_get_order_unknown_raises_order_not_found(broker: AlpacaBroker) -> None:
    with pytest.raises(OrderNotFound):
        broker.get_order("6f1c3c56-5a8e-4a57-9e39-3a1c8d1f8b11")
    with pytest.raises(OrderNotFound):
        broker.get_order("not-a-uuid")


def test_cancel_is_idempotent_and_unknown_order_raises(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    fake_alpaca.fill_mode("SPY", "stall")
    order = broker.submit_order(OrderRequest("c-stall", "SPY", "buy", qty=Decimal("1")))
    assert order.status == "new"

    broker.cancel_order(order.broker_order_id)
    broker.cancel_order(order.broker_order_id)  # already canceled: 422 at the broker, not an error here

    assert broker.get_order(order.broker_order_id).status == "canceled"
    assert [r.status for r in fake_alpaca.requests_to("DELETE /v2/orders/{id}")] == [204, 422]
    with pytest.raises(OrderNotFound):
        broker.cancel_order("6f1c3c56-5a8e-4a57-9e39-3a1c8d1f8b11")


def test_portfolio_history_maps_to_decimal(fake_alpaca: FakeAlpaca, broker: AlpacaBroker) -> None:
    fake_alpaca.set_portfolio_history(
        timestamp=[1704171600, 1704258000],
        equity=[100000.0, 100123.45],
        profit_loss=[0.0, 123.45],
        profit_loss_pct=[0.0, 0.0012345],
        base_value=100000.0,
        timeframe="1D",
    )

    history = broker.get_portfolio_history(period="1M", timeframe="1D")

    assert history.equity == (Decimal("100000.0"), Decimal("100123.45"))
    assert history.profit_loss_pct[1] == Decimal("0.0012345")
    assert history.timestamps[0] == datetime(2024, 1, 2, 5, 0, tzinfo=UTC)
    assert fake_alpaca.requests_to("GET /v2/account/portfolio/history")[0].query == {
        "period": "1M",
        "timeframe": "1D",
    }


def test_unauthorized_read_fails_without_retry(fake_alpaca: FakeAlpaca) -> None:
    broker = AlpacaBroker("wrong-key", "wrong-secret", trading_url=fake_alpaca.url, sleep=lambda s: None)
    with pytest.raises(BrokerError, match="401"):
        broker.get_account()
    assert len(fake_alpaca.requests) == 1


def test_repr_and_errors_never_show_keys(fake_alpaca: FakeAlpaca) -> None:
    broker = AlpacaBroker("PKSECRETKEYID", "SUPERSECRET", trading_url=fake_alpaca.url, sleep=lambda s: None)
    with pytest.raises(BrokerError) as caught:
        broker.get_account()
    text = repr(broker) + str(caught.value) + repr(vars(broker))
    assert "PKSECRETKEYID" not in text and "SUPERSECRET" not in text


def test_from_keys_takes_paper_or_live_from_the_keys(fake_alpaca: FakeAlpaca) -> None:
    from shared.venues.alpaca.keys import AlpacaKeys

    live = AlpacaBroker.from_keys(AlpacaKeys("AKLIVE", "s", paper=False), trading_url=fake_alpaca.url)
    paper = AlpacaBroker.from_keys(AlpacaKeys("PKPAPER", "s", paper=True), trading_url=fake_alpaca.url)
    assert (live.paper, paper.paper) == (False, True)
    assert "AKLIVE" not in repr(live)
