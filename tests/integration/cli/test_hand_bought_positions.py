"""Positions the user bought by hand, through the whole chain (`alchemiser run --broker alpaca`: strategy,
portfolio, execution, orchestrator) and the real alpaca-py client against the fake Alpaca. What was sold is
counted in the fake broker's own order book, never in the run's report.

Before the positions record (issue 24 item 3) the day sold 50 AAPL and 20 MSFT bought by hand in full."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alchemiser import cli
from shared.marketdata.calendar import ExchangeCalendar
from tests.fakes.fake_alpaca import FakeAlpaca, running_fake_alpaca
from tests.fakes.fake_alpaca_data import FakeAlpacaDataServer
from tests.fakes.network import loopback_only

NY = ZoneInfo("America/New_York")
WEDNESDAY = datetime(2026, 11, 25, 9, 35, tzinfo=NY)
MONDAY = datetime(2026, 11, 30, 9, 35, tzinfo=NY)  # the next session after the holiday and Friday's
PRICES = {"TLT": 90.0, "GLD": 240.0, "AAPL": 200.0, "MSFT": 400.0}
BY_HAND = {"AAPL": "50", "MSFT": "20"}  # $10,000 + $8,000


@dataclass
class Chain:
    trading: FakeAlpaca
    state: Path
    tmp: Path

    def run(self, capsys, monkeypatch, strategy: str, at: datetime, *flags: str) -> tuple[int, dict]:
        from alchemiser.local import day

        path = self.tmp / f"s{at:%d}.clj"
        path.write_text(strategy)
        self.trading.set_clock(open=True, timestamp=at)
        monkeypatch.setattr(day, "default_as_of", lambda now, _at: at)
        code = cli.main(["run", "--broker", "alpaca", "--data", "alpaca", "--strategy", str(path),
                         "--state-dir", str(self.state), "--json", *flags])
        out = capsys.readouterr().out
        return code, json.loads(out)

    def sold(self) -> dict[str, Decimal]:
        """Shares sold per symbol, from the fake broker's orders."""
        out: dict[str, Decimal] = {}
        for order in self.trading.orders:
            if order["side"] == "sell":
                out[order["symbol"]] = out.get(order["symbol"], Decimal(0)) + Decimal(str(order["qty"]))
        return out

    def bought(self) -> set[str]:
        return {o["symbol"] for o in self.trading.orders if o["side"] == "buy"}


@pytest.fixture
def chain(tmp_path, monkeypatch) -> Iterator[Chain]:
    data = FakeAlpacaDataServer(api_key="PKFAKEKEY", secret_key="fake-secret", page_size=500).start()
    sessions = [date.fromisoformat(str(d)) for d in ExchangeCalendar().sessions_between(date(2025, 1, 2),
                                                                                         date(2026, 11, 27))]
    for symbol, price in PRICES.items():
        data.set_closes(symbol, dict.fromkeys(sessions, price))
        data.set_latest_trade(symbol, price, WEDNESDAY)
    try:
        with running_fake_alpaca() as trading:
            for symbol, price in PRICES.items():
                trading.add_asset(symbol)
                trading.set_price(symbol, str(price))
            for symbol, qty in BY_HAND.items():
                trading.set_position(symbol, qty, avg_entry_price=str(PRICES[symbol]))
            for name, value in (("APCA_API_KEY_ID", "PKFAKEKEY"), ("APCA_API_SECRET_KEY", "fake-secret"),
                                ("ALCHEMISER_ALPACA_TRADING_URL", trading.url),
                                ("ALCHEMISER_ALPACA_DATA_URL", data.url)):
                monkeypatch.setenv(name, value)
            with loopback_only() as elsewhere:
                yield Chain(trading, tmp_path / "state", tmp_path)
            assert elsewhere == []
    finally:
        data.stop()


TWO = '(defsymphony "two" {} (weight-equal [(asset "TLT") (asset "GLD")]))\n'


def test_the_day_leaves_hand_bought_positions_alone_and_sizes_on_the_rest(chain, capsys, monkeypatch):
    code, body = chain.run(capsys, monkeypatch, TWO, WEDNESDAY)
    assert code == 0 and body["status"] == "completed", body
    assert chain.sold() == {}  # the broker's book: no AAPL, no MSFT, nothing sold
    assert chain.bought() == {"TLT", "GLD"}
    assert {s: p["qty"] for s, p in chain.trading.positions.items() if s in BY_HAND} == {"AAPL": 50, "MSFT": 20}
    bought = sum((Decimal(str(o["notional"])) for o in chain.trading.orders if o["side"] == "buy"), Decimal(0))
    assert bought <= Decimal("100000")  # the cash, not the $118,000 the hand-bought shares would add


def test_manage_whole_account_sells_them(chain, capsys, monkeypatch):
    code, body = chain.run(capsys, monkeypatch, TWO, WEDNESDAY, "--manage-whole-account", "true")
    assert code == 0 and body["status"] == "completed", body
    assert chain.sold() == {"AAPL": Decimal(50), "MSFT": Decimal(20)}


def test_what_the_system_bought_and_a_strategy_drops_is_sold_but_never_more_than_the_broker_holds(
        chain, capsys, monkeypatch):
    code, body = chain.run(capsys, monkeypatch, TWO, WEDNESDAY)
    assert code == 0 and body["status"] == "completed", body
    gld = chain.trading.positions["GLD"]["qty"]
    chain.trading.set_position("GLD", gld / 2)  # the user sells half the system's GLD by hand
    chain.trading.set_position("AAPL", "60")    # and buys 10 more AAPL
    code, body = chain.run(capsys, monkeypatch, '(defsymphony "one" {} (asset "TLT"))\n', MONDAY)
    assert code == 0 and body["status"] == "completed", body
    assert chain.sold() == {"GLD": gld / 2}  # the system's GLD that is left; no AAPL, no MSFT
    assert "GLD" not in chain.trading.positions and chain.trading.positions["AAPL"]["qty"] == 60


def test_a_targeted_symbol_bought_by_hand_is_managed_and_the_plan_says_so(chain, capsys, monkeypatch):
    strategy = '(defsymphony "aapl" {} (weight-equal [(asset "AAPL") (asset "TLT")]))\n'
    path = chain.tmp / "aapl.clj"
    path.write_text(strategy)
    chain.trading.set_clock(open=True, timestamp=WEDNESDAY)
    code = cli.main(["plan", "--broker", "alpaca", "--data", "alpaca", "--strategy", str(path),
                     "--state-dir", str(chain.state), "--json"])
    body = json.loads(capsys.readouterr().out)
    assert code == 0, body
    assert body["managed_by_hand"] == [{"symbol": "AAPL", "qty": "50"}]
    assert [(n["symbol"], n["qty"]) for n in body["not_managed"]] == [("MSFT", "20")]
    assert Decimal(body["equity"]) == Decimal("110000")  # cash 100,000 + AAPL 10,000; MSFT left out
    assert chain.trading.order_posts() == 0
