"""Fixtures for the portfolio handler tests: a clean adapter cache, the fake Alpaca server, outbox reading."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.portfolio.dependencies import clear_cache
from tests.fakes.fake_alpaca import fake_alpaca

__all__ = ["fake_alpaca"]


@pytest.fixture(autouse=True)
def _fresh_containers() -> Iterator[None]:
    """Each test starts a cold container (adapters are cached per container and configuration)."""
    clear_cache()
    yield
    clear_cache()


def outbox_entries(state_dir: Path) -> list[dict[str, Any]]:
    """Every PutEvents entry the handler wrote to the local outbox, in order."""
    entries: list[dict[str, Any]] = []
    for path in sorted((state_dir / "outbox").glob("*.jsonl"), key=lambda p: p.stat().st_mtime_ns):
        entries += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return entries


def published(state_dir: Path, detail_type: str | None = None) -> list[dict[str, Any]]:
    """The details published (optionally of one detail-type)."""
    return [json.loads(e["Detail"]) for e in outbox_entries(state_dir)
            if detail_type is None or e["DetailType"] == detail_type]
