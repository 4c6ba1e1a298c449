"""Fixtures for the broker integration tests: the fake Alpaca server and an AlpacaBroker pointed at it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.venues.alpaca.trading import AlpacaBroker
from tests.fakes.alpaca_broker import make_broker
from tests.fakes.fake_alpaca import FakeAlpaca, fake_alpaca
from tests.fakes.sim_clock import SimClock

__all__ = ["SimClock", "fake_alpaca", "make_broker"]


@pytest.fixture
def sim_clock() -> SimClock:
    return SimClock()


@pytest.fixture
def broker_factory(fake_alpaca: FakeAlpaca, sim_clock: SimClock) -> Callable[..., AlpacaBroker]:
    def build(**kwargs: Any) -> AlpacaBroker:
        return make_broker(fake_alpaca, sim_clock, **kwargs)

    return build


@pytest.fixture
def broker(broker_factory: Callable[..., AlpacaBroker]) -> AlpacaBroker:
    return broker_factory()
