"""A local fake of Alpaca's market-data API (`GET /v2/stocks/bars`), for the real alpaca-py client.

Point `StockHistoricalDataClient(url_override=server.url)` at it. It behaves as Alpaca does for
what this project uses: query params `symbols` (comma-separated), `timeframe`, `start`, `end`
(RFC 3339 or YYYY-MM-DD, both inclusive), `limit`, `adjustment`, `feed`, `sort`, `page_token`;
bars ordered by symbol then time; `{"bars": {"SPY": [{"t","o","h","l","c","v","n","vw"}]},
"next_page_token": ...}`; a page holds at most min(limit, page_size) bars across all symbols, so
a small `page_size` exercises pagination. Auth headers are checked; every request is recorded.
"""

from __future__ import annotations

import base64
import json
import threading
import time as time_module
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.runtime.clock import NEW_YORK

TIMEFRAMES = {"1Day", "1D", "1day"}
ADJUSTMENTS = {"raw", "split", "dividend", "spin-off", "all"}
FEEDS = {"iex", "sip", "delayed_sip", "otc", "boats", "overnight"}


def daily_bar(day: date, close: float, volume: int = 1_000_000) -> dict[str, Any]:
    """A daily bar as Alpaca sends it: stamped at midnight New York, in UTC with a Z."""
    stamp = datetime.combine(day, time(0, 0), tzinfo=NEW_YORK).astimezone(UTC)
    return {
        "t": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "o": round(close * 0.995, 4),
        "h": round(close * 1.01, 4),
        "l": round(close * 0.99, 4),
        "c": close,
        "v": volume,
        "n": 1000,
        "vw": round(close * 1.001, 4),
    }


def _parse_time(text: str, *, end: bool) -> datetime:
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime.combine(day, time(23, 59, 59, 999999) if end else time(0), tzinfo=UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time without zone: {text}")
    return value


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    params: dict[str, str]
    authenticated: bool

    @property
    def symbols(self) -> list[str]:
        return self.params.get("symbols", "").split(",")

    @property
    def start(self) -> datetime | None:
        return _parse_time(self.params["start"], end=False) if "start" in self.params else None

    @property
    def end(self) -> datetime | None:
        return _parse_time(self.params["end"], end=True) if "end" in self.params else None


@dataclass
class FakeAlpacaDataServer:
    api_key: str = "fake-key-id"
    secret_key: str = "fake-secret"
    page_size: int = 5
    bars: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """Answers to give, in order, before serving normally again: (status, body)."""
    delay_seconds: float = 0.0
    """Wait this long before answering (to exercise client timeouts)."""
    latest_trades: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`GET /v2/stocks/trades/latest`: symbol -> trade (`set_latest_trade`)."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ set-up for tests
    def set_closes(self, symbol: str, closes: Mapping[date, float]) -> None:
        with self._lock:
            self.bars[symbol] = [daily_bar(day, close) for day, close in sorted(closes.items())]

    def set_bars(self, symbol: str, bars: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            self.bars[symbol] = [dict(bar) for bar in bars]

    def set_latest_trade(self, symbol: str, price: float, at: datetime) -> None:
        """The latest trade Alpaca reports for `symbol` (price, aware timestamp)."""
        with self._lock:
            self.latest_trades[symbol] = {
                "t": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "x": "V", "p": price, "s": 100,
                "c": ["@"], "i": 1, "z": "B",
            }

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    @property
    def bar_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == "/v2/stocks/bars"]

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeAlpacaDataServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server = self._server
        self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.02), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeAlpacaDataServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ the API
    def handle(self, path: str, params: dict[str, str], headers: Mapping[str, str]) -> tuple[int, Any]:
        key, secret = headers.get("APCA-API-KEY-ID"), headers.get("APCA-API-SECRET-KEY")
        authenticated = key == self.api_key and secret == self.secret_key
        with self._lock:
            self.requests.append(RecordedRequest(path, dict(params), authenticated))
            if self.failures:
                return self.failures.pop(0)
        if not authenticated:
            return 401, {"message": "unauthorized."}
        if path == "/v2/stocks/trades/latest":
            wanted = [s for s in params.get("symbols", "").split(",") if s]
            if not wanted:
                return 400, {"message": "missing symbols"}
            with self._lock:
                trades = {s: dict(self.latest_trades[s]) for s in wanted if s in self.latest_trades}
            return 200, {"trades": trades}
        if path != "/v2/stocks/bars":
            return 404, {"message": "Not Found"}
        try:
            return 200, self._bars_page(params)
        except ValueError as error:
            return 400, {"message": str(error)}

    def _bars_page(self, params: dict[str, str]) -> dict[str, Any]:
        symbols = [s for s in params.get("symbols", "").split(",") if s]
        if not symbols:
            raise ValueError("missing symbols")
        if params.get("timeframe") not in TIMEFRAMES:
            raise ValueError(f"invalid timeframe: {params.get('timeframe')}")
        if params.get("adjustment", "raw") not in ADJUSTMENTS:
            raise ValueError(f"invalid adjustment: {params.get('adjustment')}")
        if params.get("feed", "sip") not in FEEDS:
            raise ValueError(f"invalid feed: {params.get('feed')}")
        today = datetime.combine(datetime.now(UTC).date(), time(0), tzinfo=UTC)
        start = _parse_time(params["start"], end=False) if "start" in params else today
        end = _parse_time(params["end"], end=True) if "end" in params else datetime.now(UTC)
        limit = int(params.get("limit", "1000"))
        if not 1 <= limit <= 10_000:
            raise ValueError("invalid limit: must be between 1 and 10000")
        descending = params.get("sort", "asc") == "desc"
        flat = list(self._selected(sorted(set(symbols)), start, end, descending))
        offset = int(base64.b64decode(params["page_token"]).decode()) if params.get("page_token") else 0
        page = flat[offset : offset + min(limit, self.page_size)]
        grouped: dict[str, list[dict[str, Any]]] = {}
        for symbol, bar in page:
            grouped.setdefault(symbol, []).append(bar)
        after = offset + len(page)
        token = base64.b64encode(str(after).encode()).decode() if after < len(flat) else None
        return {"bars": grouped, "next_page_token": token}

    def _selected(
        self, symbols: list[str], start: datetime, end: datetime, descending: bool
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        with self._lock:
            snapshot = {s: list(self.bars.get(s, [])) for s in symbols}
        for symbol in symbols:
            chosen = [b for b in snapshot[symbol] if start <= _parse_time(b["t"], end=False) <= end]
            chosen.sort(key=lambda b: _parse_time(b["t"], end=False), reverse=descending)
            for bar in chosen:
                yield symbol, bar


def _handler_for(fake: FakeAlpacaDataServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            status, body = fake.handle(parts.path, params, dict(self.headers.items()))
            if fake.delay_seconds:
                time_module.sleep(fake.delay_seconds)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
