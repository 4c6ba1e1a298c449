"""The execution service against the fake Alpaca server, through the real alpaca-py client.

`harness` gives a FakeAlpaca, an AlpacaBroker pointed at it (simulated time for its rate limiter
and backoff, shared with the execution's own polling), the embedded stores in a temporary state
dir, a kill-switch file, and `deliver(plan)` that runs the use case as the handler does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from services.execution import app
from services.execution.dependencies import Dependencies
from services.execution.file_kill_switch import FileKillSwitch
from shared.events.trade_executed import TradeExecuted
from shared.limits.model import Limits
from shared.runtime.clock import NEW_YORK
from shared.venues.alpaca.trading import AlpacaBroker
from tests.fakes.alpaca_broker import make_broker
from tests.fakes.execution_support import Context, FaultyBroker, incoming, make_deps, make_plan, record_plan
from tests.fakes.fake_alpaca import FakeAlpaca, fake_alpaca
from tests.fakes.in_memory import InMemoryPublisher
from tests.fakes.sim_clock import SimClock

__all__ = ["fake_alpaca"]


def today_ny() -> date:
    return datetime.now(NEW_YORK).date()


@dataclass
class Harness:
    fake: FakeAlpaca
    state_dir: Path
    clock: SimClock = field(default_factory=SimClock)
    publisher: InMemoryPublisher = field(default_factory=lambda: InMemoryPublisher("alchemiser.execution"))
    limits: Limits = field(default_factory=Limits)
    fill_wait: float = 10.0
    timeout: float = 2.0
    _broker: AlpacaBroker | None = None

    @property
    def kill_switch_file(self) -> Path:
        return self.state_dir / "kill-switch"

    @property
    def broker(self) -> AlpacaBroker:
        if self._broker is None:
            self._broker = make_broker(self.fake, self.clock, timeout=self.timeout)
        return self._broker

    def plan(self, orders: list[Any], **kwargs: Any) -> Any:
        return make_plan(orders, trading_date=today_ny(), **kwargs)

    def deps(self, broker: Any = None) -> Dependencies:
        return make_deps(broker or self.broker, self.state_dir, kill_switch=FileKillSwitch(self.kill_switch_file),
                         clock=self.clock, limits=self.limits, publisher=self.publisher, fill_wait=self.fill_wait,
                         now=lambda: datetime.now(UTC))

    def deliver(self, plan: Any, *, broker: Any = None, remaining_ms: int = 120_000) -> dict[str, Any]:
        deps = self.deps(broker)
        record_plan(deps, plan)  # as the portfolio records each plan it publishes
        return app.handle(incoming(plan), deps, context=Context(remaining_ms=remaining_ms))

    def crashing(self, after: int) -> FaultyBroker:
        return FaultyBroker(self.broker, crash_after_submissions=after)

    @property
    def events(self) -> list[TradeExecuted]:
        return [e for e in self.publisher.events if isinstance(e, TradeExecuted)]

    def placed(self) -> dict[str, int]:
        """client order id -> how many orders the broker holds with it (seeds excluded)."""
        counts: dict[str, int] = {}
        for order in self.fake.orders:
            counts[order["client_order_id"]] = counts.get(order["client_order_id"], 0) + 1
        return counts

    def assert_exactly_once(self, expected: list[str] | set[str]) -> None:
        """Every expected order is at the broker exactly once, and nothing else is: none duplicated, none lost."""
        placed = self.placed()
        duplicated = {coid: n for coid, n in placed.items() if n > 1}
        lost = set(expected) - set(placed)
        unexpected = set(placed) - set(expected)
        assert (duplicated, lost, unexpected) == ({}, set(), set()), placed


@pytest.fixture
def harness(fake_alpaca: FakeAlpaca, tmp_path: Path) -> Iterator[Harness]:
    yield Harness(fake_alpaca, tmp_path)
