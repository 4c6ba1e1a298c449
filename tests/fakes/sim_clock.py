"""Simulated time for every test that waits: `sleep` advances the clock instead of waiting.

One clock for the placer's polls, the broker's retries and the rate limiters: `clock()` and
`clock.monotonic()` read it, `clock.sleep(s)` advances it (thread-safe: concurrent deliveries share
one clock) and records `s` in `clock.sleeps`.
"""

from __future__ import annotations

import threading


class SimClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds
