"""CachedMarketData over the real alpaca-py client and the fake server: only missing days are fetched."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from shared.marketdata.bar_store import DirectoryBarStore
from shared.marketdata.cache import CachedMarketData
from shared.marketdata.calendar import ExchangeCalendar
from shared.runtime.clock import NEW_YORK as NY
from shared.venues.alpaca.bars import AlpacaMarketData
from tests.fakes.fake_alpaca_data import FakeAlpacaDataServer

CAL = ExchangeCalendar()
SYMBOLS = {"SPY": 450.0, "TQQQ": 40.0, "BIL": 91.4}


def settled() -> datetime:
    return datetime(2030, 1, 1, tzinfo=UTC)


def load(fake: FakeAlpacaDataServer, start: date, end: date) -> None:
    days = [date.fromisoformat(str(d)) for d in CAL.sessions_between(start, end)]
    for symbol, base in SYMBOLS.items():
        fake.set_closes(symbol, {d: round(base * (1 + 0.001 * i), 2) for i, d in enumerate(days)})


def cached(fake: FakeAlpacaDataServer, tmp_path: Path) -> CachedMarketData:
    inner = AlpacaMarketData(fake.api_key, fake.secret_key, url_override=fake.url)
    return CachedMarketData(inner, DirectoryBarStore(tmp_path / "bars"), now=settled)


def ny_day(stamp: datetime | None) -> date:
    assert stamp is not None
    return stamp.astimezone(NY).date()


def test_second_run_fetches_only_the_missing_days(fake_alpaca_data: FakeAlpacaDataServer, tmp_path: Path) -> None:
    load(fake_alpaca_data, date(2023, 1, 1), date(2024, 12, 31))
    symbols = list(SYMBOLS)

    first = cached(fake_alpaca_data, tmp_path).history(symbols, date(2024, 6, 26), 120)
    assert first.as_of == date(2024, 6, 26)
    initial = fake_alpaca_data.bar_requests
    assert all(r.symbols == symbols for r in initial)  # all three symbols in one (paginated) request
    assert len(initial) > 1  # 3 symbols x ~170 days in pages of 5
    assert sorted(p.name for p in (tmp_path / "bars").iterdir()) == ["BIL.json", "SPY.json", "TQQQ.json"]

    fake_alpaca_data.clear_requests()
    second = cached(fake_alpaca_data, tmp_path).history(symbols, date(2024, 7, 1), 120)  # a new process
    requests = fake_alpaca_data.bar_requests
    # Wed 06-26 (re-read to verify it) .. Mon 07-01: 4 sessions x 3 symbols = 12 bars, 3 pages of 5.
    assert len(requests) == 3
    assert {ny_day(r.start) for r in requests} == {date(2024, 6, 26)}
    assert {ny_day(r.end) for r in requests} == {date(2024, 7, 1)}
    assert second.as_of == date(2024, 7, 1)
    assert second.dates.shape == (120,)

    # The cached answer equals a straight answer from the source.
    fresh = AlpacaMarketData(
        fake_alpaca_data.api_key, fake_alpaca_data.secret_key, url_override=fake_alpaca_data.url
    ).history(symbols, date(2024, 7, 1), 120)
    assert np.array_equal(second.dates, fresh.dates)
    for symbol in symbols:
        assert np.array_equal(second.closes[symbol], fresh.closes[symbol])

    fake_alpaca_data.clear_requests()
    cached(fake_alpaca_data, tmp_path).history(symbols, date(2024, 7, 1), 120)
    assert fake_alpaca_data.bar_requests == []  # nothing missing: no request at all


def test_a_split_rewrites_the_cache(fake_alpaca_data: FakeAlpacaDataServer, tmp_path: Path) -> None:
    load(fake_alpaca_data, date(2024, 1, 1), date(2024, 6, 26))
    cached(fake_alpaca_data, tmp_path).history(["TQQQ"], date(2024, 6, 26), 60)
    # A 1:10 reverse split on 06-27: Alpaca's adjusted history is rescaled backwards.
    days = [date.fromisoformat(str(d)) for d in CAL.sessions_between(date(2024, 1, 1), date(2024, 6, 28))]
    fake_alpaca_data.set_closes("TQQQ", {d: 400.0 + i for i, d in enumerate(days)})
    history = cached(fake_alpaca_data, tmp_path).history(["TQQQ"], date(2024, 6, 28), 60)
    assert list(history.closes["TQQQ"]) == [400.0 + i for i in range(len(days) - 60, len(days))]
