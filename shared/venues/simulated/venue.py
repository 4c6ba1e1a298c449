"""The simulated venue (shared/venues/registry.py): the paper broker on SQLite under the state directory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.runtime.clock import trading_date

if TYPE_CHECKING:
    from shared.broker.port import Broker
    from shared.marketdata.port import MarketCalendar, MarketData
    from shared.venues.settings import BrokerSettings


class SimulatedVenue:
    name = "sim"

    def broker(self, settings: BrokerSettings, *, market_data: Callable[[], MarketData],
               calendar: Callable[[], MarketCalendar]) -> Broker:
        """Fills at the market data's as-of day's closes; offline data knows its universe, so anything else is
        an unknown symbol."""
        from shared.broker.port import Asset
        from shared.venues.simulated.broker import SimulatedBroker
        from shared.venues.simulated.faults import SimFaults
        from shared.venues.simulated.prices import price_source

        data = market_data()
        universe = None if getattr(data, "any_symbol", False) else getattr(data, "symbols", None)
        assets = None
        if universe is not None:
            assets = {s: Asset(s, tradable=True, fractionable=s not in settings.sim_non_fractionable) for s in universe}
        return SimulatedBroker(
            settings.state_dir,
            price_source(data, trading_date(settings.now())),  # type: ignore[arg-type]
            calendar=calendar(),
            now=settings.now,
            starting_cash=settings.sim_starting_cash,
            slippage_bps=settings.sim_slippage_bps,
            non_fractionable=settings.sim_non_fractionable,
            assets=assets,
            faults=SimFaults.from_mapping(settings.sim_faults) if settings.sim_faults else None,
        )

    def order_book(self, settings: BrokerSettings) -> Broker:
        """Opened with no price source and no session: a read moves no order along, so settling never fills
        anything the execution run did not."""
        from shared.venues.simulated.broker import SimulatedBroker

        return SimulatedBroker(settings.state_dir, _no_price, calendar=_NoSessions(),  # type: ignore[arg-type]
                               now=settings.now)

    def keys_fingerprint(self, settings: BrokerSettings) -> str:
        return ""


def _no_price(symbol: str) -> Decimal:
    raise LookupError(f"settling reads orders only: no price for {symbol}")


class _NoSessions:
    """A calendar with no session: the simulated broker moves no order while settling reads it."""

    def session(self, day: date) -> None:
        return None


SIMULATED = SimulatedVenue()
