"""The real AlpacaBroker pointed at the fake Alpaca server, on simulated time (tests and the bench)."""

from __future__ import annotations

from typing import Any

from shared.broker.alpaca import AlpacaBroker
from tests.fakes.fake_alpaca import FakeAlpaca


class SimClock:
    """Simulated time: `sleep` advances `now` instead of waiting, and every sleep is recorded."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_broker(fake: FakeAlpaca, clock: SimClock | None = None, **kwargs: Any) -> AlpacaBroker:
    from shared.broker.rate_limit import RateLimiter

    clock = clock or SimClock()
    kwargs.setdefault("rate_limiter", RateLimiter(clock=clock, sleep=clock.sleep))
    kwargs.setdefault("data_rate_limiter", RateLimiter(clock=clock, sleep=clock.sleep))
    kwargs.setdefault("timeout", 2.0)
    return AlpacaBroker(
        fake.api_key, "fake-secret", trading_url=fake.url, data_url=fake.url, sleep=clock.sleep, **kwargs
    )
