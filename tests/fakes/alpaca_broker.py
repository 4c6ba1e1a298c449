"""The real AlpacaBroker pointed at the fake Alpaca server, on simulated time (tests and the bench)."""

from __future__ import annotations

from typing import Any

from shared.venues.alpaca.trading import AlpacaBroker
from tests.fakes.fake_alpaca import FakeAlpaca
from tests.fakes.sim_clock import SimClock


def make_broker(fake: FakeAlpaca, clock: SimClock | None = None, *, keys: tuple[str, str] | None = None,
                **kwargs: Any) -> AlpacaBroker:
    """`keys`: another key pair (authorized at the fake first), to tell this client's requests apart."""
    from shared.venues.alpaca.rate_limit import RateLimiter

    clock = clock or SimClock()
    kwargs.setdefault("rate_limiter", RateLimiter(clock=clock, sleep=clock.sleep))
    kwargs.setdefault("data_rate_limiter", RateLimiter(clock=clock, sleep=clock.sleep))
    kwargs.setdefault("timeout", 2.0)
    api_key, secret = keys or (fake.api_key, "fake-secret")
    if keys is not None:
        fake.authorize(*keys)
    return AlpacaBroker(api_key, secret, trading_url=fake.url, data_url=fake.url, sleep=clock.sleep, **kwargs)
