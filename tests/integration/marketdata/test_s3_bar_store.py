"""S3BarStore against moto, alone and behind CachedMarketData."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import boto3
import numpy as np
import pytest
from moto import mock_aws

from shared.marketdata.bar_store import S3BarStore, StoredBars
from shared.marketdata.cache import CachedMarketData
from shared.marketdata.offline import OfflineMarketData
from shared.marketdata.series import Closes

BUCKET = "alchemiser-state-test"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_round_trip_under_the_prefix(s3: Any) -> None:
    store = S3BarStore(BUCKET, prefix="bars/alpaca-iex/", client=s3)
    assert store.load("SPY") is None
    record = StoredBars(date(2024, 1, 1), date(2024, 1, 5), Closes.from_pairs([(date(2024, 1, 2), 472.65)]))
    store.save("SPY", record)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["bars/alpaca-iex/SPY.json"]
    body = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
    assert body["dates"] == ["2024-01-02"] and body["closes"] == [472.65]
    loaded = store.load("SPY")
    assert loaded is not None and loaded.covered_to == date(2024, 1, 5)
    assert loaded.closes.values.tolist() == [472.65]


def test_default_client_is_made_lazily(s3: Any) -> None:
    store = S3BarStore(BUCKET, prefix="bars")
    assert store.load("QQQ") is None


def test_an_unreadable_object_is_treated_as_absent(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="bars/SPY.json", Body=b"not json")
    assert S3BarStore(BUCKET, prefix="bars", client=s3).load("SPY") is None


def test_missing_bucket_is_an_error_not_a_miss(s3: Any) -> None:
    with pytest.raises(Exception, match="NoSuchBucket"):
        S3BarStore("no-such-bucket", client=s3).load("SPY")


class Counting:
    def __init__(self) -> None:
        self.inner = OfflineMarketData()
        self.calls: list[tuple[date, date]] = []

    def closes_between(self, symbols: Sequence[str], start: date, end: date) -> dict[str, Closes]:
        self.calls.append((start, end))
        return self.inner.closes_between(symbols, start, end)


def test_cache_on_s3_fetches_only_missing_days(s3: Any) -> None:
    source = Counting()
    now = lambda: datetime(2030, 1, 1, tzinfo=UTC)  # noqa: E731
    first = CachedMarketData(source, S3BarStore(BUCKET, client=s3), now=now)
    first.history(["SPY", "TLT"], date(2024, 3, 1), 50)
    second = CachedMarketData(source, S3BarStore(BUCKET, client=s3), now=now)
    history = second.history(["SPY", "TLT"], date(2024, 3, 5), 50)
    assert source.calls[1] == (date(2024, 3, 1), date(2024, 3, 5))
    assert len(source.calls) == 2
    expected = OfflineMarketData().history(["SPY", "TLT"], date(2024, 3, 5), 50)
    assert np.array_equal(history.closes["TLT"], expected.closes["TLT"])
