"""AlpacaMarketData: daily bars from Alpaca's market-data API through alpaca-py.

- `StockHistoricalDataClient.get_stock_bars(StockBarsRequest(timeframe=1Day, adjustment=ALL,
  feed=<iex by default>, start, end))`; alpaca-py follows `next_page_token` itself.
- Daily bars are stamped at midnight New York, so a bar's day is its New York date. Requests
  send aware datetimes only (alpaca-py reads a naive one as UTC): start = 00:00 New York on the
  first day, end = 23:59:59 New York on the last day; bars outside [start, end] are dropped.
- alpaca-py (and pandas under it) costs ~0.5 s to import, so it is imported when the first
  request is made, never at module import or construction.
- Keys are given by the caller and kept out of repr, logs and error messages.
- Every request gets a timeout (alpaca-py sets none: a hung connection would block until the
  Lambda dies); the broker adapter does the same in `shared.venues.alpaca.http`.
  alpaca-py's own retry of 429/504 (3 times, 3 s apart) is kept: these are idempotent reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from shared.marketdata.port import MarketDataError, PriceHistory
from shared.marketdata.series import Closes, assemble, lookback_start, unique_symbols
from shared.runtime.clock import NEW_YORK
from shared.venues.alpaca.http import install_timeout

if TYPE_CHECKING:
    from alpaca.data.historical.stock import StockHistoricalDataClient

FEEDS = ("iex", "sip", "delayed_sip", "otc", "boats", "overnight")
SYMBOLS_PER_REQUEST = 100


def bar_day(timestamp: datetime) -> date:
    """The trading day of a daily bar stamped at midnight New York (robust to a stamp off by hours)."""
    if timestamp.tzinfo is None:
        raise ValueError(f"bar timestamp {timestamp.isoformat()} has no time zone")
    return (timestamp.astimezone(NEW_YORK) + timedelta(hours=12)).date()


def request_window(start: date, end: date) -> tuple[datetime, datetime]:
    """Aware datetimes covering the midnight-New-York stamps of every day in [start, end]."""
    return (
        datetime.combine(start, time(0, 0), tzinfo=NEW_YORK),
        datetime.combine(end, time(23, 59, 59), tzinfo=NEW_YORK),
    )


class AlpacaMarketData:
    """MarketData (and RangeMarketData) over Alpaca historical daily bars (adjusted for all actions)."""

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        *,
        feed: str = "iex",
        url_override: str | None = None,
        timeout: float = 10.0,
        client: StockHistoricalDataClient | None = None,
    ) -> None:
        if feed not in FEEDS:
            raise ValueError(f"unknown Alpaca data feed {feed!r}; expected one of {', '.join(FEEDS)}")
        if client is None and not (api_key and secret_key):
            raise ValueError("Alpaca market data needs an API key and secret")
        self._api_key = api_key
        self._secret_key = secret_key
        self.feed = feed
        self._url_override = url_override
        self._timeout = timeout
        self._client = client

    def __repr__(self) -> str:
        return f"AlpacaMarketData(feed={self.feed!r}, url_override={self._url_override!r})"

    def _get_client(self) -> StockHistoricalDataClient:
        if self._client is None:
            from alpaca.data.historical.stock import StockHistoricalDataClient  # lazy: ~0.5 s

            client = StockHistoricalDataClient(
                api_key=self._api_key, secret_key=self._secret_key, url_override=self._url_override
            )
            install_timeout(client, self._timeout)
            self._client = client
        return self._client

    def history(self, symbols: Sequence[str], end: date, lookback_days: int) -> PriceHistory:
        wanted = unique_symbols(symbols)
        series = self.closes_between(wanted, lookback_start(end, lookback_days), end)
        return assemble({s: series[s] for s in wanted}, end, lookback_days)

    def latest_prices(self, symbols: Sequence[str], at: datetime) -> dict[str, float]:
        """Each symbol's latest trade (`GET /v2/stocks/trades/latest`, alpaca-py's
        `get_stock_latest_trade`), for Composer's timing. `at` is when the run is: now."""
        return _latest(self, symbols, at)

    def closes_between(self, symbols: Sequence[str], start: date, end: date) -> dict[str, Closes]:
        wanted = unique_symbols(symbols)
        if start > end:
            return {s: Closes.empty() for s in wanted}
        pairs: dict[str, list[tuple[date, float]]] = {s: [] for s in wanted}
        for i in range(0, len(wanted), SYMBOLS_PER_REQUEST):
            for symbol, day, close in self._fetch(wanted[i : i + SYMBOLS_PER_REQUEST], start, end):
                if symbol in pairs and start <= day <= end:
                    pairs[symbol].append((day, close))
        return {s: Closes.from_pairs(pairs[s]) for s in wanted}

    def _fetch(self, symbols: list[str], start: date, end: date) -> list[tuple[str, date, float]]:
        from alpaca.common.exceptions import APIError
        from alpaca.data.enums import Adjustment, DataFeed
        from alpaca.data.models import BarSet
        from alpaca.data.requests import StockBarsRequest
        from alpaca.data.timeframe import TimeFrame
        from requests import RequestException

        first, last = request_window(start, end)
        request = StockBarsRequest(
            symbol_or_symbols=symbols,
            timeframe=TimeFrame.Day,
            start=first,
            end=last,
            adjustment=Adjustment.ALL,
            feed=DataFeed(self.feed),
        )
        try:
            result = self._get_client().get_stock_bars(request)
        except APIError as error:
            raise MarketDataError(
                f"Alpaca market data refused bars for {_names(symbols)} ({start}..{end}, feed {self.feed}): "
                f"HTTP {error.status_code}: {_short(str(error))}"
            ) from None
        except RequestException as error:
            raise MarketDataError(f"Alpaca market data unreachable: {type(error).__name__}") from None
        except ValueError as error:  # pydantic validation of a malformed bar, unknown response keys
            message = _short(str(error))
            raise MarketDataError(f"Alpaca market data answer could not be read: {message}") from None
        if not isinstance(result, BarSet):
            raise MarketDataError("Alpaca market data client returned raw data; expected a BarSet")
        return [
            (symbol, bar_day(bar.timestamp), float(bar.close)) for symbol, bars in result.data.items() for bar in bars
        ]


