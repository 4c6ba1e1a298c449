"""Build the broker a function's settings ask for: the simulated broker or Alpaca.

Imports of the adapters happen here, on first use, so a handler module stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from shared.broker.settings import BrokerSettings
from shared.runtime.clock import trading_date

if TYPE_CHECKING:
    from shared.broker.credentials import AlpacaKeys
    from shared.broker.port import Broker
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


def alpaca_keys(settings: BrokerSettings) -> AlpacaKeys:
    """The keys the settings' broker uses (shared/broker/credentials.py, `keys_for`)."""
    from shared.broker.credentials import keys_for

    return keys_for(settings)


def market_data_for(settings: BrokerSettings) -> MarketData:
    """The market data the settings name; Alpaca bars use the same keys as the broker."""
    from shared.marketdata.factory import make_market_data

    source = settings.market_data_source
    keys = None
    if source == "alpaca":
        chosen = alpaca_keys(settings)
        keys = (chosen.api_key, chosen.secret_key)
    return make_market_data(source, state_dir=settings.state_dir, alpaca_keys=keys, feed=settings.alpaca_data_feed,
                            s3_bucket=None if settings.local else settings.alpaca_bars_bucket,
                            data_url=settings.alpaca_data_url)


def price_source(market_data: MarketData, day: date) -> object:
    """`price_of(symbol)`: the as-of day's close (or the last close before it) as a Decimal."""
    latest_close = getattr(market_data, "latest_close", None)

    def price_of(symbol: str) -> Decimal:
        if latest_close is not None:
            return Decimal(latest_close(symbol, day))
        return market_data.history([symbol], day, 1).close_as_decimal(symbol)

    return price_of


def make_broker(settings: BrokerSettings, *, calendar: MarketCalendar | None = None) -> Broker:
    if settings.broker_kind == "alpaca":
        from shared.broker.alpaca import AlpacaBroker

        return AlpacaBroker.from_keys(alpaca_keys(settings), trading_url=settings.alpaca_trading_url,
                                      data_url=settings.alpaca_data_url, data_feed=settings.alpaca_data_feed)
    return make_simulated_broker(settings, calendar=calendar)


def make_simulated_broker(settings: BrokerSettings, *, calendar: MarketCalendar | None = None) -> Broker:
    from shared.broker.port import Asset
    from shared.broker.simulated import SimulatedBroker
    from shared.broker.simulated_faults import SimFaults
    from shared.marketdata.calendar import ExchangeCalendar

    market_data = market_data_for(settings)
    universe = None if getattr(market_data, "any_symbol", False) else getattr(market_data, "symbols", None)
    assets = None
    if universe is not None:  # offline data knows its universe: anything else is an unknown symbol
        assets = {s: Asset(s, tradable=True, fractionable=s not in settings.sim_non_fractionable) for s in universe}
    return SimulatedBroker(
        settings.state_dir,
        price_source(market_data, trading_date(settings.now())),  # type: ignore[arg-type]
        calendar=calendar or ExchangeCalendar(),
        now=settings.now,
        starting_cash=settings.sim_starting_cash,
        slippage_bps=settings.sim_slippage_bps,
        non_fractionable=settings.sim_non_fractionable,
        assets=assets,
        faults=SimFaults.from_mapping(settings.sim_faults) if settings.sim_faults else None,
    )
