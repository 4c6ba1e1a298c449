"""make_market_data: one place that turns a configuration string into a MarketData.

- "offline": generated deterministic history (no keys, no network; nothing to cache).
- "alpaca": Alpaca daily bars, behind a cache: S3 (`s3://<bucket>/bars/alpaca-<feed>/`) when a
  bucket is given, else `<state_dir>/bars/alpaca-<feed>/`. Needs keys (never read from the
  environment here: the caller passes them).
- anything else: a directory of SYMBOL.csv files.

Adapters import their heavy libraries on first use, so calling this at a Lambda's cold start
costs nothing measurable; each source's modules are imported only when that source is chosen (in
AWS the offline generator and the CSV reader are never loaded).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.marketdata.bar_store import BarStore
    from shared.marketdata.port import MarketData


def make_market_data(
    source: str,
    *,
    state_dir: Path,
    alpaca_keys: tuple[str, str] | None = None,
    feed: str = "iex",
    s3_bucket: str | None = None,
    data_url: str | None = None,
) -> MarketData:
    """`data_url` (ALCHEMISER_ALPACA_DATA_URL) points every alpaca-py data client elsewhere (a fake
    Alpaca in tests, a proxy); None is Alpaca's own https://data.alpaca.markets."""
    kind = source.strip()
    if kind.lower() == "offline":
        from shared.marketdata.offline import OfflineMarketData

        return OfflineMarketData()
    if kind.lower() == "alpaca":
        from shared.marketdata.alpaca_bars import FEEDS, AlpacaMarketData
        from shared.marketdata.bar_store import DirectoryBarStore, S3BarStore
        from shared.marketdata.cache import CachedMarketData

        if alpaca_keys is None or not all(alpaca_keys):
            raise ValueError("market data source 'alpaca' needs Alpaca API keys (key id and secret)")
        if feed not in FEEDS:
            raise ValueError(f"unknown Alpaca data feed {feed!r}; expected one of {', '.join(FEEDS)}")
        store: BarStore
        if s3_bucket:
            store = S3BarStore(s3_bucket, prefix=f"bars/alpaca-{feed}")
        else:
            store = DirectoryBarStore(Path(state_dir) / "bars" / f"alpaca-{feed}")
        alpaca = AlpacaMarketData(alpaca_keys[0], alpaca_keys[1], feed=feed, url_override=data_url or None)
        return CachedMarketData(alpaca, store)
    from shared.marketdata.csv_files import CsvDirectoryMarketData

    directory = Path(kind).expanduser()
    if not kind or not directory.is_dir():
        raise ValueError(
            f"market data source {source!r} is not 'offline', 'alpaca' or an existing directory of SYMBOL.csv files"
        )
    return CsvDirectoryMarketData(directory)
