"""make_market_data: source strings to adapters; heavy libraries stay unimported until used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.marketdata.bar_store import DirectoryBarStore, S3BarStore
from shared.marketdata.cache import CachedMarketData
from shared.marketdata.csv_files import CsvDirectoryMarketData
from shared.marketdata.offline import OfflineMarketData
from shared.venues.alpaca.bars import AlpacaMarketData
from shared.venues.factory import make_market_data

ROOT = Path(__file__).resolve().parents[3]


def test_offline(tmp_path: Path) -> None:
    assert isinstance(make_market_data("offline", state_dir=tmp_path), OfflineMarketData)


def test_alpaca_is_cached_in_the_state_dir_per_feed(tmp_path: Path) -> None:
    data = make_market_data("alpaca", state_dir=tmp_path, alpaca_keys=("key", "secret"), feed="sip")
    assert isinstance(data, CachedMarketData)
    assert isinstance(data.inner, AlpacaMarketData) and data.inner.feed == "sip"
    assert isinstance(data.store, DirectoryBarStore)
    assert data.store.path == tmp_path / "bars" / "alpaca-sip"
    assert "secret" not in repr(data)


def test_alpaca_with_a_bucket_caches_in_s3(tmp_path: Path) -> None:
    data = make_market_data("alpaca", state_dir=tmp_path, alpaca_keys=("key", "secret"), s3_bucket="my-bucket")
    assert isinstance(data, CachedMarketData) and isinstance(data.store, S3BarStore)
    assert (data.store.bucket, data.store.key("SPY")) == ("my-bucket", "bars/alpaca-iex/SPY.json")


def test_alpaca_without_keys_or_with_a_bad_feed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keys"):
        make_market_data("alpaca", state_dir=tmp_path)
    with pytest.raises(ValueError, match="keys"):
        make_market_data("alpaca", state_dir=tmp_path, alpaca_keys=("key", ""))
    with pytest.raises(ValueError, match="feed"):
        make_market_data("alpaca", state_dir=tmp_path, alpaca_keys=("k", "s"), feed="nyse")


def test_a_directory_is_csv_files(tmp_path: Path) -> None:
    data = make_market_data(str(tmp_path), state_dir=tmp_path)
    assert isinstance(data, CsvDirectoryMarketData) and data.directory == tmp_path


def test_anything_else_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'offline', 'alpaca'"):
        make_market_data("ofline", state_dir=tmp_path)


def test_calendar_and_offline_modules_import_no_heavy_library() -> None:
    code = (
        "import sys;"
        "import shared.marketdata.calendar, shared.marketdata.offline, shared.marketdata.cache;"
        "import shared.venues.alpaca.bars, shared.marketdata.csv_files, shared.venues.factory;"
        "print(','.join(m for m in ('exchange_calendars', 'pandas', 'alpaca', 'boto3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
