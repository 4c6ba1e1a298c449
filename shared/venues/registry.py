"""The venues the system can trade through, by the name ALCHEMISER_BROKER gives them: one line per venue.

A venue is a package under shared/venues/ whose `venue.py` holds one object with the three things every
function asks of a broker (the `Venue` protocol below); the ports it implements are shared/broker/port.py's.
What only some venues serve (Alpaca's bars and calendar) is built by shared/venues/factory.py.

This module is reached by every function (the orchestrator settles orders through `order_book`), so a
venue's `venue.py` imports its adapters inside the methods and never imports shared/marketdata: the
orchestrator bundles neither the market data package nor numpy (Makefile SHARED_orchestrator).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from shared.runtime.settings import SettingsError
from shared.venues.alpaca.venue import ALPACA
from shared.venues.simulated.venue import SIMULATED

if TYPE_CHECKING:
    from shared.broker.port import Broker
    from shared.marketdata.port import MarketCalendar, MarketData
    from shared.venues.settings import BrokerSettings


class Venue(Protocol):
    @property
    def name(self) -> str:
        """What ALCHEMISER_BROKER names it."""
        ...

    def broker(self, settings: BrokerSettings, *, market_data: Callable[[], MarketData],
               calendar: Callable[[], MarketCalendar]) -> Broker:
        """The broker a function trades and reads through. `market_data` and `calendar` are built only when
        called (a simulated venue fills at the market data's prices; a real one ignores both)."""
        ...

    def order_book(self, settings: BrokerSettings) -> Broker:
        """The broker opened to look orders up and cancel them only (the orchestrator's settling)."""
        ...

    def keys_fingerprint(self, settings: BrokerSettings) -> str:
        """Tells the keys in use apart without holding them ('' when the venue has none): a rotated secret
        builds new clients in a warm container (shared/venues/key_rotation.py). Fails closed."""
        ...


VENUES: Mapping[str, Venue] = {venue.name: venue for venue in (
    ALPACA,
    SIMULATED,
)}


class UnknownVenue(SettingsError):
    """A configured broker name no venue answers to. Checked here, where the venues are known, when a
    broker, order book or calendar is first built (the settings do not import the registry: the venues
    import the settings)."""


def venue_named(name: str) -> Venue:
    venue = VENUES.get(name)
    if venue is None:
        raise UnknownVenue(f"ALCHEMISER_BROKER: unknown broker {name!r}; known venues: {', '.join(sorted(VENUES))}")
    return venue


def venue_for(settings: BrokerSettings) -> Venue:
    return venue_named(settings.broker_kind)
