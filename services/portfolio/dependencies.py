"""The portfolio's adapters, built once per container from its settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.portfolio.settings import PortfolioSettings
from shared.broker.key_rotation import PerCredentials, credentials_fingerprint
from shared.broker.port import BrokerReader
from shared.events.catalog import PORTFOLIO, SOURCE_OF
from shared.events.publisher import EventPublisher, make_publisher
from shared.runtime.idempotency import IdempotentOperation, make_persistence
from shared.runtime.workflow_facts import WorkflowFacts, make_facts

OPERATION = "portfolio-plan"
CACHED_CONTAINERS = 8


@dataclass(frozen=True)
class Dependencies:
    settings: PortfolioSettings
    broker: BrokerReader
    idempotency: IdempotentOperation
    publisher_for: Callable[[str], EventPublisher]
    """request id -> the publisher for that invocation (the local outbox is per request)."""
    facts: WorkflowFacts
    """The strategy's record of its signals (checked) and ours of our plans (written): workflow_facts.py."""


def build(settings: PortfolioSettings, *, broker: BrokerReader | None = None,
          publisher_for: Callable[[str], EventPublisher] | None = None,
          facts: WorkflowFacts | None = None) -> Dependencies:
    """Adapters for `settings`; tests pass fakes for the broker and the publisher."""
    if broker is None:
        from shared.broker.factory import make_broker

        broker = make_broker(settings)
    persistence = make_persistence(table_name=settings.idempotency_table, state_dir=settings.state_dir,
                                   local=settings.local)
    operation = IdempotentOperation(OPERATION, persistence, expires_after_seconds=settings.plan_idempotency_seconds)
    if facts is None:
        facts = make_facts(local=settings.local, state_dir=settings.state_dir, table_name=settings.idempotency_table)
    return Dependencies(settings, broker, operation, publisher_for or _publisher_factory(settings), facts)


def _publisher_factory(settings: PortfolioSettings) -> Callable[[str], EventPublisher]:
    def publisher_for(request_id: str) -> EventPublisher:
        # make_publisher reuses one EventBridge client per container (shared.runtime.aws_clients)
        return make_publisher(local=settings.local, state_dir=settings.state_dir, bus_name=settings.event_bus_name,
                              source=SOURCE_OF[PORTFOLIO], request_id=request_id)

    return publisher_for


def keys_in_use(settings: PortfolioSettings) -> str:
    """The fingerprint of the Alpaca keys the broker reads with in AWS: a rotated secret builds a new broker."""
    uses_alpaca = settings.broker_kind == "alpaca" or settings.market_data_source == "alpaca"
    return credentials_fingerprint(settings, uses_alpaca=uses_alpaca)


_cached: PerCredentials[PortfolioSettings, Dependencies] = PerCredentials(build, fingerprint=keys_in_use,
                                                                       maxsize=CACHED_CONTAINERS)


def dependencies(settings: PortfolioSettings) -> Dependencies:
    """Once per container per configuration (a local run that moves the clock gets fresh ones)."""
    return _cached(settings)


def clear_cache() -> None:
    """Forget every container's adapters (tests)."""
    _cached.clear()
