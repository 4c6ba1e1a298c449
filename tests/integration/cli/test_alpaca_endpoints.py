"""Every Alpaca client a local command builds - trading, data, account, calendar, P&L - reaches the endpoints
ALCHEMISER_ALPACA_TRADING_URL / ALCHEMISER_ALPACA_DATA_URL name, through the real alpaca-py, and nothing
else: here the fake Alpaca servers answer, Alpaca's own hosts are unreachable (tests/fakes/network.py), and
every request is counted at the fakes."""

from __future__ import annotations

import json
import os
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

AS_OF = datetime.fromisoformat("2026-11-25T09:35:00-05:00")
PRICES = {"TLT": 90.0, "GLD": 240.0, "SPY": 600.0}


@dataclass
class Fakes:
    trading: FakeAlpaca
    data: FakeAlpacaDataServer
    strategy: Path
    elsewhere: list[str]


@pytest.fixture
def fakes(tmp_path, monkeypatch) -> Iterator[Fakes]:
    strategy = tmp_path / "two.clj"
    strategy.write_text('(defsymphony "two" {} (weight-equal [(asset "TLT") (asset "GLD")]))\n')
    data = FakeAlpacaDataServer(api_key="PKFAKEKEY", secret_key="fake-secret", page_size=500).start()
    sessions = [date.fromisoformat(str(d)) for d in ExchangeCalendar().sessions_between(date(2025, 1, 2),
                                                                                         date(2026, 11, 24))]
    for symbol, price in PRICES.items():
        data.set_closes(symbol, dict.fromkeys(sessions, price))
        data.set_latest_trade(symbol, price, AS_OF)
    try:
        with running_fake_alpaca() as trading:
            for symbol, price in PRICES.items():
                trading.add_asset(symbol)
                trading.set_price(symbol, str(price))
            trading.set_clock(open=True, timestamp=AS_OF)
            for name, value in (("APCA_API_KEY_ID", "PKFAKEKEY"), ("APCA_API_SECRET_KEY", "fake-secret"),
                                ("ALCHEMISER_ALPACA_TRADING_URL", trading.url),
                                ("ALCHEMISER_ALPACA_DATA_URL", data.url)):
                monkeypatch.setenv(name, value)
            with loopback_only() as elsewhere:
                yield Fakes(trading, data, strategy, elsewhere)
    finally:
        data.stop()


def _json(capsys) -> dict:
    out = capsys.readouterr().out
    return json.loads(out)


def test_a_day_on_alpaca_and_the_account_read_after_it_reach_only_the_configured_endpoints(fakes, tmp_path, capsys,
                                                                                           monkeypatch):
    from alchemiser.local import day

    monkeypatch.setattr(day, "default_as_of", lambda now, at: AS_OF)  # `run --broker alpaca` trades "today"
    code = cli.main(["run", "--broker", "alpaca", "--data", "alpaca", "--strategy", str(fakes.strategy),
                     "--state-dir", str(tmp_path / "state"), "--json"])
    body = _json(capsys)
    assert fakes.elsewhere == []
    assert code == 0 and body["status"] == "completed", body
    assert fakes.trading.order_posts() == 2 and fakes.data.bar_requests  # orders, bars, latest trades: the fakes
    after = body["portfolio_after"]  # "portfolio after": the account the day traded, read after it
    assert after is not None and {p["symbol"] for p in after["positions"]} == {"TLT", "GLD"}
    assert Decimal(after["cash"]) == Decimal(str(fakes.trading.account["cash"]))


def test_the_strategys_alpaca_calendar_asks_the_configured_trading_endpoint(fakes):
    from services.strategy.dependencies import make_calendar
    from services.strategy.settings import StrategySettings
    from shared.venues.factory import local_settings

    fakes.trading.set_holiday(date(2026, 11, 26))  # the fake's word, so the answer shows where it came from
    calendar = make_calendar(local_settings(StrategySettings, os.environ, ALCHEMISER_CALENDAR="alpaca"))
    assert calendar.session(date(2026, 11, 25)) is not None and calendar.session(date(2026, 11, 26)) is None
    assert fakes.elsewhere == [] and fakes.trading.requests_to("GET /v2/calendar")


def test_a_backtest_on_alpaca_data_asks_the_configured_data_endpoint(fakes, tmp_path, capsys):
    code = cli.main(["backtest", "--data", "alpaca", "--strategy", str(fakes.strategy), "--from", "2026-06-01",
                     "--to", "2026-11-24", "--benchmark", "SPY", "--state-dir", str(tmp_path), "--json"])
    body = _json(capsys)
    assert fakes.elsewhere == []
    assert code == 0 and body["range"]["sessions"] > 100, body
    assert {s for r in fakes.data.bar_requests for s in r.symbols} >= {"TLT", "GLD", "SPY"}


def test_signals_on_alpaca_data_ask_the_configured_data_endpoint(fakes, tmp_path, capsys):
    code = cli.main(["signals", "--data", "alpaca", "--strategy", str(fakes.strategy), "--as-of", "2026-11-25",
                     "--state-dir", str(tmp_path), "--json"])
    body = _json(capsys)
    assert fakes.elsewhere == []
    assert code == 0 and set(body["weights"]) == {"TLT", "GLD"}, body
    assert fakes.data.bar_requests


def test_the_pnl_report_from_alpaca_reads_the_configured_trading_endpoint(fakes, tmp_path, capsys):
    ny = ZoneInfo("America/New_York")
    days = [date(2026, 11, 24), date(2026, 11, 25)]
    fakes.trading.set_portfolio_history(
        timestamp=[int(datetime(d.year, d.month, d.day, tzinfo=ny).timestamp()) for d in days],
        equity=[100000.0, 101000.0], profit_loss=[0.0, 1000.0], profit_loss_pct=[0.0, 0.01], base_value=100000.0,
        timeframe="1D")
    code = cli.main(["pnl", "--source", "alpaca", "--period", "1W", "--as-of", "2026-11-26", "--state-dir",
                     str(tmp_path), "--json"])
    body = _json(capsys)
    assert fakes.elsewhere == []
    assert code == 0 and Decimal(body["end_equity"]) == 101000, body
    assert fakes.trading.requests_to("GET /v2/account/portfolio/history")


def test_the_guard_sees_a_request_to_alpacas_own_host():
    """The guard the tests above rely on: a client left at Alpaca's default URL is caught, not served."""
    from alpaca.trading.client import TradingClient

    with loopback_only() as elsewhere, pytest.raises(Exception, match=r"loopback only|unreachable"):
        TradingClient("PKFAKEKEY", "fake-secret", paper=True).get_account()
    assert elsewhere and elsewhere[0] == "paper-api.alpaca.markets"
