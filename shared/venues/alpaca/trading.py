"""The Alpaca broker adapter, over alpaca-py's TradingClient (and its data client for latest prices).

Decisions (see also http.py):
- alpaca-py's own retry is switched off on every client we build; this adapter owns retries.
- Reads (account, positions, assets, orders and open orders, clock, calendar, prices, cancels) retry 429,
  408, 5xx, timeouts and connection errors with exponential backoff (a 429's reset header
  is honoured), then raise BrokerUnavailable.
- `submit_order` sends one POST per call (never retried here). 422 "client_order_id must be
  unique" raises DuplicateClientOrderId (the order exists: look it up); a timeout, connection
  error or 5xx raises BrokerUnavailable (the outcome is unknown: look it up by client_order_id);
  a 429 raises RateLimited (a BrokerUnavailable whose outcome is known: Alpaca's rate limit
  refuses before creating anything, so the same POST may be sent again); both carry the broker's
  Retry-After / rate-limit reset as `retry_after`; any other 4xx raises OrderRejected with the
  broker's message. Resubmitting (with the same client
  order id, after a look-up found nothing) is the placer's decision: services/execution/placer.py.
- Every request (reads and POSTs) first takes a token from a RateLimiter, keeping the
  adapter under Alpaca's 200 requests/minute per account. The data API has its own limiter.
- alpaca-py is imported lazily (the TradingClient import costs ~0.5 s); keys are never stored
  on the adapter in the clear nor logged, and `repr` shows none.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, Literal

from shared.broker.port import (
    Account,
    Asset,
    BrokerError,
    BrokerUnavailable,
    CalendarDay,
    Clock,
    DuplicateClientOrderId,
    Order,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    Position,
    RateLimited,
)
from shared.venues.alpaca.http import Failure, classify, disable_builtin_retry, install_timeout
from shared.venues.alpaca.keys import AlpacaKeys
from shared.venues.alpaca.mapping import (
    PortfolioHistory,
    dec,
    order_payload,
    to_account,
    to_asset,
    to_calendar_day,
    to_clock,
    to_order,
    to_portfolio_history,
    to_position,
)
from shared.venues.alpaca.rate_limit import RateLimiter

logger = logging.getLogger(__name__)
PRICE_BATCH = 100
OPEN_ORDERS_PAGE = 500
"""Alpaca's largest page of orders."""


class _NotFound(Exception):
    pass


