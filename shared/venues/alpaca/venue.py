"""The Alpaca venue (shared/venues/registry.py): its adapters are imported on first use (alpaca-py costs ~0.5 s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.broker.port import Broker
    from shared.marketdata.port import MarketCalendar, MarketData
    from shared.venues.alpaca.trading import AlpacaBroker
    from shared.venues.settings import BrokerSettings


class AlpacaVenue:
    name = "alpaca"

    def broker(self, settings: BrokerSettings, *, market_data: Callable[[], MarketData] | None = None,
               calendar: Callable[[], MarketCalendar] | None = None) -> AlpacaBroker:
        from shared.venues.alpaca.keys import keys_for
        from shared.venues.alpaca.trading import AlpacaBroker

        return AlpacaBroker.from_keys(keys_for(settings), trading_url=settings.alpaca_trading_url,
                                      data_url=settings.alpaca_data_url, data_feed=settings.alpaca_data_feed)

    def order_book(self, settings: BrokerSettings) -> Broker:
        from shared.venues.alpaca.keys import keys_for
        from shared.venues.alpaca.trading import AlpacaBroker

        return AlpacaBroker.from_keys(keys_for(settings), trading_url=settings.alpaca_trading_url)

    def keys_fingerprint(self, settings: BrokerSettings) -> str:
        """Locally the keys are settings (APCA_API_KEY_ID), already part of a cache's key: ''."""
        if settings.local:
            return ""
        from shared.venues.alpaca.keys import keys_for

        return keys_for(settings).fingerprint


ALPACA = AlpacaVenue()
