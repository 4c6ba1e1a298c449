"""AlpacaMarketData through the real alpaca-py client against the fake market-data server."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.port import MarketDataError
from shared.venues.alpaca.bars import AlpacaMarketData, bar_day
from tests.fakes.fake_alpaca_data import FakeAlpacaDataServer, daily_bar

ROOT = Path(__file__).resolve().parents[3]
CAL = ExchangeCalendar()


def sessions(start: date, end: date) -> list[date]:
    return [date.fromisoformat(str(d)) for d in CAL.sessions_between(start, end)]


def load(fake: FakeAlpacaDataServer, symbols: dict[str, float], start: date, end: date) -> None:
    for symbol, base in symbols.items():
        fake.set_closes(symbol, {d: round(base + i * 0.25, 2) for i, d in enumerate(sessions(start, end))})


def test_paginates_through_every_page(fake_alpaca_data: FakeAlpacaDataServer, alpaca_data: AlpacaMarketData) -> None:
    load(fake_alpaca_data, {"SPY": 400.0, "QQQ": 300.0, "TLT": 90.0}, date(2024, 1, 2), date(2024, 2, 29))
    got = alpaca_data.closes_between(["SPY", "QQQ", "TLT"], date(2024, 1, 2), date(2024, 2, 29))
    days = sessions(date(2024, 1, 2), date(2024, 2, 29))
    assert all(len(got[s]) == len(days) for s in ("SPY", "QQQ", "TLT"))
    requests = fake_alpaca_data.bar_requests
    assert len(requests) == -(-3 * len(days) // fake_alpaca_data.page_size)  # 5 bars a page
    assert requests[0].params.get("page_token") is None
    assert all(r.params.get("page_token") for r in requests[1:])
    assert got["QQQ"].values[0] == 300.0 and got["QQQ"].values[-1] == 300.0 + 0.25 * (len(days) - 1)


def test_sends_adjustment_feed_timeframe_and_aware_times(
    fake_alpaca_data: FakeAlpacaDataServer, alpaca_data: AlpacaMarketData
) -> None:
    load(fake_alpaca_data, {"SPY": 400.0}, date(2024, 1, 2), date(2024, 1, 31))
    alpaca_data.closes_between(["SPY"], date(2024, 1, 8), date(2024, 1, 12))
    params = fake_alpaca_data.bar_requests[0].params
    assert params["adjustment"] == "all"
    assert params["feed"] == "iex"
    assert params["timeframe"] == "1Day"
    assert params["symbols"] == "SPY"
    # 00:00 and 23:59:59 New York (EST), sent with an explicit UTC offset.
    assert params["start"] == "2024-01-08T05:00:00+00:00"
    assert params["end"] == "2024-01-13T04:59:59+00:00"
    assert fake_alpaca_data.bar_requests[0].authenticated


def test_feed_is_configurable(fake_alpaca_data: FakeAlpacaDataServer) -> None:
    load(fake_alpaca_data, {"SPY": 400.0}, date(2024, 1, 2), date(2024, 1, 31))
    data = AlpacaMarketData(
        fake_alpaca_data.api_key, fake_alpaca_data.secret_key, feed="sip", url_override=fake_alpaca_data.url
    )
    data.history(["SPY"], date(2024, 1, 31), 5)
    assert fake_alpaca_data.bar_requests[0].params["feed"] == "sip"
    with pytest.raises(ValueError, match="feed"):
        AlpacaMarketData("k", "s", feed="nasdaq")


def test_midnight_new_york_stamps_map_to_their_day_in_winter_and_summer(
    fake_alpaca_data: FakeAlpacaDataServer, alpaca_data: AlpacaMarketData
) -> None:
    days = [date(2024, 3, 8), date(2024, 3, 11), date(2024, 7, 3), date(2024, 7, 5)]  # across the DST switch
    fake_alpaca_data.set_bars("SPY", [daily_bar(d, 500.0 + i) for i, d in enumerate(days)])
    assert [b["t"] for b in fake_alpaca_data.bars["SPY"]] == [
        "2024-03-08T05:00:00Z", "2024-03-11T04:00:00Z", "2024-07-03T04:00:00Z", "2024-07-05T04:00:00Z",
    ]  # fmt: skip
    got = alpaca_data.closes_between(["SPY"], date(2024, 3, 1), date(2024, 7, 31))["SPY"]
    assert [str(d) for d in got.dates] == [d.isoformat() for d in days]
    assert list(got.values) == [500.0, 501.0, 502.0, 503.0]


def test_bar_day_reads_the_new_york_date() -> None:
    assert bar_day(datetime(2024, 7, 3, 4, 0, tzinfo=UTC)) == date(2024, 7, 3)
    assert bar_day(datetime(2024, 1, 3, 5, 0, tzinfo=UTC)) == date(2024, 1, 3)
    with pytest.raises(ValueError):
        bar_day(datetime(2024, 1, 3, 5, 0))


def test_history_returns_the_lookback_ending_on_end_and_nothing_after(
    fake_alpaca_data: FakeAlpacaDataServer, alpaca_data: AlpacaMarketData
) -> None:
    load(fake_alpaca_data, {"SPY": 400.0, "BIL": 91.0}, date(2023, 6, 1), date(2024, 12, 31))
    history = alpaca_data.history(["SPY", "BIL"], date(2024, 11, 29), 200)
    assert history.as_of == date(2024, 11, 29)
    assert history.dates.shape == (200,)
    expected = np.array([d.isoformat() for d in sessions(date(2023, 6, 1), date(2024, 11, 29))[-200:]], "datetime64[D]")
    assert np.array_equal(history.dates, expected)
    assert history.closes["BIL"].dtype == np.float64
    # One request (plus pages) for both symbols, starting early enough for 200 sessions.
    starts = {r.params["start"] for r in fake_alpaca_data.bar_requests}
    assert len(starts) == 1


def test_symbol_without_bars_raises_naming_it(
    fake_alpaca_data: FakeAlpacaDataServer, alpaca_data: AlpacaMarketData
) -> None:
    load(fake_alpaca_data, {"SPY": 400.0}, date(2024, 1, 2), date(2024, 1, 31))
    with pytest.raises(MarketDataError, match="NOPE"):
        alpaca_data.history(["SPY", "NOPE"], date(2024, 1, 31), 5)


def test_rejected_keys_raise_without_leaking_them(fake_alpaca_data: FakeAlpacaDataServer) -> None:
    data = AlpacaMarketData("wrong-key-id", "wrong-secret-value", url_override=fake_alpaca_data.url)
    with pytest.raises(MarketDataError) as error:
        data.history(["SPY"], date(2024, 1, 31), 5)
    assert "401" in str(error.value)
    assert "wrong-secret-value" not in str(error.value) and "wrong-key-id" not in str(error.value)
    assert "wrong" not in repr(data)


def test_server_errors_become_market_data_errors(
    fake_alpaca_data: FakeAlpacaDataServer, alpaca_data: AlpacaMarketData
) -> None:
    fake_alpaca_data.failures.append((500, {"message": "internal server error"}))
    with pytest.raises(MarketDataError, match="500"):
        alpaca_data.history(["SPY"], date(2024, 1, 31), 5)


def test_bars_missing_n_and_vw_are_reported_as_unreadable(
    fake_alpaca_data: FakeAlpacaDataServer, alpaca_data: AlpacaMarketData
) -> None:
    bar = daily_bar(date(2024, 1, 30), 470.0)
    del bar["n"], bar["vw"]
    fake_alpaca_data.set_bars("SPY", [bar])
    with pytest.raises(MarketDataError, match="could not be read"):
        alpaca_data.history(["SPY"], date(2024, 1, 31), 5)


def test_a_hung_server_times_out(fake_alpaca_data: FakeAlpacaDataServer) -> None:
    fake_alpaca_data.delay_seconds = 2.0
    data = AlpacaMarketData(
        fake_alpaca_data.api_key, fake_alpaca_data.secret_key, url_override=fake_alpaca_data.url, timeout=0.3
    )
    with pytest.raises(MarketDataError, match="unreachable"):
        data.history(["SPY"], date(2024, 1, 31), 5)


def test_importing_and_constructing_does_not_import_alpaca_or_pandas() -> None:
    code = (
        "import sys;"
        "from shared.venues.factory import make_market_data;"
        "from pathlib import Path;"
        "m = make_market_data('alpaca', state_dir=Path('/tmp'), alpaca_keys=('k', 's'));"
        "make_market_data('offline', state_dir=Path('/tmp'));"
        "heavy = [m for m in ('alpaca', 'pandas', 'exchange_calendars', 'boto3') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_share_class_travels_in_alpacas_spelling(
    fake_alpaca_data: FakeAlpacaDataServer, alpaca_data: AlpacaMarketData
) -> None:
    load(fake_alpaca_data, {"BRK.B": 480.0}, date(2026, 11, 2), date(2026, 11, 24))
    history = alpaca_data.history(["BRK.B"], date(2026, 11, 24), 5)
    assert history.closes["BRK.B"][-1] == 480.0 + 0.25 * 16
    assert fake_alpaca_data.bar_requests[0].symbols == ["BRK.B"]


def test_alchemiser_alpaca_data_url_reaches_the_bars_client(
    fake_alpaca_data: FakeAlpacaDataServer, tmp_path: Path
) -> None:
    from services.strategy.settings import StrategySettings
    from shared.venues.factory import market_data_for

    load(fake_alpaca_data, {"SPY": 600.0}, date(2026, 11, 2), date(2026, 11, 24))
    settings = StrategySettings.from_env({
        "ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(tmp_path), "ALCHEMISER_MARKET_DATA": "alpaca",
        "ALCHEMISER_ALPACA_DATA_URL": fake_alpaca_data.url,
        "ALCHEMISER_ALPACA_API_KEY": fake_alpaca_data.api_key,
        "ALCHEMISER_ALPACA_SECRET_KEY": fake_alpaca_data.secret_key})
    assert settings.alpaca_data_url == fake_alpaca_data.url
    history = market_data_for(settings).history(["SPY"], date(2026, 11, 24), 3)
    assert history.closes["SPY"].tolist() == [603.5, 603.75, 604.0]
    assert fake_alpaca_data.bar_requests and all(r.authenticated for r in fake_alpaca_data.bar_requests)


def test_latest_trades_come_through_alpaca_pys_latest_trade_request(
    fake_alpaca_data: FakeAlpacaDataServer, alpaca_data: AlpacaMarketData
) -> None:
    at = datetime(2026, 11, 25, 20, 50, tzinfo=UTC)
    fake_alpaca_data.set_latest_trade("SPY", 601.25, at)
    fake_alpaca_data.set_latest_trade("BRK.B", 482.5, at)
    assert alpaca_data.latest_prices(["SPY", "BRK.B"], at) == {"SPY": 601.25, "BRK.B": 482.5}
    request = next(r for r in fake_alpaca_data.requests if r.path == "/v2/stocks/trades/latest")
    assert sorted(request.symbols) == ["BRK.B", "SPY"] and request.params["feed"] == "iex"
    with pytest.raises(MarketDataError, match="no latest trade for QQQ"):
        alpaca_data.latest_prices(["SPY", "QQQ"], at)
