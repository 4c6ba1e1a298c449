"""Fakes and a harness for the strategy function's use cases (no AWS, no network)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from services.strategy import app
from services.strategy.dependencies import Dependencies, build
from services.strategy.settings import StrategySettings
from shared.events.base import DomainEvent
from shared.events.catalog import SOURCE_OF, STRATEGY
from shared.events.envelope import open_envelope
from shared.events.middleware import parse_delivery
from shared.events.publisher import PublishError, Undelivered
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import OfflineMarketData
from shared.marketdata.port import MarketDataError, PriceHistory
from shared.runtime.clock import NEW_YORK
from tests.conftest import LambdaContextStub
from tests.fakes.in_memory import InMemoryPublisher

CALENDAR = ExchangeCalendar()
WEDNESDAY = datetime(2026, 11, 25, 9, 35, tzinfo=NEW_YORK)
THANKSGIVING = datetime(2026, 11, 26, 9, 35, tzinfo=NEW_YORK)
SATURDAY = datetime(2026, 11, 28, 9, 35, tzinfo=NEW_YORK)
DIRECT = {"mode": "trade"}
SCHEDULER_TIME_EVENT = {"version": "0", "id": "scheduled-0935", "detail-type": "Scheduled Event",
                        "source": "aws.scheduler", "account": "123456789012", "time": "2026-11-25T14:35:00Z",
                        "region": "us-east-1", "resources": [], "detail": {"mode": "trade"}}


def scheduler_envelope(envelope_id: str = "12345-test-event", detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"version": "0", "id": envelope_id, "detail-type": "Scheduled Event", "source": "aws.scheduler",
            "account": "123456789012", "time": "2026-11-25T14:35:00Z", "region": "us-east-1",
            "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/test"],
            "detail": detail or {"mode": "trade"}}


class RecordingMetrics:
    def __init__(self) -> None:
        self.added: list[tuple[str, str, float]] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.added.append((name, str(getattr(unit, "value", unit)), value))

    def total(self, name: str) -> float:
        return sum(v for n, _, v in self.added if n == name)

    def units(self, name: str) -> set[str]:
        return {u for n, u, _ in self.added if n == name}


class FlakyPublisher:
    """Records what it was asked to publish, then fails (a bus outage)."""

    def __init__(self) -> None:
        self.attempted: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> list[str]:
        self.attempted.extend(events)
        raise PublishError("not delivered after 4 attempts",
                           [Undelivered(e.event_id, e.detail_type, "InternalFailure", "boom") for e in events])


class EndsOn:
    """Market data whose files stop on `last` (a CSV folder nobody updated)."""

    def __init__(self, last: date) -> None:
        self.inner, self.last = OfflineMarketData(), last

    def history(self, symbols: Sequence[str], end: date, lookback_days: int) -> PriceHistory:
        return self.inner.history(symbols, min(end, self.last), lookback_days)


class Unreachable:
    """Market data behind a network that refuses connections."""

    def __init__(self) -> None:
        self.calls = 0

    def history(self, symbols: Sequence[str], end: date, lookback_days: int) -> PriceHistory:
        self.calls += 1
        try:
            raise ConnectionError("connection refused")
        except ConnectionError:
            raise MarketDataError("Alpaca market data unreachable: ConnectionError") from None


class Refused:
    """Market data that answers, but refuses the request (HTTP 403: a feed without a subscription)."""

    class _ApiError(Exception):
        status_code = 403

    def history(self, symbols: Sequence[str], end: date, lookback_days: int) -> PriceHistory:
        try:
            raise self._ApiError("forbidden")
        except self._ApiError:
            raise MarketDataError("Alpaca market data refused bars: HTTP 403: subscription does not permit") from None


@dataclasses.dataclass
class Harness:
    settings: StrategySettings
    deps: Dependencies
    publisher: InMemoryPublisher
    metrics: RecordingMetrics

    def invoke(self, event: dict[str, Any], *, at: datetime = WEDNESDAY, request_id: str | None = None,
               publisher: Any = None) -> dict[str, Any]:
        settings = self.settings.model_copy(update={"as_of": at})
        deps = dataclasses.replace(self.deps, settings=settings)
        if publisher is not None:
            deps = dataclasses.replace(deps, publisher_for=lambda _request_id: publisher)
        incoming = parse_delivery(open_envelope(event), STRATEGY)
        context = LambdaContextStub(aws_request_id=request_id or str(uuid.uuid4()))
        return app.handle(incoming, deps, context=context, metrics=self.metrics)

    @property
    def published(self) -> list[DomainEvent]:
        return self.publisher.events


def harness(state_dir: Path, *, market_data: Any = None, strategy_config: Path | None = None,
            **settings: Any) -> Harness:
    values: dict[str, Any] = {"backend": "local", "state_dir": state_dir, **settings}
    if strategy_config is not None:
        values["strategy_config"] = strategy_config
    config = StrategySettings.model_validate(values)
    publisher = InMemoryPublisher(SOURCE_OF[STRATEGY])
    deps = dataclasses.replace(build(config), calendar=CALENDAR, market_data=market_data or OfflineMarketData(),
                               publisher_for=lambda _request_id: publisher)
    return Harness(config, deps, publisher, RecordingMetrics())
