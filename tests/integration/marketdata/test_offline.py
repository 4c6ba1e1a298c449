"""OfflineMarketData: deterministic, plausible, derived correctly, strict about tickers."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from shared.marketdata import offline, offline_model
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import KNOWN_SYMBOLS, OfflineMarketData, offline_universe
from shared.marketdata.port import MarketDataError

ROOT = Path(__file__).resolve().parents[3]
REQUIRED = [
    "SPY", "QQQ", "TQQQ", "SQQQ", "UVXY", "VIXY", "VXX", "BIL", "SHY", "IEF", "TLT", "TMF", "GLD", "DBC",
    "XLK", "XLE", "XLV", "XLF", "XLP", "XLU", "XLI", "XLY", "XLB", "SOXX", "SOXL", "SOXS", "TECL", "UPRO",
    "SPXU", "VTI", "VEA", "VWO", "BND", "AGG", "IWM", "EFA", "EEM", "HYG", "LQD", "TIP", "USO", "UNG", "SLV",
    "KMLM", "BITO", "SVXY", "TBT", "PSQ", "SH", "DIA", "VOX", "VNQ",
]  # fmt: skip


def returns(prices: np.ndarray) -> np.ndarray:
    return np.asarray(prices[1:] / prices[:-1] - 1.0)


def window(start: str, end: str) -> slice:
    dates = offline_universe().dates
    return slice(
        int(np.searchsorted(dates, np.datetime64(start))), int(np.searchsorted(dates, np.datetime64(end), "right"))
    )


def digest(data: OfflineMarketData) -> str:
    history = data.history(["SPY", "TQQQ", "UVXY", "BIL", "TLT"], date(2026, 6, 30), 5000)
    h = hashlib.sha256(history.dates.tobytes())
    for symbol in sorted(history.closes):
        h.update(symbol.encode() + history.closes[symbol].tobytes())
    return h.hexdigest()


def test_universe_holds_the_required_etfs() -> None:
    assert set(REQUIRED) <= set(KNOWN_SYMBOLS)
    assert len(KNOWN_SYMBOLS) >= 60


def test_same_inputs_same_output_across_instances_and_ranges() -> None:
    a = OfflineMarketData().history(["SPY", "TQQQ", "UVXY"], date(2020, 6, 30), 400)
    b = OfflineMarketData().history(["UVXY", "SPY", "TQQQ"], date(2021, 3, 31), 700)
    overlap, ia, ib = np.intersect1d(a.dates, b.dates, return_indices=True)
    assert overlap.shape[0] >= 300
    for symbol in ("SPY", "TQQQ", "UVXY"):
        assert np.array_equal(a.closes[symbol][ia], b.closes[symbol][ib])


def test_same_output_in_a_fresh_process_with_a_different_hash_seed() -> None:
    code = (
        "from tests.integration.marketdata.test_offline import digest;"
        "from shared.marketdata.offline import OfflineMarketData;"
        "print(digest(OfflineMarketData()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == digest(OfflineMarketData())


def test_history_is_on_xnys_sessions_and_ends_on_or_before_end() -> None:
    history = OfflineMarketData().history(["SPY", "BIL"], date(2026, 11, 26), 30)  # Thanksgiving
    assert history.dates.dtype == np.dtype("datetime64[D]")
    assert history.dates.shape == (30,) and history.closes["SPY"].shape == (30,)
    assert history.as_of == date(2026, 11, 25)
    expected = ExchangeCalendar().sessions_between(date(2026, 10, 1), date(2026, 11, 25))[-30:]
    assert np.array_equal(history.dates, expected)
    assert history.closes["SPY"].dtype == np.float64


def test_lookback_before_the_first_day_returns_fewer_rows() -> None:
    history = OfflineMarketData().history(["SPY"], date(2005, 1, 31), 200)
    assert history.dates[0] == np.datetime64("2005-01-03")
    assert 15 < history.dates.shape[0] < 200


def test_requests_outside_the_generated_range_raise() -> None:
    data = OfflineMarketData()
    with pytest.raises(MarketDataError, match="2035-12-31"):
        data.history(["SPY"], date(2036, 1, 5), 10)
    with pytest.raises(MarketDataError, match="2005-01-03"):
        data.history(["SPY"], date(2004, 12, 31), 10)


def test_strict_offline_data_refuses_unknown_tickers_naming_them_and_how_to_get_data() -> None:
    with pytest.raises(MarketDataError, match="TQQQQ") as info:
        OfflineMarketData(strict=True).history(["SPY", "TQQQQ"], date(2024, 1, 5), 10)
    assert "--data alpaca" in str(info.value) and "date,close" in str(info.value)
    with pytest.raises(MarketDataError, match="ZZZZ"):
        OfflineMarketData(strict=True).latest_close("ZZZZ", date(2024, 1, 5))


def test_an_invalid_ticker_is_refused_even_when_any_ticker_is_generated() -> None:
    with pytest.raises(MarketDataError, match="spy: not valid tickers"):
        OfflineMarketData().history(["spy"], date(2024, 1, 5), 10)


def test_a_known_ticker_gets_a_deterministic_plausible_synthetic_history() -> None:
    data = OfflineMarketData(invent_any=False)
    assert data.synthetic and not data.any_symbol and OfflineMarketData(invent_any=True).any_symbol
    assert not OfflineMarketData(strict=True, invent_any=True).any_symbol
    a = data.history(["AAPL", "BRK.B", "SPY"], date(2026, 11, 24), 2600)
    b = OfflineMarketData().history(["BRK.B", "AAPL"], date(2026, 11, 24), 2600)
    assert np.array_equal(a.closes["AAPL"], b.closes["AAPL"])  # seeded by the ticker alone
    assert not np.array_equal(a.closes["AAPL"], a.closes["BRK.B"])
    vol = float(np.std(np.diff(np.log(a.closes["AAPL"]))) * np.sqrt(252))
    assert 0.1 < vol < 0.6  # a stock's annual volatility, not noise or a flat line
    assert OfflineMarketData.generic(["AAPL", "SPY"]) == ["AAPL"]
    assert data.latest_close("AAPL", date(2026, 11, 24)) > 0


def test_extra_symbols_get_deterministic_generic_series() -> None:
    extras = [f"SYM{i:03d}" for i in range(5)]
    a = OfflineMarketData(extra_symbols=extras).history([*extras, "SPY"], date(2024, 6, 28), 250)
    b = OfflineMarketData(extra_symbols=reversed(extras)).history(extras, date(2024, 6, 28), 250)
    for symbol in extras:
        assert np.array_equal(a.closes[symbol], b.closes[symbol])
        assert bool((a.closes[symbol] > 0).all())
    assert not np.array_equal(a.closes["SYM000"], a.closes["SYM001"])
    with pytest.raises(MarketDataError, match="SYM999"):
        OfflineMarketData(extra_symbols=extras, strict=True).history(["SYM999"], date(2024, 6, 28), 5)


@pytest.mark.parametrize(
    ("levered", "underlying", "multiple"),
    [
        ("TQQQ", "QQQ", 3.0), ("SQQQ", "QQQ", -3.0), ("UPRO", "SPY", 3.0), ("SPXU", "SPY", -3.0),
        ("SOXL", "SOXX", 3.0), ("SOXS", "SOXX", -3.0), ("TECL", "XLK", 3.0), ("TMF", "TLT", 3.0),
        ("TBT", "TLT", -2.0), ("PSQ", "QQQ", -1.0), ("SH", "SPY", -1.0), ("UVXY", "VXX", 1.5),
        ("SVXY", "VXX", -0.5),
    ],
)  # fmt: skip
def test_leveraged_and_inverse_daily_returns_are_the_multiple_of_the_underlying(
    levered: str, underlying: str, multiple: float
) -> None:
    raw = offline_universe().raw
    np.testing.assert_allclose(returns(raw[levered]), multiple * returns(raw[underlying]), rtol=0, atol=1e-10)
    # After rounding to cents, still within rounding error wherever the price is not tiny.
    rounded = offline_universe().closes
    part = window("2024-01-01", "2026-12-31")
    lev, und = rounded[levered][part], rounded[underlying][part]
    # |d(p1/p0)| <= (0.005 + 0.005 * p1/p0) / p0 for each price rounded to the cent.
    tolerance = 0.0051 * (2 + returns(lev)) / lev[:-1] + abs(multiple) * 0.0051 * (2 + returns(und)) / und[:-1]
    assert bool((np.abs(returns(lev) - multiple * returns(und)) <= tolerance).all())


def test_holidays_carry_no_return_so_leverage_is_exact_across_them() -> None:
    universe = offline_universe()
    assert not bool(universe.session_mask.all())  # there are weekday holidays on the grid
    assert universe.dates.shape[0] == int(universe.session_mask.sum())


def test_all_prices_positive_and_finite() -> None:
    universe = offline_universe()
    for symbol, closes in universe.closes.items():
        assert bool(np.isfinite(closes).all()), symbol
        assert bool((closes > 0).all()), symbol


def test_volatility_products_spike_when_spy_falls() -> None:
    raw = offline_universe().raw
    spy, uvxy, vixy = returns(raw["SPY"]), returns(raw["UVXY"]), returns(raw["VIXY"])
    assert np.corrcoef(spy, uvxy)[0, 1] < -0.6
    assert np.corrcoef(spy, vixy)[0, 1] < -0.6
    worst = np.argsort(spy)[:50]
    assert (uvxy[worst] > 0).mean() > 0.9
    assert uvxy[worst].mean() > 0.15


def test_volatility_products_decay_in_calm_markets() -> None:
    closes = offline_universe().closes
    ten_years = window("2015-01-01", "2024-12-31")
    uvxy = closes["UVXY"][ten_years]
    assert uvxy[-1] < uvxy[0] / 100
    assert closes["SVXY"][ten_years][-1] > closes["SVXY"][ten_years][0]


def test_cash_like_etfs_drift_up_with_tiny_volatility() -> None:
    closes = offline_universe().closes
    for symbol, max_drawdown in (("BIL", 0.005), ("SHY", 0.06)):
        series = closes[symbol]
        assert series[-1] > series[0]
        assert (series / np.maximum.accumulate(series) - 1).min() > -max_drawdown, symbol
        assert returns(series).std() < 0.002, symbol
    bil = closes["BIL"]
    for year in range(2005, 2035, 5):
        part = bil[window(f"{year}-01-01", f"{year + 4}-12-31")]
        assert part[-1] > part[0], year


def test_spy_spends_time_above_and_below_its_200_day_average_over_ten_years() -> None:
    spy = OfflineMarketData().history(["SPY"], date(2025, 12, 31), 2520 + 199).closes["SPY"]
    average = np.convolve(spy, np.ones(200) / 200, mode="valid")
    above = spy[199:] > average
    assert above.shape[0] == 2520
    assert 0.15 < above.mean() < 0.85
    crossings = int(np.count_nonzero(above[1:] != above[:-1]))
    assert crossings >= 6


def test_market_has_plausible_return_volatility_and_drawdowns() -> None:
    spy = offline_universe().raw["SPY"][window("2005-01-01", "2025-12-31")]
    years = spy.shape[0] / 252
    cagr = (spy[-1] / spy[0]) ** (1 / years) - 1
    vol = returns(spy).std() * np.sqrt(252)
    drawdown = (spy / np.maximum.accumulate(spy) - 1).min()
    assert 0.03 < cagr < 0.15
    assert 0.10 < vol < 0.30
    assert -0.7 < drawdown < -0.25


def test_sectors_and_bonds_have_their_own_behaviour() -> None:
    raw = offline_universe().raw
    spy = returns(raw["SPY"])
    corr = {s: np.corrcoef(spy, returns(raw[s]))[0, 1] for s in ("QQQ", "XLU", "TLT", "GLD", "BIL")}
    assert corr["QQQ"] > 0.85
    assert 0.3 < corr["XLU"] < corr["QQQ"]
    assert corr["TLT"] < 0.0
    assert abs(corr["GLD"]) < 0.3
    assert abs(corr["BIL"]) < 0.2


def test_latest_close_is_the_rounded_decimal_the_strategies_see() -> None:
    data = OfflineMarketData()
    day = date(2026, 11, 28)  # Saturday: Friday's close
    price = data.latest_close("SPY", day)
    history = data.history(["SPY"], day, 1)
    assert isinstance(price, Decimal)
    assert price == Decimal(str(history.closes["SPY"][-1]))
    assert price == history.close_as_decimal("SPY", 2)
    assert -price.as_tuple().exponent <= 4
    assert data.latest_close("BIL", date(2026, 1, 2)) == Decimal("91.50")


def test_rounding_keeps_tiny_decayed_prices_positive() -> None:
    prices = np.array([1234.5678, 1.005, 0.123456, 0.000123456789])
    rounded = offline_model.round_prices(prices)
    assert rounded[0] == 1234.57 and rounded[2] == 0.1235
    assert rounded[3] == pytest.approx(0.000123457, rel=1e-9)
    assert bool((rounded > 0).all())


def test_the_universe_rebuilt_from_cleared_caches_models_every_known_symbol() -> None:
    """(Its build time is a bench row: bench/bench_strategy.py `offline_universe_build`.)"""
    offline_universe()
    offline.offline_universe.cache_clear()
    offline._factors.cache_clear()
    universe = offline_universe()
    assert len(universe.closes) == len(KNOWN_SYMBOLS)
