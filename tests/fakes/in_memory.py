"""In-memory stand-ins for two ports, for tests and the bench (they never ship in a Lambda)."""

from __future__ import annotations

from collections.abc import Sequence

from services.execution.kill_switch import KillSwitchReading
from shared.events.base import DomainEvent
from shared.events.publisher import to_entry
from shared.events.trade_executed import KillSwitchState


class InMemoryPublisher:
    """An EventPublisher that records what it was given; can be told to fail."""

    def __init__(self, source: str | None = None, *, fail_with: Exception | None = None) -> None:
        self.source = source
        self.events: list[DomainEvent] = []
        self.fail_with = fail_with

    def publish(self, events: Sequence[DomainEvent]) -> list[str]:
        if self.fail_with is not None:
            raise self.fail_with
        if self.source is not None:  # check the producer against the catalog, as the real one does
            for event in events:
                to_entry(event, source=self.source, bus_name="in-memory")
        self.events.extend(events)
        return [e.detail_type for e in events]


class FixedKillSwitch:
    """A kill switch that always reads the given state."""

    def __init__(self, state: KillSwitchState = "active") -> None:
        self.state: KillSwitchState = state

    def read(self) -> KillSwitchReading:
        return KillSwitchReading(self.state, "fixed")
