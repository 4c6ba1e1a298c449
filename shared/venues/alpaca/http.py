"""What we change in alpaca-py's HTTP behaviour, and how we read its failures.

alpaca-py 0.44 (`alpaca.common.rest.RESTClient`):
- retries 429 and 504 answers itself, 3 times, 3 s apart, for every method including
  POST /v2/orders (`_retry`, `_retry_wait`, `_retry_codes`, set in `__init__`, not settable
  through `TradingClient`'s constructor);
- sends every request with no timeout at all (a hung connection blocks until the Lambda dies).

We switch its retry off (`_retry = 0`, `_retry_codes = []`) and mount a requests adapter
that gives every request a timeout. Both touch private attributes; `disable_builtin_retry`
and `install_timeout` check that those attributes still look the way we expect and raise
`RuntimeError` at construction otherwise, and tests pin the behaviour end to end, so an
alpaca-py upgrade that moves them fails loudly rather than silently re-enabling retried POSTs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

FailureKind = Literal["transient", "not_found", "duplicate", "client"]
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DUPLICATE_MESSAGE = "client_order_id must be unique"


def disable_builtin_retry(client: Any) -> None:
    retry = getattr(client, "_retry", None)
    codes = getattr(client, "_retry_codes", None)
    if not isinstance(retry, int) or not isinstance(codes, list) or not hasattr(client, "_retry_wait"):
        raise RuntimeError(
            "alpaca-py's RESTClient no longer has _retry/_retry_wait/_retry_codes: its built-in retry "
            "(which re-sends order POSTs) cannot be switched off; review shared/venues/alpaca/http.py"
        )
    client._retry = 0
    client._retry_codes = []
    client._retry_wait = 0


def install_timeout(client: Any, timeout: float) -> None:
    """Give every request of `client` a (connect, read) timeout and no urllib3-level retries."""
    import requests
    from requests.adapters import HTTPAdapter
    from requests.models import PreparedRequest, Response

    default = timeout
    session = getattr(client, "_session", None)
    if not isinstance(session, requests.Session):
        raise RuntimeError(
            "alpaca-py's RESTClient no longer has a requests Session in _session: cannot set timeouts; "
            "review shared/venues/alpaca/http.py"
        )

    class _TimeoutAdapter(HTTPAdapter):
        def send(
            self,
            request: PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float | None, float | None] | None = None,
            verify: bool | str = True,
            cert: str | tuple[str, str] | None = None,
            proxies: dict[str, str] | None = None,
        ) -> Response:
            chosen = (min(default, 5.0), default) if timeout is None else timeout
            return super().send(
                request, stream=stream, timeout=chosen, verify=verify, cert=cert, proxies=proxies
            )

    adapter = _TimeoutAdapter(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    status: int | None
    message: str
    wait_hint: float | None = None
    """Seconds the broker asked us to wait: Retry-After, or a 429's X-RateLimit-Reset."""

    def describe(self) -> str:
        return f"HTTP {self.status}: {self.message}" if self.status else self.message


def _api_message(raw: str) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.strip()[:300] or "(empty body)"
    if isinstance(body, dict) and "message" in body:
        code = body.get("code")
        return f"{body['message']} (code {code})" if code is not None else str(body["message"])
    return raw.strip()[:300]


MAX_WAIT_HINT = 60.0


def _seconds_from(name: str, value: str, wall_clock: Callable[[], float]) -> float | None:
    """Retry-After: delta-seconds or an HTTP-date; X-RateLimit-Reset: a Unix time in seconds."""
    try:
        number = float(value)
    except ValueError:
        if name != "Retry-After":
            return None
        from email.utils import parsedate_to_datetime

        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        return moment.timestamp() - wall_clock() if moment.tzinfo is not None else None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number if name == "Retry-After" else number - wall_clock()


def _wait_hint(response: Any, wall_clock: Callable[[], float], *, rate_limited: bool) -> float | None:
    """Seconds the broker asks us to wait (0 to MAX_WAIT_HINT), or None when it did not say.

    Retry-After counts on any transient answer (a 503 may carry it); X-RateLimit-Reset only on a
    429 (Alpaca sends the rate-limit headers on every answer; the reset matters when we hit it)."""
    headers = getattr(response, "headers", None) or {}
    for name in ("Retry-After", "X-RateLimit-Reset") if rate_limited else ("Retry-After",):
        value = headers.get(name)
        if value is None:
            continue
        seconds = _seconds_from(name, str(value), wall_clock)
        if seconds is not None:
            return max(0.0, min(seconds, MAX_WAIT_HINT))
    return None


def classify(exc: BaseException, wall_clock: Callable[[], float]) -> Failure | None:
    """How an exception raised by an alpaca-py call should be treated; None: not an HTTP failure."""
    import requests
    from alpaca.common.exceptions import APIError

    if isinstance(exc, APIError):
        status = exc.status_code
        message = _api_message(str(exc))
        if status is None or status in TRANSIENT_STATUSES or status >= 500:
            hint = _wait_hint(exc.response, wall_clock, rate_limited=status == 429)
            return Failure("transient", status, message, hint)
        if DUPLICATE_MESSAGE in message.lower():
            return Failure("duplicate", status, message)
        if status == 404:
            return Failure("not_found", status, message)
        return Failure("client", status, message)
    if isinstance(exc, requests.RequestException):
        return Failure("transient", None, f"{type(exc).__name__}: {exc}")
    return None
