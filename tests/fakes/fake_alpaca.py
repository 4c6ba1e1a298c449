"""A fake Alpaca trading (and latest-trade data) server for tests, driven by the real alpaca-py client.

Start it with `running_fake_alpaca()` or the `fake_alpaca` pytest fixture, point clients at
`fake.url` (TradingClient(url_override=...), StockHistoricalDataClient(url_override=...)), and
steer it from the test:

    fake.script_next("POST /v2/orders", status=504, after_create=True)   # accepted, reply lost
    fake.script_next("POST /v2/orders", delay=2.0, after_create=True)    # accepted, reply too slow
    fake.script_next("POST /v2/orders", drop=True, after_create=True)    # accepted, connection dropped
    fake.script_next("GET /v2/account", status=429, times=3)             # a 429 storm (rate-limit headers)
    fake.script_next("POST /v2/orders", status=503, headers={"Retry-After": "4"}, times=2)  # refused, not created
    fake.enforce_rate_limit(200, window=60.0)                            # real per-window limiting
    fake.stale_lookups(30.0)                     # look-ups by client order id answer 404 for a 30 s old order
    fake.set_clock(open=False)                                           # orders wait as "accepted"
    fake.fill_mode("TQQQ", "partial", steps=["0.25", "0.5", "1"])        # cumulative fractions per poll
    fake.fill_mode("SPY", "stall")  /  fake.fill_mode("SPY", "reject")   # open until canceled / rejected
    fake.add_asset("BRK.A", fractionable=False); fake.set_price("BRK.A", "600000")
    fake.set_account(cash="500"); fake.set_position("SPY", "10", avg_entry_price="400")

Every request is recorded with the status answered (`fake.requests`, `fake.requests_to(route)`), and
`fake.orders_with_client_id` / `fake.order_posts()` let a test assert "exactly N orders at the broker,
none duplicated" and "N POSTs received". Positions report `qty_available` net of open sell orders,
and a sell above it is refused with 403, as Alpaca does.
Routes are named "METHOD /template", e.g. "GET /v2/orders/{id}" ("*" in script_next: any route).
JSON shapes follow alpaca-py's models (alpaca/trading/models.py); money is sent as strings.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from shared.runtime.clock import NEW_YORK as NY

ROUTES: list[tuple[str, str, str]] = [
    ("GET", r"/v2/account", "GET /v2/account"),
    ("GET", r"/v2/account/portfolio/history", "GET /v2/account/portfolio/history"),
    ("GET", r"/v2/positions", "GET /v2/positions"),
    ("GET", r"/v2/assets", "GET /v2/assets"),
    ("GET", r"/v2/assets/(?P<symbol>[^/]+)", "GET /v2/assets/{symbol}"),
    ("POST", r"/v2/orders", "POST /v2/orders"),
    ("GET", r"/v2/orders", "GET /v2/orders"),
    ("GET", r"/v2/orders:by_client_order_id", "GET /v2/orders:by_client_order_id"),
    ("GET", r"/v2/orders/(?P<id>[^/]+)", "GET /v2/orders/{id}"),
    ("DELETE", r"/v2/orders/(?P<id>[^/]+)", "DELETE /v2/orders/{id}"),
    ("GET", r"/v2/clock", "GET /v2/clock"),
    ("GET", r"/v2/calendar", "GET /v2/calendar"),
    ("GET", r"/v2/stocks/trades/latest", "GET /v2/stocks/trades/latest"),
    ("GET", r"/v2/stocks/(?P<symbol>[^/]+)/trades/latest", "GET /v2/stocks/{symbol}/trades/latest"),
]
ROUTE_NAMES = frozenset(name for _, _, name in ROUTES) | {"*"}
DEFAULT_ASSETS = {
    "SPY": "500",
    "QQQ": "430",
    "TQQQ": "60",
    "SQQQ": "10",
    "BIL": "91.5",
    "TLT": "92",
    "GLD": "190",
    "AAPL": "190",
}
TERMINAL = {"filled", "canceled", "expired", "rejected", "replaced", "done_for_day"}
DUPLICATE = {"code": 42210000, "message": "client_order_id must be unique"}


def _num(value: Decimal) -> str:
    """A decimal as Alpaca prints it: no exponent, no trailing zeros."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Script:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    after_create: bool = False
    drop: bool = False


