"""`alchemiser plan --broker alpaca`: the pre-check's buying power is net of the account's open buy
orders (listed through alpaca-py against the fake Alpaca), and the open orders are listed."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from alchemiser import cli
from tests.fakes.fake_alpaca import FakeAlpaca, running_fake_alpaca


@pytest.fixture
def tlt(tmp_path):
    path = tmp_path / "tlt.clj"
    path.write_text('(defsymphony "tlt" {} (asset "TLT"))\n')
    return path


@pytest.fixture
def fake(monkeypatch):
    with running_fake_alpaca() as server:
        server.set_account(cash="1000")
        for symbol, price in (("SPY", "400"), ("TLT", "90")):
            server.add_asset(symbol)
            server.set_price(symbol, price)
        monkeypatch.setenv("APCA_API_KEY_ID", "PKFAKEKEY")
        monkeypatch.setenv("APCA_API_SECRET_KEY", "fake-secret")
        monkeypatch.setenv("ALCHEMISER_ALPACA_TRADING_URL", server.url)
        monkeypatch.setenv("ALCHEMISER_ALPACA_DATA_URL", server.url)
        yield server


def _plan(capsys, tlt, tmp_path) -> dict:
    code = cli.main(["plan", "--broker", "alpaca", "--data", "offline", "--strategy", str(tlt),
                     "--state-dir", str(tmp_path), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_buying_power_is_net_of_open_buys_at_their_limit_and_the_last_price(fake: FakeAlpaca, tlt, tmp_path, capsys):
    fake.add_open_order("SPY", "buy", qty="1", limit_price="300", client_order_id="dashboard-limit")
    fake.add_open_order("TLT", "buy", qty="2", client_order_id="dashboard-market")  # at TLT's last price, 90
    fake.add_open_order("TLT", "buy", notional="50", client_order_id="dashboard-notional")
    posts_before = fake.order_posts()

    body = _plan(capsys, tlt, tmp_path)

    power = {c["check"]: c for c in body["checks"]}["buying power"]
    assert Decimal(power["reported_buying_power"]) == 1000
    assert Decimal(power["open_buy_value"]) == 300 + 2 * 90 + 50
    assert Decimal(power["net_buying_power"]) == 1000 - 530
    assert [o["client_order_id"] for o in power["open_orders"]] == [
        "dashboard-limit", "dashboard-market", "dashboard-notional"]
    assert "buying power $470.00 net of open buy orders (the broker reports $1,000.00" in power["detail"]
    assert "buy SPY qty 1 limit 300" in power["detail"]
    (buy,) = body["orders"]
    # the plan buys ~all the equity's worth of TLT: more than is left after the open buys
    assert Decimal(buy["estimated_value"]) > 470 and power["ok"] is False
    assert fake.order_posts() == posts_before  # the dry run placed nothing
    assert fake.requests_to("GET /v2/orders")[-1].query["status"] == "open"


def test_open_sells_do_not_reduce_buying_power(fake: FakeAlpaca, tlt, tmp_path, capsys):
    fake.set_position("SPY", "2", avg_entry_price="400")
    fake.add_open_order("SPY", "sell", qty="1", limit_price="410")
    power = {c["check"]: c for c in _plan(capsys, tlt, tmp_path)["checks"]}["buying power"]
    assert Decimal(power["open_buy_value"]) == 0 and Decimal(power["net_buying_power"]) == 1000
    assert [o["side"] for o in power["open_orders"]] == ["sell"]
    assert "no open buy orders" in power["detail"]
