"""PortfolioHistory over Alpaca's GET /v2/account/portfolio/history (alpaca-py's TradingClient).

Goes through shared.venues.alpaca.trading.AlpacaBroker (its retries, timeouts, rate limit and Decimal
mapping). alpaca-py costs ~0.5 s to import, so nothing here imports it until the first request:
only the P&L path pays for it, never the orchestrator's cold start.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.orchestrator.pnl import PnlUnavailable
from services.orchestrator.ports import EquityPoint
from shared.runtime.clock import trading_date
from shared.venues.alpaca.keys import AlpacaKeys


def points_from_history(history: Any, end: date) -> list[EquityPoint]:
    """Daily points in New York dates; days without equity (None, or 0 before the account was
    funded) are left out."""
    points: list[EquityPoint] = []
    for moment, equity in zip(history.timestamps, history.equity, strict=False):
        day = trading_date(moment)
        if equity is not None and equity > 0 and day <= end:
            points.append(EquityPoint(day, equity))
    return points


class AlpacaPortfolioHistory:
    source = "alpaca"

    def __init__(self, keys: AlpacaKeys, *, trading_url: str | None = None, broker: Any = None,
                 **broker_options: Any) -> None:
        self._keys, self._trading_url, self._broker, self._options = keys, trading_url, broker, broker_options

    def __repr__(self) -> str:
        return f"AlpacaPortfolioHistory(paper={self._keys.paper}, trading_url={self._trading_url!r})"

    def _client(self) -> Any:
        if self._broker is None:
            from shared.venues.alpaca.trading import AlpacaBroker

            self._broker = AlpacaBroker.from_keys(self._keys, trading_url=self._trading_url, **self._options)
        return self._broker

    def daily_equity(self, *, period: str, end: date) -> list[EquityPoint]:
        from shared.broker.port import BrokerError

        try:
            history = self._client().get_portfolio_history(period=period, timeframe="1D", date_end=end)
        except BrokerError as exc:
            raise PnlUnavailable(f"Alpaca portfolio history unavailable: {exc}") from exc
        return points_from_history(history, end)
