"""`alchemiser plan`: the day's run, dry, through the strategy's evaluation and the portfolio's own
gathering and planner; against the simulated account and against the fake Alpaca through alpaca-py."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from alchemiser import cli
from shared.broker.port import OrderRequest
from shared.venues.simulated.broker import SimulatedBroker
from tests.fakes.fake_alpaca import running_fake_alpaca

WEDNESDAY = "2026-11-25"  # 09:35 New York: the data day is Tuesday 2026-11-24


@pytest.fixture
def tlt(tmp_path):
    path = tmp_path / "tlt.clj"
    path.write_text('(defsymphony "tlt" {} (asset "TLT"))\n')
    return path


def _plan(capsys, *argv: str) -> tuple[int, dict]:
    code = cli.main(["plan", *argv, "--json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out else {"stderr": captured.err})


def _sim(state, prices: dict[str, str]) -> SimulatedBroker:
    return SimulatedBroker(state, lambda s: Decimal(prices[s]), calendar=None,  # type: ignore[arg-type]
                           now=lambda: datetime(2026, 11, 24, 15, tzinfo=UTC))


def test_plan_on_the_simulated_account_sells_what_the_strategy_drops_and_places_nothing(tmp_path, tlt, capsys):
    state = tmp_path / "state"
    sim = _sim(state, {"SPY": "400"})
    sim.submit_order(OrderRequest("seed", "SPY", "buy", qty=Decimal("10")))
    orders_before = sim.list_orders()
    code, body = _plan(capsys, "--strategy", str(tlt), "--as-of", WEDNESDAY, "--state-dir", str(state))
    assert code == 0, body
    assert body["placed"] == 0 and body["trading_date"] == WEDNESDAY and body["data_as_of"] == "2026-11-24"
    weights = {r["symbol"]: (Decimal(r["target"]), Decimal(r["current"])) for r in body["weights"]}
    assert weights["TLT"][0] == 1 and weights["TLT"][1] == 0 and weights["SPY"][0] == 0 and weights["SPY"][1] > 0
    sides = [(o["side"], o["symbol"]) for o in body["orders"]]
    assert sides == [("sell", "SPY"), ("buy", "TLT")]
    sell = body["orders"][0]
    assert Decimal(sell["qty"]) == 10 and sell["full_exit"] is True
    checks = {c["check"]: c for c in body["checks"]}
    assert checks["data freshness"]["ok"] and checks["kill switch"]["ok"] and checks["buying power"]["ok"]
    assert "SYNTHETIC" in checks["data freshness"]["detail"]
    budget = checks["rate-limit budget"]
    assert budget["ok"] and "at least 8 trading-API requests" in budget["detail"]
    assert _sim(state, {"SPY": "400"}).list_orders() == orders_before  # nothing placed
    assert not (state / "outbox").exists() and not (state / "archive").exists()


def test_plan_reports_the_kill_switch_and_a_holiday(tmp_path, tlt, capsys):
    state = tmp_path / "state"
    state.mkdir()
    (state / "kill-switch").write_text("reducing\n")
    code, body = _plan(capsys, "--strategy", str(tlt), "--as-of", "2026-11-26", "--state-dir", str(state))
    assert code == 0, body
    checks = {c["check"]: c for c in body["checks"]}
    assert not checks["kill switch"]["ok"] and "only the 0 sell(s)" in checks["kill switch"]["detail"]
    assert not checks["trading day"]["ok"] and "no workflow" in checks["trading day"]["detail"]
    assert [o["side"] for o in body["orders"]] == ["buy"]


def test_plan_text_lists_weights_orders_and_checks(tmp_path, tlt, capsys):
    assert cli.main(["plan", "--strategy", str(tlt), "--as-of", WEDNESDAY, "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "nothing placed" in out and "Orders (1):" in out and re.search(r"BUY +TLT", out)
    assert "[ok] kill switch" in out and "[ok] market clock" in out


def test_plan_against_alpaca_reads_the_account_and_posts_no_order(tmp_path, tlt, capsys, monkeypatch):
    with running_fake_alpaca() as fake:
        fake.set_account(cash="1000")
        for symbol, price in (("SPY", "400"), ("TLT", "90")):
            fake.add_asset(symbol)
            fake.set_price(symbol, price)
        fake.add_asset("BRK.A", fractionable=False)
        fake.set_position("SPY", "10", avg_entry_price="390")
        monkeypatch.setenv("APCA_API_KEY_ID", "PKFAKEKEY")
        monkeypatch.setenv("APCA_API_SECRET_KEY", "fake-secret")
        monkeypatch.setenv("ALCHEMISER_ALPACA_TRADING_URL", fake.url)
        monkeypatch.setenv("ALCHEMISER_ALPACA_DATA_URL", fake.url)
        code, body = _plan(capsys, "--broker", "alpaca", "--data", "offline", "--strategy", str(tlt),
                           "--state-dir", str(tmp_path))
        assert code == 0, body
        assert fake.order_posts() == 0
        assert fake.requests_to("GET /v2/account") and fake.requests_to("GET /v2/clock")
    assert Decimal(body["equity"]) == 5000
    orders = {o["symbol"]: o for o in body["orders"]}
    assert orders["SPY"]["side"] == "sell" and Decimal(orders["SPY"]["qty"]) == 10
    assert orders["TLT"]["side"] == "buy" and orders["TLT"]["fractionable"] is True
    assert Decimal(orders["TLT"]["notional"]) > 4000


def test_plan_against_alpaca_refuses_as_of_and_needs_keys(tmp_path, tlt, capsys, monkeypatch):
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    assert cli.main(["plan", "--broker", "alpaca", "--strategy", str(tlt)]) == 2
    assert "APCA_API_KEY_ID" in capsys.readouterr().err
    monkeypatch.setenv("APCA_API_KEY_ID", "k")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "s")
    assert cli.main(["plan", "--broker", "alpaca", "--as-of", WEDNESDAY, "--strategy", str(tlt)]) == 2
    assert "drop --as-of" in capsys.readouterr().err


def test_plan_says_where_the_run_would_stop(tmp_path, tlt, capsys, monkeypatch):
    with running_fake_alpaca() as fake:
        fake.add_asset("TLT", tradable=False)
        fake.set_price("TLT", "90")
        monkeypatch.setenv("APCA_API_KEY_ID", "PKFAKEKEY")
        monkeypatch.setenv("APCA_API_SECRET_KEY", "fake-secret")
        monkeypatch.setenv("ALCHEMISER_ALPACA_TRADING_URL", fake.url)
        monkeypatch.setenv("ALCHEMISER_ALPACA_DATA_URL", fake.url)
        code = cli.main(["plan", "--broker", "alpaca", "--strategy", str(tlt), "--state-dir", str(tmp_path)])
        assert fake.order_posts() == 0
    err = capsys.readouterr().err
    assert code == 1 and "the run would stop at the portfolio step" in err and "TLT" in err


def _bars(fake_data, symbol: str, start: str, end: str, close: float) -> None:
    from datetime import date

    from shared.marketdata.calendar import ExchangeCalendar

    days = [date.fromisoformat(str(d)) for d in ExchangeCalendar().sessions_between(date.fromisoformat(start),
                                                                                    date.fromisoformat(end))]
    fake_data.set_closes(symbol, {d: close for d in days})


def test_plan_with_alpaca_broker_and_alpaca_data_through_alpaca_py(tmp_path, tlt, capsys, monkeypatch):
    from tests.fakes.fake_alpaca_data import FakeAlpacaDataServer

    today = datetime.now(UTC).date().isoformat()
    data = FakeAlpacaDataServer(api_key="PKFAKEKEY", secret_key="fake-secret", page_size=500).start()
    try:
        _bars(data, "TLT", "2026-01-02", today, 90.0)
        data.set_latest_trade("TLT", 90.0, datetime.now(UTC))
        with running_fake_alpaca() as fake:
            fake.set_account(cash="1000")
            fake.add_asset("TLT")
            monkeypatch.setenv("APCA_API_KEY_ID", "PKFAKEKEY")
            monkeypatch.setenv("APCA_API_SECRET_KEY", "fake-secret")
            monkeypatch.setenv("ALCHEMISER_ALPACA_TRADING_URL", fake.url)
            monkeypatch.setenv("ALCHEMISER_ALPACA_DATA_URL", data.url)
            code, body = _plan(capsys, "--broker", "alpaca", "--data", "alpaca", "--strategy", str(tlt),
                               "--state-dir", str(tmp_path))
            assert fake.order_posts() == 0
    finally:
        data.stop()
    assert code == 0, body
    checks = {c["check"]: c for c in body["checks"]}
    assert checks["data freshness"]["ok"] and "SYNTHETIC" not in checks["data freshness"]["detail"]
    assert data.bar_requests
    (order,) = body["orders"]
    assert order["side"] == "buy" and order["symbol"] == "TLT" and Decimal(order["reference_price"]) == 90


def test_plan_flags_bars_that_end_before_the_session_the_run_needs(tmp_path, tlt, capsys, monkeypatch):
    from tests.fakes.fake_alpaca_data import FakeAlpacaDataServer

    data = FakeAlpacaDataServer(api_key="PKFAKEKEY", secret_key="fake-secret", page_size=500).start()
    try:
        _bars(data, "TLT", "2026-01-02", "2026-11-20", 90.0)
        monkeypatch.setenv("APCA_API_KEY_ID", "PKFAKEKEY")
        monkeypatch.setenv("APCA_API_SECRET_KEY", "fake-secret")
        monkeypatch.setenv("ALCHEMISER_ALPACA_DATA_URL", data.url)
        code, body = _plan(capsys, "--data", "alpaca", "--strategy", str(tlt), "--as-of", WEDNESDAY,
                           "--state-dir", str(tmp_path))
    finally:
        data.stop()
    assert code == 0, body
    fresh = {c["check"]: c for c in body["checks"]}["data freshness"]
    assert not fresh["ok"] and "last bar 2026-11-20, the run needs 2026-11-24" in fresh["detail"]
    assert "fail closed as stale" in fresh["detail"]
