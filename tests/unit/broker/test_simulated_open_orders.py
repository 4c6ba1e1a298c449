"""The simulated broker's open orders: an order held for the open is open until the market opens."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from shared.broker.port import OrderRequest
from shared.marketdata.calendar import ExchangeCalendar
from shared.venues.simulated.broker import SimulatedBroker


def _broker(state, now: datetime) -> SimulatedBroker:
    return SimulatedBroker(state, lambda s: Decimal("100"), calendar=ExchangeCalendar(), now=lambda: now,
                           fill_when_closed=False)


def test_an_order_held_for_the_open_is_listed_open_until_it_fills(tmp_path):
    before_open = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 08:00 New York
    sim = _broker(tmp_path, before_open)
    held = sim.submit_order(OrderRequest("c-1", "SPY", "buy", notional=Decimal("500")))
    assert not held.is_terminal
    (listed,) = sim.list_open_orders()
    assert (listed.client_order_id, listed.side, listed.notional) == ("c-1", "buy", Decimal("500"))
    assert listed.open_value(None) == Decimal("500")

    after_open = _broker(tmp_path, datetime(2026, 11, 25, 15, 0, tzinfo=UTC))
    after_open.get_order(held.broker_order_id)  # a poll in market hours fills it
    assert after_open.list_open_orders() == []
