"""Fixtures for the strategy integration tests: a cold container per test, the fake Alpaca server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.strategy.dependencies import clear_cache
from shared.venues.alpaca.keys import clear_credentials_cache
from tests.fakes.fake_alpaca import fake_alpaca

__all__ = ["fake_alpaca"]


@pytest.fixture(autouse=True)
def _cold_container() -> Iterator[None]:
    """Adapters (and the secret) are cached per container: each test starts a cold one."""
    clear_cache()
    clear_credentials_cache()
    yield
    clear_cache()
    clear_credentials_cache()
