"""OrderLookup over the broker the stage trades on: the configured venue's order book (shared/venues/registry.py).

Built by a stuck check that has a workflow to settle (commands.py), so alpaca-py is imported on that path
only. The simulated broker is opened for look-ups and cancels alone: with no price source and no session,
a read moves no order along, so settling never fills anything the execution run did not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.venues.registry import venue_for

if TYPE_CHECKING:
    from services.orchestrator.ports import OrderLookup
    from services.orchestrator.settings import OrchestratorSettings


def order_lookup(settings: OrchestratorSettings) -> OrderLookup:
    return venue_for(settings).order_book(settings)