class AlpacaBroker:
    """`Broker` over Alpaca. `trading_url` / `data_url` point the real clients at a fake server."""

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        *,
        paper: bool = True,
        trading_url: str | None = None,
        data_url: str | None = None,
        data_feed: Literal["iex", "sip"] = "iex",
        timeout: float = 10.0,
        read_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        rate_limiter: RateLimiter | None = None,
        data_rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not api_key or not secret_key:
            raise ValueError("Alpaca api_key and secret_key are required")
        if read_attempts < 1:
            raise ValueError("read_attempts must be at least 1")
        from alpaca.trading.client import TradingClient

        self.paper = paper
        self.trading_url = trading_url
        self._trading: Any = TradingClient(
            api_key, secret_key, paper=paper, raw_data=True, url_override=trading_url
        )
        disable_builtin_retry(self._trading)
        install_timeout(self._trading, timeout)
        self._data_client: Any = None
        self._make_data_client = self._data_client_factory(api_key, secret_key, data_url, timeout)
        self._feed = data_feed
        self._read_attempts = read_attempts
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._now = now
        self._limiter = rate_limiter or RateLimiter(sleep=sleep)
        self._data_limiter = data_rate_limiter or RateLimiter(sleep=sleep)

    @classmethod
    def from_keys(cls, keys: AlpacaKeys, **options: Any) -> AlpacaBroker:
        """The broker for keys chosen by `AlpacaCredentials.keys_for_mode`: paper or live follows the keys."""
        return cls(keys.api_key, keys.secret_key, paper=keys.paper, **options)

    def __repr__(self) -> str:
        return f"AlpacaBroker(paper={self.paper}, trading_url={self.trading_url!r})"

    @staticmethod
    def _data_client_factory(
        api_key: str, secret_key: str, data_url: str | None, timeout: float
    ) -> Callable[[], Any]:
        def make() -> Any:
            from alpaca.data.historical.stock import StockHistoricalDataClient

            client = StockHistoricalDataClient(api_key, secret_key, raw_data=True, url_override=data_url)
            disable_builtin_retry(client)
            install_timeout(client, timeout)
            return client

        return make

    # ---- reads -------------------------------------------------------------------------------

    def get_account(self) -> Account:
        raw = self._read("GET account", self._trading.get_account)
        return to_account(raw, self._now())

    def get_positions(self) -> list[Position]:
        return [to_position(p) for p in self._read("GET positions", self._trading.get_all_positions)]

    def get_assets(self, symbols: Sequence[str]) -> dict[str, Asset]:
        assets: dict[str, Asset] = {}
        for symbol in dict.fromkeys(symbols):
            try:
                raw = self._read(f"GET asset {symbol}", partial(self._trading.get_asset, symbol))
            except _NotFound:
                continue
            asset = to_asset(raw)
            assets[symbol] = Asset(symbol, asset.tradable, asset.fractionable, asset.status)
        return assets

    def get_latest_prices(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        from alpaca.data.enums import DataFeed
        from alpaca.data.requests import StockLatestTradeRequest

        if self._data_client is None:
            self._data_client = self._make_data_client()
        unique = list(dict.fromkeys(symbols))
        prices: dict[str, Decimal] = {}
        for start in range(0, len(unique), PRICE_BATCH):
            batch = unique[start : start + PRICE_BATCH]
            request = StockLatestTradeRequest(symbol_or_symbols=batch, feed=DataFeed(self._feed))
            raw = self._read(
                "GET latest trades",
                partial(self._data_client.get_stock_latest_trade, request),
                limiter=self._data_limiter,
            )
            for symbol, trade in (raw or {}).items():
                price = dec(trade.get("p"), f"{symbol} latest trade price")
                if price > 0 and symbol in batch:
                    prices[symbol] = price
        return prices

    def get_clock(self) -> Clock:
        return to_clock(self._read("GET clock", self._trading.get_clock))

    def get_calendar(self, start: date, end: date) -> list[CalendarDay]:
        from alpaca.trading.requests import GetCalendarRequest

        request = GetCalendarRequest(start=start, end=end)
        raw = self._read("GET calendar", lambda: self._trading.get_calendar(request))
        return [to_calendar_day(day) for day in raw]

    def get_portfolio_history(
        self, *, period: str | None = None, timeframe: str | None = None, date_end: date | None = None
    ) -> PortfolioHistory:
        from alpaca.trading.requests import GetPortfolioHistoryRequest

        request = GetPortfolioHistoryRequest(period=period, timeframe=timeframe, date_end=date_end)
        raw = self._read("GET portfolio history", lambda: self._trading.get_portfolio_history(request))
        return to_portfolio_history(raw)

    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        try:
            raw = self._read(
                f"GET order {client_order_id}", lambda: self._trading.get_order_by_client_id(client_order_id)
            )
        except _NotFound:
            return None
        return to_order(raw)

    def list_open_orders(self) -> list[Order]:
        """GET /v2/orders?status=open (alpaca-py's get_orders), oldest first. More than one page
        (OPEN_ORDERS_PAGE) is refused rather than reported short."""
        from alpaca.common.enums import Sort
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        request = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=OPEN_ORDERS_PAGE, direction=Sort.ASC,
                                   nested=False)
        raw = self._read("GET open orders", lambda: self._trading.get_orders(filter=request))
        if len(raw) >= OPEN_ORDERS_PAGE:
            raise BrokerError(f"GET open orders: {len(raw)} or more open orders (one page); "
                              "cancel stale orders before trading")
        return [to_order(o) for o in raw]

    def get_order(self, broker_order_id: str) -> Order:
        if not _is_uuid(broker_order_id):
            raise OrderNotFound(f"no order {broker_order_id!r} (Alpaca order ids are UUIDs)")
        try:
            raw = self._read(
                f"GET order {broker_order_id}", lambda: self._trading.get_order_by_id(broker_order_id)
            )
        except _NotFound:
            raise OrderNotFound(f"no order {broker_order_id!r} at the broker") from None
        return to_order(raw)

    def cancel_order(self, broker_order_id: str) -> None:
        """Best effort and idempotent: canceling an order that is already final is not an error
        (Alpaca answers 422 "order is not cancelable"); read the order for its final state."""
        if not _is_uuid(broker_order_id):
            raise OrderNotFound(f"no order {broker_order_id!r} (Alpaca order ids are UUIDs)")
        try:
            self._read(
                f"DELETE order {broker_order_id}",
                lambda: self._trading.cancel_order_by_id(broker_order_id),
                tolerate={422},
            )
        except _NotFound:
            raise OrderNotFound(f"no order {broker_order_id!r} at the broker") from None

    # ---- the one write -------------------------------------------------------------------------

    def submit_order(self, request: OrderRequest) -> Order:
        payload = order_payload(request)
        coid = request.client_order_id
        self._limiter.acquire()
        try:
            raw = self._trading.post("/orders", payload)
        except Exception as exc:
            failure = classify(exc, self._wall_clock)
            if failure is None:
                raise BrokerUnavailable(
                    f"order {coid}: unexpected {type(exc).__name__} while sending; outcome unknown, "
                    "look it up by client_order_id"
                ) from exc
            raise _post_error(coid, failure) from exc
        try:
            return to_order(raw)
        except (BrokerError, KeyError, TypeError, AttributeError) as exc:
            raise BrokerUnavailable(
                f"order {coid} was sent but the reply could not be read; look it up by client_order_id"
            ) from exc

    # ---- plumbing ------------------------------------------------------------------------------

    def _read(
        self,
        what: str,
        call: Callable[[], Any],
        *,
        limiter: RateLimiter | None = None,
        tolerate: frozenset[int] | set[int] = frozenset(),
    ) -> Any:
        """Call with retries on transient failures. 404 raises _NotFound; `tolerate`d statuses return None."""
        attempt = 0
        while True:
            (limiter or self._limiter).acquire()
            try:
                return call()
            except Exception as exc:
                failure = classify(exc, self._wall_clock)
                if failure is None:
                    raise
                error = exc
            if failure.status in tolerate:
                return None
            if failure.kind == "not_found":
                raise _NotFound(failure.message)
            if failure.kind != "transient":
                raise BrokerError(f"{what}: {failure.describe()}") from error
            attempt += 1
            if attempt >= self._read_attempts:
                raise BrokerUnavailable(
                    f"{what}: {failure.describe()} (gave up after {attempt} attempts)"
                ) from error
            delay = self._backoff(attempt, failure)
            logger.warning(
                "broker %s failed (%s); retry %d in %.2fs", what, failure.describe(), attempt, delay
            )
            self._sleep(delay)

    def _backoff(self, attempt: int, failure: Failure) -> float:
        delay = min(self._backoff_max, self._backoff_base * 2.0 ** (attempt - 1))
        if failure.wait_hint is not None:
            delay = max(delay, failure.wait_hint)
        return delay


def _post_error(coid: str, failure: Failure) -> BrokerError:
    if failure.kind == "duplicate":
        return DuplicateClientOrderId(f"order {coid} already exists at the broker ({failure.describe()})")
    if failure.status == 429:  # Alpaca's rate limit refuses before anything is created
        return RateLimited(f"order {coid}: {failure.describe()}; refused for the rate limit, nothing created",
                           retry_after=failure.wait_hint)
    if failure.kind == "transient":
        return BrokerUnavailable(
            f"order {coid}: {failure.describe()}; outcome unknown, look it up by client_order_id",
            retry_after=failure.wait_hint,
        )
    return OrderRejected(f"order {coid} rejected: {failure.describe()}")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
