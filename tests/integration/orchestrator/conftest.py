"""Fixtures for the orchestrator's integration tests: the fake Alpaca trading server."""

from __future__ import annotations

from tests.fakes.fake_alpaca import fake_alpaca

__all__ = ["fake_alpaca"]
