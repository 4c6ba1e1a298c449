"""A token bucket that keeps any 60-second window under Alpaca's per-account request limit.

Alpaca allows 200 trading-API requests per minute per account. A bucket holding at most
`burst` tokens and refilling at `(per_minute - burst) / 60` tokens a second lets through at
most `burst + (per_minute - burst) = per_minute` requests in any 60 s window, whatever the
timing of the callers. Waiting callers reserve their token first (the balance goes negative),
so threads sharing one limiter queue fairly and never overshoot.

The clock and the sleep are injectable so tests run in simulated time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

ALPACA_REQUESTS_PER_MINUTE = 200
DEFAULT_PER_MINUTE = 190
"""A margin under Alpaca's 200/min for requests made outside this limiter (another function, a person)."""


class RateLimiter:
    def __init__(
        self,
        per_minute: int = DEFAULT_PER_MINUTE,
        burst: int = 10,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1 or not 1 <= burst < per_minute:
            raise ValueError("need per_minute >= 1 and 1 <= burst < per_minute")
        self.per_minute = per_minute
        self.burst = burst
        self._rate = (per_minute - burst) / 60.0
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until it is available; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self._rate
        if wait > 0:
            self._sleep(wait)
        return wait