def _latest(self: AlpacaMarketData, symbols: Sequence[str], at: datetime) -> dict[str, float]:
    from alpaca.common.exceptions import APIError
    from alpaca.data.enums import DataFeed
    from alpaca.data.requests import StockLatestTradeRequest
    from requests import RequestException

    wanted = unique_symbols(symbols)
    found: dict[str, float] = {}
    for i in range(0, len(wanted), SYMBOLS_PER_REQUEST):
        request = StockLatestTradeRequest(symbol_or_symbols=wanted[i : i + SYMBOLS_PER_REQUEST],
                                          feed=DataFeed(self.feed))
        try:
            trades = self._get_client().get_stock_latest_trade(request)
        except APIError as error:
            raise MarketDataError(f"Alpaca market data refused latest trades for {_names(wanted)}: "
                                  f"HTTP {error.status_code}: {_short(str(error))}") from None
        except RequestException as error:
            raise MarketDataError(f"Alpaca market data unreachable: {type(error).__name__}") from None
        if not isinstance(trades, dict):
            raise MarketDataError("Alpaca market data client returned raw data; expected trades")
        for symbol, trade in trades.items():
            found[symbol] = float(trade.price)
    missing = [s for s in wanted if s not in found]
    if missing:
        raise MarketDataError(f"Alpaca reports no latest trade for {_names(missing)}")
    return found


def _names(symbols: list[str]) -> str:
    if len(symbols) <= 8:
        return ", ".join(symbols)
    return f"{', '.join(symbols[:8])} and {len(symbols) - 8} more"


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
