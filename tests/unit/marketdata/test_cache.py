"""CachedMarketData over a recording source and a DirectoryBarStore."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from shared.marketdata.bar_store import DirectoryBarStore, StoredBars
from shared.marketdata.cache import CachedMarketData, yesterday_in_new_york
from shared.marketdata.offline import OfflineMarketData
from shared.marketdata.port import MarketDataError
from shared.marketdata.series import Closes, lookback_start

LATER = lambda: datetime(2030, 1, 1, tzinfo=UTC)  # noqa: E731 - every test day is settled


class RecordingSource:
    """Offline data that records every range asked for; can rescale history (a split)."""

    def __init__(self) -> None:
        self.offline = OfflineMarketData(strict=True)
        self.calls: list[tuple[tuple[str, ...], date, date]] = []
        self.scale_before: tuple[date, float] | None = None

    def closes_between(self, symbols: Sequence[str], start: date, end: date) -> dict[str, Closes]:
        self.calls.append((tuple(symbols), start, end))
        got = self.offline.closes_between(symbols, start, end)
        if self.scale_before is not None:
            day, factor = self.scale_before
            got = {
                s: Closes(c.dates, np.where(c.dates < np.datetime64(day), c.values * factor, c.values))
                for s, c in got.items()
            }
        return got


@pytest.fixture
def source() -> RecordingSource:
    return RecordingSource()


def cached(source: RecordingSource, path: Path, now: object = LATER) -> CachedMarketData:
    return CachedMarketData(source, DirectoryBarStore(path), now=now)  # type: ignore[arg-type]


def test_first_run_fetches_the_needed_range_once_for_all_symbols(source: RecordingSource, tmp_path: Path) -> None:
    history = cached(source, tmp_path).history(["SPY", "QQQ", "BIL"], date(2024, 6, 28), 200)
    assert source.calls == [(("SPY", "QQQ", "BIL"), lookback_start(date(2024, 6, 28), 200), date(2024, 6, 28))]
    expected = OfflineMarketData().history(["SPY", "QQQ", "BIL"], date(2024, 6, 28), 200)
    assert np.array_equal(history.dates, expected.dates)
    for symbol in ("SPY", "QQQ", "BIL"):
        assert np.array_equal(history.closes[symbol], expected.closes[symbol])


def test_second_run_fetches_only_the_missing_days(source: RecordingSource, tmp_path: Path) -> None:
    cached(source, tmp_path).history(["SPY", "QQQ"], date(2024, 6, 26), 200)  # a Wednesday
    source.calls.clear()
    history = cached(source, tmp_path).history(["SPY", "QQQ"], date(2024, 7, 1), 200)  # next Monday, new process
    # One call for both symbols: from the last stored bar (re-read to verify it) to the new end.
    assert source.calls == [(("SPY", "QQQ"), date(2024, 6, 26), date(2024, 7, 1))]
    expected = OfflineMarketData().history(["SPY", "QQQ"], date(2024, 7, 1), 200)
    assert np.array_equal(history.dates, expected.dates)
    assert np.array_equal(history.closes["QQQ"], expected.closes["QQQ"])


def test_a_repeat_run_fetches_nothing(source: RecordingSource, tmp_path: Path) -> None:
    data = cached(source, tmp_path)
    first = data.history(["SPY"], date(2024, 6, 28), 100)
    source.calls.clear()
    again = cached(source, tmp_path).history(["SPY"], date(2024, 6, 28), 100)
    shorter = cached(source, tmp_path).history(["SPY"], date(2024, 6, 20), 50)
    assert source.calls == []
    assert np.array_equal(first.closes["SPY"], again.closes["SPY"])
    assert shorter.as_of == date(2024, 6, 20)


def test_never_serves_a_day_past_end(source: RecordingSource, tmp_path: Path) -> None:
    cached(source, tmp_path).history(["SPY"], date(2024, 6, 28), 100)
    history = cached(source, tmp_path).history(["SPY"], date(2024, 6, 15), 30)  # a Saturday
    assert history.as_of == date(2024, 6, 14)
    assert history.dates.shape == (30,)


def test_a_longer_lookback_fetches_only_the_older_days(source: RecordingSource, tmp_path: Path) -> None:
    cached(source, tmp_path).history(["SPY"], date(2024, 6, 28), 50)
    stored = DirectoryBarStore(tmp_path).load("SPY")
    assert stored is not None and stored.closes.first is not None
    source.calls.clear()
    history = cached(source, tmp_path).history(["SPY"], date(2024, 6, 28), 300)
    assert source.calls == [(("SPY",), lookback_start(date(2024, 6, 28), 300), stored.closes.first)]
    assert history.dates.shape == (300,)


def test_unsettled_days_are_served_but_not_saved(source: RecordingSource, tmp_path: Path) -> None:
    during_session = lambda: datetime(2024, 7, 1, 14, 0, tzinfo=UTC)  # noqa: E731 - 10:00 New York
    history = cached(source, tmp_path, now=during_session).history(["SPY"], date(2024, 7, 1), 20)
    assert history.as_of == date(2024, 7, 1)
    stored = DirectoryBarStore(tmp_path).load("SPY")
    assert stored is not None
    assert stored.covered_to == date(2024, 6, 30) and stored.closes.last == date(2024, 6, 28)
    source.calls.clear()
    cached(source, tmp_path, now=during_session).history(["SPY"], date(2024, 7, 1), 20)
    assert source.calls == [(("SPY",), date(2024, 6, 28), date(2024, 7, 1))]  # today's bar again


def test_yesterday_in_new_york_never_runs_ahead() -> None:
    # 23:30 New York (EDT) on 07-01 is 03:30 UTC on 07-02: New York's yesterday is still 06-30.
    assert yesterday_in_new_york(datetime(2024, 7, 2, 3, 30, tzinfo=UTC)) == date(2024, 6, 30)
    assert yesterday_in_new_york(datetime(2024, 7, 2, 5, 30, tzinfo=UTC)) == date(2024, 7, 1)


def test_a_split_at_the_source_is_detected_and_history_refetched(source: RecordingSource, tmp_path: Path) -> None:
    cached(source, tmp_path).history(["TQQQ", "SPY"], date(2024, 6, 26), 100)
    source.calls.clear()
    source.scale_before = (date(2024, 6, 27), 0.5)  # a 2:1 split effective 06-27 rescales older closes
    history = cached(source, tmp_path).history(["TQQQ", "SPY"], date(2024, 6, 28), 100)
    truth = source.closes_between(["TQQQ"], date(2024, 1, 1), date(2024, 6, 28))["TQQQ"]
    np.testing.assert_array_equal(history.closes["TQQQ"], truth.values[-100:])
    assert source.calls[0] == (("TQQQ", "SPY"), date(2024, 6, 26), date(2024, 6, 28))
    assert source.calls[1][0] == ("TQQQ", "SPY")  # both changed here (the fake rescales everything)
    assert source.calls[1][1] <= lookback_start(date(2024, 6, 26), 100)
    stored = DirectoryBarStore(tmp_path).load("TQQQ")
    assert stored is not None
    np.testing.assert_array_equal(stored.closes.values[-100:], truth.values[-100:])


def test_a_young_symbol_is_not_refetched_every_run(source: RecordingSource, tmp_path: Path) -> None:
    cached(source, tmp_path).history(["SPY"], date(2005, 2, 28), 200)  # data start 2005-01-03
    source.calls.clear()
    history = cached(source, tmp_path).history(["SPY"], date(2005, 2, 28), 200)
    assert source.calls == []
    assert history.dates[0] == np.datetime64("2005-01-03")


def test_unknown_symbols_raise_from_the_source(source: RecordingSource, tmp_path: Path) -> None:
    with pytest.raises(MarketDataError, match="NOPE"):
        cached(source, tmp_path).history(["SPY", "NOPE"], date(2024, 6, 28), 10)


def test_directory_store_round_trips_and_ignores_corrupt_entries(tmp_path: Path) -> None:
    store = DirectoryBarStore(tmp_path / "bars")
    assert store.load("SPY") is None
    record = StoredBars(
        date(2024, 1, 1), date(2024, 1, 5), Closes.from_pairs([(date(2024, 1, 2), 472.65), (date(2024, 1, 5), 0.1)])
    )
    store.save("SPY", record)
    loaded = store.load("SPY")
    assert loaded is not None
    assert (loaded.covered_from, loaded.covered_to) == (record.covered_from, record.covered_to)
    assert np.array_equal(loaded.closes.dates, record.closes.dates)
    assert np.array_equal(loaded.closes.values, record.closes.values)
    assert sorted(p.name for p in (tmp_path / "bars").iterdir()) == ["SPY.json"]
    (tmp_path / "bars" / "SPY.json").write_text("{not json")
    assert store.load("SPY") is None


def test_store_refuses_symbols_that_are_not_file_names(tmp_path: Path) -> None:
    with pytest.raises(MarketDataError):
        DirectoryBarStore(tmp_path).load("../etc/passwd")


def test_a_corrupt_entry_is_refetched(source: RecordingSource, tmp_path: Path) -> None:
    cached(source, tmp_path).history(["SPY"], date(2024, 6, 28), 20)
    (tmp_path / "SPY.json").write_text("garbage")
    source.calls.clear()
    history = cached(source, tmp_path).history(["SPY"], date(2024, 6, 28), 20)
    assert len(source.calls) == 1 and history.dates.shape == (20,)


def test_next_day_with_lookback_start_moving_forward(source: RecordingSource, tmp_path: Path) -> None:
    end = date(2024, 6, 3)
    for _ in range(5):
        cached(source, tmp_path).history(["SPY"], end, 200)
        end += timedelta(days=1)
    assert len(source.calls) == 5
    assert all(call[2] - call[1] <= timedelta(days=1) for call in source.calls[1:])
