"""Build what a function's settings ask for: its broker (through the venue registry), its market data, its calendar.

- `make_broker`: the venue ALCHEMISER_BROKER names (shared/venues/registry.py; unset: the simulated broker
  locally, Alpaca in AWS).
- `make_market_data` / `market_data_for`: a configuration string turned into a MarketData:
  "offline": generated deterministic history (no keys, no network; nothing to cache);
  "alpaca": Alpaca daily bars behind a cache: S3 (`s3://<bucket>/bars/alpaca-<feed>/`) when a bucket is given,
  else `<state_dir>/bars/alpaca-<feed>/` (keys from shared/venues/alpaca/keys.py, never read here);
  anything else: a directory of SYMBOL.csv files.
- `calendar_for`: Alpaca's trading calendar, or the offline exchange calendar.

Adapters are imported on first use, each source's modules only when that source is chosen (in AWS the
offline generator and the CSV reader are never loaded), so calling these at a cold start costs nothing measurable.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from shared.venues.registry import venue_for
from shared.venues.settings import BrokerSettings

if TYPE_CHECKING:
    from shared.broker.port import Broker
    from shared.marketdata.bar_store import BarStore
    from shared.marketdata.port import MarketCalendar, MarketData

S = TypeVar("S", bound=BrokerSettings)


def local_settings(settings_type: type[S], environ: Mapping[str, str], **values: str) -> S:
    """A local command's settings (`alchemiser backtest`, `signals`, `pnl`, `status`...): `environ` (the process's
    ALCHEMISER_* variables: ALCHEMISER_ALPACA_TRADING_URL / ALCHEMISER_ALPACA_DATA_URL, which point every Alpaca
    client at a fake or a proxy, the data feed, ...) with the local backend and the command's own `values`
    (ALCHEMISER_* names) over it, and the user's APCA_API_KEY_ID / APCA_API_SECRET_KEY as the Alpaca keys.
    The functions of a local run read the same environment (alchemiser/local/day.py `function_settings`), so a
    command reaches the endpoints the chain does; every Alpaca client is then built from these settings."""
    env = {**environ, "ALCHEMISER_BACKEND": "local", **values}
    key, secret = environ.get("APCA_API_KEY_ID"), environ.get("APCA_API_SECRET_KEY")
    if key and secret:
        env["ALCHEMISER_ALPACA_API_KEY"], env["ALCHEMISER_ALPACA_SECRET_KEY"] = key, secret
    return settings_type.from_env(env)


def make_broker(settings: BrokerSettings, *, calendar: MarketCalendar | None = None) -> Broker:
    """The configured venue's broker; a simulated one fills at `market_data_for(settings)`'s prices, on
    `calendar` (default: the offline exchange calendar)."""

    def exchange_calendar() -> MarketCalendar:
        if calendar is not None:
            return calendar
        from shared.marketdata.calendar import ExchangeCalendar

        return ExchangeCalendar()

    return venue_for(settings).broker(settings, market_data=lambda: market_data_for(settings),
                                      calendar=exchange_calendar)


def market_data_for(settings: BrokerSettings) -> MarketData:
    """The market data the settings name; Alpaca bars use the same keys as the broker."""
    source = settings.market_data_source
    keys = None
    if source == "alpaca":
        from shared.venues.alpaca.keys import keys_for

        chosen = keys_for(settings)
        keys = (chosen.api_key, chosen.secret_key)
    return make_market_data(source, state_dir=settings.state_dir, alpaca_keys=keys, feed=settings.alpaca_data_feed,
                            s3_bucket=None if settings.local else settings.alpaca_bars_bucket,
                            data_url=settings.alpaca_data_url)


def calendar_for(settings: BrokerSettings, source: str) -> MarketCalendar:
    """Alpaca's trading calendar (holidays and early closes as the broker has them) or the offline one.
    Built directly rather than through make_broker: a local run may use the simulated broker with Alpaca's
    calendar, and the simulated broker has no exchange calendar."""
    if source == "alpaca":
        from shared.venues.alpaca.calendar import AlpacaCalendar
        from shared.venues.alpaca.venue import ALPACA

        return AlpacaCalendar(ALPACA.broker(settings))
    from shared.marketdata.calendar import ExchangeCalendar

    return ExchangeCalendar()


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
        from shared.marketdata.bar_store import DirectoryBarStore, S3BarStore
        from shared.marketdata.cache import CachedMarketData
        from shared.venues.alpaca.bars import FEEDS, AlpacaMarketData

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
