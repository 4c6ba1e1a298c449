"""The portfolio's adapters, built once per container from its settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.portfolio.settings import PortfolioSettings
from shared.broker.port import BrokerReader
from shared.broker.positions_record import OrderLookUp, PositionsRecord, make_positions_record
from shared.events.catalog import PORTFOLIO, SOURCE_OF
from shared.events.publisher import EventPublisher, publisher_factory
from shared.runtime.container_cache import PerCredentials, with_settings
from shared.runtime.idempotency import IdempotentOperation, make_persistence
from shared.runtime.published_facts import WorkflowFacts, make_facts
from shared.venues.key_rotation import broker_keys_in_use

OPERATION = "portfolio-plan"
CACHED_CONTAINERS = 8


@dataclass(frozen=True)
class Dependencies:
    settings: PortfolioSettings
    """This invocation's settings; the adapters below are shared by the container's invocations."""
    broker: BrokerReader
    idempotency: IdempotentOperation
    publisher_for: Callable[[str], EventPublisher]
    """request id -> the publisher for that invocation (the local outbox is per request)."""
    facts: WorkflowFacts
    """The strategy's record of its signals (checked) and ours of what we publish (written by `publisher_for`'s
    publishers): published_facts.py."""
    positions: PositionsRecord | None = None
    """The system's record of the positions it manages (positions_record.py); None: it holds nothing yet."""
    orders: OrderLookUp | None = None
    """The broker's order look-up by client order id, to settle the record's pending orders."""


def build(settings: PortfolioSettings) -> Dependencies:
    """Every adapter from `settings` (tests replace any of them with `dataclasses.replace`)."""
    from shared.venues.factory import make_broker

    persistence = make_persistence(table_name=settings.idempotency_table, state_dir=settings.state_dir,
                                   local=settings.local)
    facts = make_facts(local=settings.local, state_dir=settings.state_dir, table_name=settings.idempotency_table)
    broker = make_broker(settings)
    return Dependencies(
        settings=settings,
        broker=broker,
        idempotency=IdempotentOperation(OPERATION, persistence,
                                        expires_after_seconds=settings.plan_idempotency_seconds),
        publisher_for=publisher_factory(settings, SOURCE_OF[PORTFOLIO], facts),
        facts=facts,
        positions=make_positions_record(local=settings.local, state_dir=settings.state_dir,
                                        table_name=settings.idempotency_table),
        orders=broker,
    )


keys_in_use = broker_keys_in_use
"""The fingerprint of the Alpaca keys the broker uses in AWS: a rotated secret builds a new broker."""


# The clock is part of the key: the simulated broker reads the account at the invocation's time, so a
# local run that moves the clock builds a fresh set (in AWS the settings never change).
_cached: PerCredentials[PortfolioSettings, Dependencies] = PerCredentials(build, fingerprint=keys_in_use,
                                                                       maxsize=CACHED_CONTAINERS)


def dependencies(settings: PortfolioSettings) -> Dependencies:
    """Adapters once per container per configuration, with this invocation's settings."""
    return with_settings(_cached(settings), settings)


def clear_cache() -> None:
    """Forget every container's adapters (tests)."""
    _cached.clear()
