"""The simulated broker's fill prices, from market data (also the backtest's: alchemiser/backtest/engine.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.marketdata.port import MarketData


def price_source(market_data: MarketData, day: date) -> object:
    """`price_of(symbol)`: the as-of day's close (or the last close before it) as a Decimal."""
    latest_close = getattr(market_data, "latest_close", None)

    def price_of(symbol: str) -> Decimal:
        if latest_close is not None:
            return Decimal(latest_close(symbol, day))
        return market_data.history([symbol], day, 1).close_as_decimal(symbol)

    return price_of
