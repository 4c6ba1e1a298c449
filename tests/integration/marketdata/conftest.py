"""Fixtures: a running fake Alpaca market-data server, and an AlpacaMarketData pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.venues.alpaca.bars import AlpacaMarketData
from tests.fakes.fake_alpaca_data import FakeAlpacaDataServer


@pytest.fixture
def fake_alpaca_data() -> Iterator[FakeAlpacaDataServer]:
    server = FakeAlpacaDataServer(page_size=5).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def alpaca_data(fake_alpaca_data: FakeAlpacaDataServer) -> AlpacaMarketData:
    return AlpacaMarketData(fake_alpaca_data.api_key, fake_alpaca_data.secret_key, url_override=fake_alpaca_data.url)