@dataclass
class RecordedRequest:
    method: str
    path: str
    route: str
    query: dict[str, str]
    body: Any
    at: float
    key_id: str | None
    status: int | None = None
    """What the fake answered (None: dropped, or not answered yet)."""
    stale: bool = False
    """A look-up by client order id answered 404 although the order exists (`stale_lookups`)."""


@dataclass
class _Order:
    data: dict[str, Any]
    mode: str
    steps: list[Decimal]
    step: int = 0
    created: float = 0.0
    """The fake's clock when the order was created."""


class FakeAlpaca:
    def __init__(
        self,
        *,
        api_key: str = "PKFAKEKEY",
        secret_key: str = "fake-secret",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_key, self._secret_key, self._clock = api_key, secret_key, clock
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._scripts: dict[str, deque[Script]] = {}
        self._requests: list[RecordedRequest] = []
        self._rate: tuple[int, float] | None = None
        self._stale_for: float = 0.0
        self._extra_keys: dict[str, str] = {}
        self.account: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "account_number": "PA0000FAKE",
            "status": "ACTIVE",
            "cash": Decimal("100000"),
            "trading_blocked": False,
            "account_blocked": False,
        }
        self.assets: dict[str, dict[str, Any]] = {}
        self.prices: dict[str, Decimal] = {}
        for symbol, price in DEFAULT_ASSETS.items():
            self.add_asset(symbol)
            self.set_price(symbol, price)
        self.positions: dict[str, dict[str, Decimal]] = {}
        self._orders: dict[str, _Order] = {}
        self._modes: dict[str, tuple[str, list[Decimal]]] = {}
        self._clock_state: dict[str, Any] = {"open": True}
        self._calendar_overrides: dict[date, tuple[str, str] | None] = {}
        self.portfolio_history: dict[str, Any] | None = None

    # ---- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeAlpaca:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and hung up: expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-alpaca", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ---- control API ---------------------------------------------------------------------------

    def script_next(
        self,
        route: str,
        *,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        after_create: bool = False,
        drop: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests to `route` this way instead of normally.

        `after_create` (POST /v2/orders only): the order is created first, then this answer is
        given (a 504, a slow reply, a dropped connection): "accepted but the reply was lost"."""
        if route not in ROUTE_NAMES:
            raise ValueError(f"unknown route {route!r}; one of {sorted(ROUTE_NAMES)}")
        if after_create and route != "POST /v2/orders":
            raise ValueError("after_create applies to POST /v2/orders only")
        if status == 429 and not headers:
            headers = {
                "X-RateLimit-Limit": "200",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + 1),
            }
        with self._lock:
            queue = self._scripts.setdefault(route, deque())
            for _ in range(times):
                queue.append(Script(status, body, dict(headers or {}), delay, after_create, drop))

    def clear_scripts(self, route: str | None = None) -> None:
        """Forget the scripted answers not given yet (of `route`, or of every route): the broker is healthy again."""
        with self._lock:
            if route is None:
                self._scripts.clear()
            else:
                self._scripts.pop(route, None)

    def authorize(self, api_key: str, secret_key: str) -> None:
        """Accept another key pair too (the same account): requests are recorded with the key id they came
        with, so a drill can tell one client's requests from another's."""
        with self._lock:
            self._extra_keys[api_key] = secret_key

    def enforce_rate_limit(self, limit: int = 200, window: float = 60.0) -> None:
        """Answer 429 to any request beyond `limit` in the trailing `window` seconds (by the fake's clock)."""
        with self._lock:
            self._rate = (limit, window)

    def stale_lookups(self, seconds: float) -> None:
        """GET /v2/orders:by_client_order_id answers 404 for an order younger than `seconds` (by the fake's
        clock): an eventually consistent read, as a proxy or a replica lagging behind the order book would.
        Such answers are marked `stale` in `requests`. 0 turns it off."""
        with self._lock:
            self._stale_for = float(seconds)

    def set_account(self, **fields: Any) -> None:
        with self._lock:
            self.account.update({k: Decimal(str(v)) if k == "cash" else v for k, v in fields.items()})

    def set_position(self, symbol: str, qty: Any, *, avg_entry_price: Any = None) -> None:
        with self._lock:
            if Decimal(str(qty)) == 0:
                self.positions.pop(symbol, None)
                return
            entry = Decimal(str(avg_entry_price if avg_entry_price is not None else self.prices.get(symbol, 1)))
            self.positions[symbol] = {"qty": Decimal(str(qty)), "avg": entry}

    def add_asset(
        self,
        symbol: str,
        *,
        tradable: bool = True,
        fractionable: bool = True,
        status: str = "active",
        exchange: str = "ARCA",
    ) -> None:
        with self._lock:
            self.assets[symbol] = {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, symbol)),
                "class": "us_equity",
                "exchange": exchange,
                "symbol": symbol,
                "name": f"{symbol} (fake)",
                "status": status,
                "tradable": tradable,
                "marginable": True,
                "shortable": True,
                "easy_to_borrow": True,
                "fractionable": fractionable,
                "attributes": [],
            }

    def set_price(self, symbol: str, price: Any) -> None:
        with self._lock:
            self.prices[symbol] = Decimal(str(price))

    def set_clock(
        self,
        *,
        open: bool,
        timestamp: datetime | None = None,
        next_open: datetime | None = None,
        next_close: datetime | None = None,
    ) -> None:
        with self._lock:
            self._clock_state = {
                "open": open,
                "timestamp": timestamp,
                "next_open": next_open,
                "next_close": next_close,
            }

    def set_calendar_day(self, day: date, open: str = "09:30", close: str = "16:00") -> None:
        with self._lock:
            self._calendar_overrides[day] = (open, close)

    def set_holiday(self, day: date) -> None:
        with self._lock:
            self._calendar_overrides[day] = None

    def set_portfolio_history(self, **fields: Any) -> None:
        with self._lock:
            self.portfolio_history = fields

    def fill_mode(self, symbol: str, mode: str, steps: list[Any] | None = None) -> None:
        """Modes: fill (default), partial (steps: cumulative fractions, one per poll), stall, reject."""
        if mode not in ("fill", "partial", "stall", "reject"):
            raise ValueError(f"unknown fill mode {mode!r}")
        if mode == "partial" and not steps:
            raise ValueError("partial needs steps")
        with self._lock:
            self._modes[symbol] = (mode, [Decimal(str(s)) for s in steps or ()])

    def rotate_keys(self, api_key: str, secret_key: str) -> None:
        """The account's keys were regenerated: only the new pair is authorized from now on (401 for the old)."""
        with self._lock:
            self.api_key, self._secret_key = api_key, secret_key

    def add_open_order(
        self,
        symbol: str,
        side: str,
        *,
        qty: Any = None,
        notional: Any = None,
        limit_price: Any = None,
        client_order_id: str | None = None,
    ) -> dict[str, Any]:
        """An order placed elsewhere (the dashboard, another tool) that is still open: it never fills
        (stall) and is listed by GET /v2/orders?status=open. A limit order when `limit_price` is set."""
        if (qty is None) == (notional is None):
            raise ValueError("exactly one of qty or notional")
        body: dict[str, Any] = {"symbol": symbol, "side": side, "type": "market", "time_in_force": "day",
                                "client_order_id": client_order_id or str(uuid.uuid4()),
                                "qty": None if qty is None else str(qty),
                                "notional": None if notional is None else str(notional)}
        with self._lock:
            previous = self._modes.get(symbol)
            self._modes[symbol] = ("stall", [])
            try:
                status, data = self._create_order(body)
            finally:
                if previous is None:
                    self._modes.pop(symbol, None)
                else:
                    self._modes[symbol] = previous
            if status != 200:
                raise ValueError(f"the fake refused the open order: {data}")
            order = self._orders[data["id"]]
            if limit_price is not None:  # validated as a market order, then made the limit order it stands for
                order.data.update(order_type="limit", type="limit", limit_price=str(limit_price))
            return dict(order.data)

    # ---- inspection ----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route == route]

    def order_posts(self) -> int:
        return len(self.requests_to("POST /v2/orders"))

    @property
    def orders(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(o.data) for o in self._orders.values()]

    def orders_with_client_id(self, client_order_id: str) -> list[dict[str, Any]]:
        return [o for o in self.orders if o["client_order_id"] == client_order_id]

    # ---- HTTP plumbing -------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = dict(parse_qsl(parts.query))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        route, params = self._resolve(method, parts.path)
        record = RecordedRequest(
            method, parts.path, route, query, body, self._clock(), handler.headers.get("APCA-API-KEY-ID")
        )
        with self._lock:
            self._requests.append(record)
            script = self._pop_script(route)
            limited = script is None and self._over_rate_limit(record.at)
        if limited:
            script = Script(
                429,
                None,
                {
                    "X-RateLimit-Limit": str(self._rate[0] if self._rate else 200),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(time.time()) + 1),
                },
            )
        key_id, secret = handler.headers.get("APCA-API-KEY-ID"), handler.headers.get("APCA-API-SECRET-KEY")
        authorized = (key_id == self.api_key and secret == self._secret_key) or (
            key_id in self._extra_keys and self._extra_keys[key_id] == secret)
        if not authorized:
            status, payload, headers = 401, {"code": 40110000, "message": "request is not authorized"}, {}
        elif script is None:
            status, payload, headers = self._dispatch(route, params, query, body, record)
        else:
            if script.after_create:
                self._dispatch(route, params, query, body)
            if script.delay:
                self._stopping.wait(script.delay)
            if script.drop:
                handler.close_connection = True
                return
            status, headers = script.status, script.headers
            payload = script.body if script.body is not None else _default_error(script.status)
        record.status = status
        _respond(handler, status, payload, headers)

    def _pop_script(self, route: str) -> Script | None:
        for name in (route, "*"):
            queue = self._scripts.get(name)
            if queue:
                return queue.popleft()
        return None

    def _over_rate_limit(self, now: float) -> bool:
        if self._rate is None:
            return False
        limit, window = self._rate
        recent = [r for r in self._requests if now - window < r.at <= now and r.status != 429]
        return len(recent) > limit

    @staticmethod
    def _resolve(method: str, path: str) -> tuple[str, dict[str, str]]:
        for route_method, pattern, name in ROUTES:
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                return name, match.groupdict()
        return f"{method} {path}", {}

    def _dispatch(
        self, route: str, params: dict[str, str], query: dict[str, str], body: Any,
        record: RecordedRequest | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        handlers: dict[str, Callable[[], tuple[int, Any]]] = {
            "GET /v2/account": self._account_json,
            "GET /v2/account/portfolio/history": self._portfolio_history_json,
            "GET /v2/positions": lambda: (200, [self._position_json(s) for s in sorted(self.positions)]),
            "GET /v2/assets": lambda: (200, list(self.assets.values())),
            "GET /v2/assets/{symbol}": lambda: self._asset_json(params["symbol"]),
            "POST /v2/orders": lambda: self._create_order(body or {}),
            "GET /v2/orders": lambda: self._list_orders(query),
            "GET /v2/orders:by_client_order_id": lambda: self._look_up(query.get("client_order_id", ""), record),
            "GET /v2/orders/{id}": lambda: self._poll(params["id"], False),
            "DELETE /v2/orders/{id}": lambda: self._cancel(params["id"]),
            "GET /v2/clock": self._clock_json,
            "GET /v2/calendar": lambda: self._calendar_json(query),
            "GET /v2/stocks/trades/latest": lambda: self._latest_trades(query.get("symbols", "").split(",")),
            "GET /v2/stocks/{symbol}/trades/latest": lambda: self._latest_trade(params["symbol"]),
        }
        if route not in handlers:
            return 404, {"code": 40410000, "message": f"no route {route} in the fake"}, {}
        with self._lock:
            status, payload = handlers[route]()
        return status, payload, {}

    # ---- endpoints -----------------------------------------------------------------------------

    def _equity(self) -> Decimal:
        return self.account["cash"] + sum(
            (p["qty"] * self.prices.get(s, p["avg"]) for s, p in self.positions.items()), Decimal(0)
        )

    def _account_json(self) -> tuple[int, Any]:
        cash, equity = self.account["cash"], self._equity()
        data = {k: v for k, v in self.account.items() if k != "cash"}
        money = {
            "cash": cash,
            "buying_power": self.account.get("buying_power", cash),
            "equity": equity,
            "portfolio_value": equity,
            "last_equity": equity,
            "long_market_value": equity - cash,
            "non_marginable_buying_power": cash,
            "regt_buying_power": cash,
        }
        data.update({k: _num(Decimal(str(v))) for k, v in money.items()})
        data.update(
            currency="USD",
            pattern_day_trader=False,
            transfers_blocked=False,
            multiplier="1",
            shorting_enabled=False,
            daytrade_count=0,
            created_at="2024-01-02T15:00:00Z",
            trade_suspended_by_user=False,
            crypto_status="ACTIVE",
        )
        return 200, data

    def _position_json(self, symbol: str) -> dict[str, Any]:
        held = self.positions[symbol]
        qty, avg = held["qty"], held["avg"]
        price = self.prices.get(symbol, avg)
        asset = self.assets.get(symbol, {})
        return {
            "asset_id": asset.get("id", str(uuid.uuid4())),
            "symbol": symbol,
            "exchange": "ARCA",
            "asset_class": "us_equity",
            "asset_marginable": True,
            "qty": _num(qty),
            "qty_available": _num(qty - self._held_for_sells(symbol)),
            "avg_entry_price": _num(avg),
            "side": "long",
            "market_value": _num(qty * price),
            "cost_basis": _num(qty * avg),
            "unrealized_pl": _num(qty * (price - avg)),
            "unrealized_plpc": _num((price - avg) / avg),
            "unrealized_intraday_pl": "0",
            "unrealized_intraday_plpc": "0",
            "current_price": _num(price),
            "lastday_price": _num(price),
            "change_today": "0",
        }

    def _held_for_sells(self, symbol: str) -> Decimal:
        """What open sell orders of `symbol` still hold (Alpaca's `held_for_orders`)."""
        held = Decimal(0)
        for order in self._orders.values():
            data = order.data
            if data["symbol"] != symbol or data["side"] != "sell" or data["status"] in TERMINAL:
                continue
            if data["qty"] is not None:
                held += Decimal(data["qty"]) - Decimal(data["filled_qty"])
        return held

    def _asset_json(self, symbol: str) -> tuple[int, Any]:
        if symbol not in self.assets:
            return 404, {"code": 40410000, "message": f"asset not found for {symbol}"}
        return 200, self.assets[symbol]

    def _clock_json(self) -> tuple[int, Any]:
        state = self._clock_state
        now = state.get("timestamp") or datetime.now(UTC)
        next_open = state.get("next_open") or now + timedelta(hours=1 if not state["open"] else 20)
        next_close = state.get("next_close") or now + timedelta(hours=2)
        return 200, {
            "timestamp": now.astimezone(NY).isoformat(),
            "is_open": state["open"],
            "next_open": next_open.astimezone(NY).isoformat(),
            "next_close": next_close.astimezone(NY).isoformat(),
        }

    def _calendar_json(self, query: dict[str, str]) -> tuple[int, Any]:
        today = datetime.now(NY).date()
        start = date.fromisoformat(query["start"][:10]) if "start" in query else today - timedelta(days=30)
        end = date.fromisoformat(query["end"][:10]) if "end" in query else today + timedelta(days=30)
        days, day = [], max(start, date(1970, 1, 1))
        while day <= min(end, date(2029, 12, 31)):  # the span Alpaca's calendar covers
            hours = self._calendar_overrides.get(day, ("09:30", "16:00") if day.weekday() < 5 else None)
            if hours is not None:
                days.append(
                    {
                        "date": day.isoformat(),
                        "open": hours[0],
                        "close": hours[1],
                        "session_open": "0400",
                        "session_close": "2000",
                        "settlement_date": (day + timedelta(days=1)).isoformat(),
                    }
                )
            day += timedelta(days=1)
        return 200, days

    def _portfolio_history_json(self) -> tuple[int, Any]:
        if self.portfolio_history is not None:
            return 200, self.portfolio_history
        base = datetime.now(NY).replace(hour=0, minute=0, second=0, microsecond=0)
        stamps = [int((base - timedelta(days=d)).timestamp()) for d in range(4, -1, -1)]
        equity = [100000.0, 100500.0, 100250.0, 101000.0, 101300.0]
        return 200, {
            "timestamp": stamps,
            "equity": equity,
            "profit_loss": [e - 100000.0 for e in equity],
            "profit_loss_pct": [(e - 100000.0) / 100000.0 for e in equity],
            "base_value": 100000.0,
            "base_value_asof": (base - timedelta(days=5)).date().isoformat(),
            "timeframe": "1D",
        }

    def _latest_trades(self, symbols: list[str]) -> tuple[int, Any]:
        return 200, {"trades": {s: self._trade(s) for s in symbols if s in self.prices}}

    def _latest_trade(self, symbol: str) -> tuple[int, Any]:
        if symbol not in self.prices:
            return 404, {"message": f"no trade found for {symbol}"}
        return 200, {"symbol": symbol, "trade": self._trade(symbol)}

    def _trade(self, symbol: str) -> dict[str, Any]:
        return {
            "t": _iso(datetime.now(UTC)),
            "x": "V",
            "p": float(self.prices[symbol]),
            "s": 100,
            "c": ["@"],
            "i": 1,
            "z": "B",
        }

    # ---- orders --------------------------------------------------------------------------------

    def _create_order(self, body: dict[str, Any]) -> tuple[int, Any]:
        coid = str(body.get("client_order_id") or uuid.uuid4())
        if any(o.data["client_order_id"] == coid for o in self._orders.values()):
            return 422, DUPLICATE
        problem = self._validate(body)
        if problem is not None:
            return problem
        symbol, side = body["symbol"], body["side"]
        now = _iso(datetime.now(UTC))
        data = {
            "id": str(uuid.uuid4()),
            "client_order_id": coid,
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "filled_at": None,
            "expired_at": None,
            "expires_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": self.assets[symbol]["id"],
            "symbol": symbol,
            "asset_class": "us_equity",
            "notional": body.get("notional"),
            "qty": body.get("qty"),
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "",
            "order_type": "market",
            "type": "market",
            "side": side,
            "position_intent": f"{side}_to_{'open' if side == 'buy' else 'close'}",
            "time_in_force": body.get("time_in_force", "day"),
            "limit_price": None,
            "stop_price": None,
            "status": "accepted" if not self._clock_state["open"] else "new",
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }
        mode, steps = self._modes.get(symbol, ("fill", []))
        order = _Order(data, mode, steps, created=self._clock())
        self._orders[data["id"]] = order
        self._progress(order, creating=True)
        return 200, dict(data)

    def _validate(self, body: dict[str, Any]) -> tuple[int, Any] | None:
        symbol, qty, notional = body.get("symbol"), body.get("qty"), body.get("notional")
        asset = self.assets.get(str(symbol))
        if asset is None:
            return 422, {"code": 40010001, "message": f'asset "{symbol}" not found'}
        if (qty is None) == (notional is None):
            return 422, {"code": 40010001, "message": "qty or notional is required, not both"}
        if body.get("type") != "market" or body.get("side") not in ("buy", "sell"):
            return 422, {"code": 40010001, "message": "the fake takes market buy/sell orders only"}
        if not asset["tradable"]:
            return 422, {"code": 40010001, "message": f"asset {symbol} is not active"}
        amount = Decimal(str(qty if qty is not None else notional))
        if not amount.is_finite() or amount <= 0:
            return 422, {"code": 40010001, "message": "qty and notional must be positive numbers"}
        places = -amount.normalize().as_tuple().exponent if amount != amount.to_integral_value() else 0
        if places > (9 if qty is not None else 2):
            field = "qty" if qty is not None else "notional"
            return 422, {"code": 40010001, "message": f"{field} has too many decimal places"}
        if not asset["fractionable"] and (notional is not None or amount != amount.to_integral_value()):
            return 422, {"code": 40010001, "message": f"fractional orders are not supported for {symbol}"}
        if notional is not None and body.get("time_in_force") != "day":
            return 422, {"code": 40010001, "message": "fractional orders must be DAY orders"}
        price = self.prices.get(str(symbol), Decimal(1))
        if body["side"] == "buy":
            cost = amount if notional is not None else amount * price
            power = Decimal(str(self.account.get("buying_power", self.account["cash"])))
            if cost > power:
                return 403, {
                    "code": 40310000,
                    "message": "insufficient buying power",
                    "buying_power": str(power),
                    "cost_basis": str(cost),
                }
        else:
            held = self.positions.get(str(symbol), {}).get("qty", Decimal(0))
            on_order = self._held_for_sells(str(symbol))
            available = held - on_order
            wanted = amount / price if notional is not None else amount
            if wanted > available:
                return 403, {
                    "code": 40310000,
                    "symbol": symbol,
                    "existing_qty": str(held),
                    "available": str(available),
                    "message": f"insufficient qty available for order (requested: {wanted}, available: {available})",
                    "held_for_orders": str(on_order),
                }
        return None

    def _progress(self, order: _Order, creating: bool = False) -> None:
        """Move an open order one step along its fill mode. At creation only "fill" fills; the other
        modes act at polls. Nothing moves while the clock says the market is closed."""
        data = order.data
        if data["status"] in TERMINAL or not self._clock_state["open"]:
            return
        if data["status"] == "accepted":
            data["status"] = "new"
        if order.mode == "stall" or (creating and order.mode != "fill"):
            return
        if order.mode == "reject":
            data["status"] = "rejected"
            data["failed_at"] = _iso(datetime.now(UTC))
        elif order.mode == "fill":
            self._fill_to(data, Decimal(1))
        elif order.step < len(order.steps):
            order.step += 1
            self._fill_to(data, order.steps[order.step - 1])

    def _fill_to(self, data: dict[str, Any], fraction: Decimal) -> None:
        symbol, price = data["symbol"], self.prices.get(data["symbol"], Decimal(1))
        total = (
            Decimal(data["qty"])
            if data["qty"] is not None
            else (Decimal(data["notional"]) / price).quantize(Decimal("0.000000001"), ROUND_DOWN)
        )
        target = total if fraction == 1 else (total * fraction).quantize(Decimal("0.000000001"), ROUND_DOWN)
        done = Decimal(data["filled_qty"])
        delta = target - done
        if delta <= 0:
            return
        sign = 1 if data["side"] == "buy" else -1
        self.account["cash"] -= sign * delta * price
        held = self.positions.setdefault(symbol, {"qty": Decimal(0), "avg": price})
        if sign > 0:
            held["avg"] = (held["avg"] * held["qty"] + price * delta) / (held["qty"] + delta)
        held["qty"] += sign * delta
        if held["qty"] == 0:
            del self.positions[symbol]
        previous = Decimal(data["filled_avg_price"] or 0)
        data["filled_avg_price"] = _num(((previous * done + price * delta) / target).quantize(Decimal("0.0001")))
        data["filled_qty"] = _num(target)
        data["status"] = "filled" if target >= total else "partially_filled"
        data["updated_at"] = _iso(datetime.now(UTC))
        if data["status"] == "filled":
            data["filled_at"] = data["updated_at"]

    def _find(self, key: str, by_client_id: bool) -> _Order | None:
        if by_client_id:
            return next((o for o in self._orders.values() if o.data["client_order_id"] == key), None)
        return self._orders.get(key)

    def _look_up(self, client_order_id: str, record: RecordedRequest | None) -> tuple[int, Any]:
        order = self._find(client_order_id, True)
        if order is not None and self._stale_for and self._clock() - order.created < self._stale_for:
            if record is not None:
                record.stale = True
            return 404, {"code": 40410000, "message": "order not found"}
        return self._poll(client_order_id, True)

    def _poll(self, key: str, by_client_id: bool) -> tuple[int, Any]:
        order = self._find(key, by_client_id)
        if order is None:
            return 404, {"code": 40410000, "message": "order not found"}
        self._progress(order)
        return 200, dict(order.data)

    def _cancel(self, order_id: str) -> tuple[int, Any]:
        order = self._orders.get(order_id)
        if order is None:
            return 404, {"code": 40410000, "message": "order not found"}
        if order.data["status"] in TERMINAL:
            return 422, {
                "code": 42210000,
                "message": f"order is not cancelable (status {order.data['status']})",
            }
        order.data.update(status="canceled", canceled_at=_iso(datetime.now(UTC)))
        return 204, None

    def _list_orders(self, query: dict[str, str]) -> tuple[int, Any]:
        wanted = query.get("status", "open")
        symbols = set(filter(None, query.get("symbols", "").split(",")))
        found = [
            dict(o.data)
            for o in self._orders.values()
            if (wanted == "all" or (o.data["status"] in TERMINAL) == (wanted == "closed"))
            and (not symbols or o.data["symbol"] in symbols)
        ]
        found.sort(key=lambda o: o["submitted_at"], reverse=query.get("direction", "desc") == "desc")
        return 200, found[: int(query.get("limit", 50))]


def _default_error(status: int) -> Any:
    if status == 429:
        return {"code": 42910000, "message": "rate limit exceeded"}
    if status == 403:
        return {"code": 40310000, "message": "insufficient buying power"}
    if status >= 500:
        return f"{status} {HTTPStatus(status).phrase}"
    return {"code": status * 100000, "message": HTTPStatus(status).phrase.lower()}


def _respond(handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str]) -> None:
    if status == 204 or payload is None:
        data, kind = b"", "application/json"
    elif isinstance(payload, str):
        data, kind = payload.encode(), "text/plain"
    else:
        data, kind = json.dumps(payload).encode(), "application/json"
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if data:
            handler.wfile.write(data)
    except OSError:
        pass  # the client gave up (timeout): the fake keeps what it did


@contextmanager
def running_fake_alpaca(**kwargs: Any) -> Iterator[FakeAlpaca]:
    fake = FakeAlpaca(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_alpaca() -> Iterator[FakeAlpaca]:
    """Import into a conftest (`from tests.fakes.fake_alpaca import fake_alpaca`) to use it anywhere."""
    with running_fake_alpaca() as fake:
        yield fake
