"""Where CachedMarketData keeps bars: one small JSON document per symbol, locally or in S3.

A document records the closes *and* the calendar range they are complete for
(`covered_from`..`covered_to`: the source was asked for that whole range and everything it
returned is here), so a young symbol, a weekend or a holiday is not re-fetched forever.
An unreadable document is treated as absent (logged): the cache re-fetches rather than fail a run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from shared.marketdata.port import MarketDataError
from shared.marketdata.series import Closes

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

FORMAT = 1
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,20}$")


@dataclass(frozen=True)
class StoredBars:
    covered_from: date
    covered_to: date
    closes: Closes


class BarStore(Protocol):
    def load(self, symbol: str) -> StoredBars | None: ...

    def save(self, symbol: str, bars: StoredBars) -> None: ...


def _checked(symbol: str) -> str:
    if not _SYMBOL.match(symbol) or ".." in symbol:
        raise MarketDataError(f"symbol {symbol!r} cannot name a cache entry")
    return symbol


def encode(symbol: str, bars: StoredBars) -> bytes:
    document = {
        "format": FORMAT,
        "symbol": symbol,
        "covered_from": bars.covered_from.isoformat(),
        "covered_to": bars.covered_to.isoformat(),
        "dates": [str(d) for d in bars.closes.dates.astype("datetime64[D]")],
        "closes": [float(v) for v in bars.closes.values],
    }
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def decode(symbol: str, payload: bytes) -> StoredBars:
    document: Any = json.loads(payload.decode("utf-8"))
    if document.get("format") != FORMAT or document.get("symbol") != symbol:
        raise ValueError(f"not a format-{FORMAT} cache entry for {symbol}")
    dates = np.array(document["dates"], dtype="datetime64[D]")
    values = np.array(document["closes"], dtype=np.float64)
    ascending = dates.size < 2 or bool(np.all(np.diff(dates) > np.timedelta64(0)))
    if dates.shape != values.shape or not ascending:
        raise ValueError("dates and closes do not line up or are not strictly ascending")
    if not bool(np.all(np.isfinite(values))):
        raise ValueError("non-finite close")
    covered_from = date.fromisoformat(document["covered_from"])
    covered_to = date.fromisoformat(document["covered_to"])
    if covered_from > covered_to:
        raise ValueError("covered_from is after covered_to")
    return StoredBars(covered_from, covered_to, Closes(dates, values))


class DirectoryBarStore:
    """`path/SYMBOL.json`; written atomically (temp file + rename); the directory is made on first save."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"DirectoryBarStore({str(self.path)!r})"

    def _file(self, symbol: str) -> Path:
        return self.path / f"{_checked(symbol)}.json"

    def load(self, symbol: str) -> StoredBars | None:
        file = self._file(symbol)
        try:
            payload = file.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return decode(symbol, payload)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            logger.warning("ignoring unreadable bar cache entry %s: %s", file, error)
            return None

    def save(self, symbol: str, bars: StoredBars) -> None:
        file = self._file(symbol)
        self.path.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{symbol}.", suffix=".tmp", dir=self.path)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(encode(symbol, bars))
            os.replace(temp, file)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


class S3BarStore:
    """`s3://bucket/prefix/SYMBOL.json` through boto3 (the client given, or the container's: aws_clients)."""

    def __init__(self, bucket: str, prefix: str = "bars", client: S3Client | None = None) -> None:
        if not bucket:
            raise ValueError("S3BarStore needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    def __repr__(self) -> str:
        return f"S3BarStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    @property
    def client(self) -> S3Client:
        if self._client is None:
            from shared.runtime import aws_clients

            self._client = aws_clients.client("s3")
        return self._client

    def key(self, symbol: str) -> str:
        name = f"{_checked(symbol)}.json"
        return f"{self.prefix}/{name}" if self.prefix else name

    def load(self, symbol: str) -> StoredBars | None:
        from botocore.exceptions import ClientError

        key = self.key(symbol)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                return None
            raise
        payload = response["Body"].read()
        try:
            return decode(symbol, payload)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            logger.warning("ignoring unreadable bar cache entry s3://%s/%s: %s", self.bucket, key, error)
            return None

    def save(self, symbol: str, bars: StoredBars) -> None:
        key, body = self.key(symbol), encode(symbol, bars)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
