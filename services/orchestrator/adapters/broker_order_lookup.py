"""OrderLookup over the broker the stage trades on: Alpaca (the stage's keys), or locally the simulated broker.

Built by a stuck check that has a workflow to settle (commands.py), so alpaca-py is imported on that path
only. The simulated broker is opened for look-ups and cancels alone: with no price source and no session,
a read moves no order along, so settling never fills anything the execution run did not.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.orchestrator.ports import OrderLookup
    from services.orchestrator.settings import OrchestratorSettings


def order_lookup(settings: OrchestratorSettings) -> OrderLookup:
    if settings.broker_kind == "alpaca":
        from shared.broker.alpaca import AlpacaBroker
        from shared.broker.credentials import keys_for

        return AlpacaBroker.from_keys(keys_for(settings), trading_url=settings.alpaca_trading_url)
    from shared.broker.simulated import SimulatedBroker

    return SimulatedBroker(settings.state_dir, _no_price, calendar=_NoSessions(), now=settings.now)  # type: ignore[arg-type]


def _no_price(symbol: str) -> Decimal:
    raise LookupError(f"settling reads orders only: no price for {symbol}")


class _NoSessions:
    """A calendar with no session: the simulated broker moves no order while settling reads it."""

    def session(self, day: date) -> None:
        return None
