"""Adapters for the execution function, built from its settings once per container.

Cached per distinct settings (a small LRU keyed on their JSON, secrets by digest) and per Alpaca
key pair (shared/venues/key_rotation.py): in AWS the settings never change, so the broker, its
rate limiter and the idempotency layer live as long as the container and its keys (a rotated
secret builds a new set once Powertools re-reads it); locally each new `as_of` (the simulated
clock) builds a fresh set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from services.execution.file_kill_switch import FileKillSwitch
from services.execution.kill_switch import KillSwitch, UnconfiguredKillSwitch
from services.execution.placer import Timing
from services.execution.settings import ExecutionSettings
from services.execution.sqlite_turnover_ledger import SqliteTurnoverLedger
from services.execution.sqlite_workflow_guard import SqliteWorkflowGuard
from services.execution.ssm_kill_switch import SsmKillSwitch
from services.execution.turnover_ledger import TurnoverLedger
from services.execution.workflow_guard import WorkflowGuard
from shared.events.catalog import EXECUTION, SOURCE_OF
from shared.events.publisher import EventPublisher, publisher_factory
from shared.events.types import TradingMode, utc_now
from shared.limits.model import Limits
from shared.runtime.container_cache import PerCredentials, with_settings
from shared.runtime.idempotency import IdempotentOperation, make_persistence
from shared.runtime.published_facts import WorkflowFacts, make_facts
from shared.venues.key_rotation import broker_keys_in_use

if TYPE_CHECKING:
    from shared.broker.port import Broker

PLAN_OPERATION = "execution-plan"
DAY_SECONDS = 86_400
CACHED_CONTAINERS = 4


@dataclass(frozen=True)
class Dependencies:
    settings: ExecutionSettings
    """This invocation's settings. The use case reads the values below, built from them, so a test
    sets a limit or a clock without building settings (plan_run.Ports is what the domain sees)."""
    broker: Broker
    kill_switch: KillSwitch
    guard: WorkflowGuard
    plan_once: IdempotentOperation
    publisher_for: Callable[[str], EventPublisher]
    """request id -> the publisher for that invocation."""
    facts: WorkflowFacts
    """The portfolio's record of the plans it published (checked) and ours of what we publish (written by
    `publisher_for`'s publishers): shared/runtime/published_facts.py."""
    turnover: TurnoverLedger
    """The daily turnover reserved per account across every run of the day (turnover_ledger.py)."""
    limits: Limits = field(default_factory=Limits)
    """The limits of a plan that carries none; a plan carries the workflow's (shared/limits)."""
    timing: Timing = field(default_factory=Timing)
    trading_mode: TradingMode = "paper"
    buying_power_margin: Decimal = Decimal("0.001")
    now: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


def kill_switch_for(settings: ExecutionSettings) -> KillSwitch:
    if settings.local:
        return FileKillSwitch(settings.kill_switch_file)
    if settings.kill_switch_parameter:
        return SsmKillSwitch(settings.kill_switch_parameter)
    return UnconfiguredKillSwitch()


def guard_for(settings: ExecutionSettings) -> WorkflowGuard:
    ttl = settings.workflow_guard_days * DAY_SECONDS
    if settings.local:
        return SqliteWorkflowGuard(settings.state_dir / "state.sqlite", ttl_seconds=ttl)
    if not settings.idempotency_table:
        raise ValueError("ALCHEMISER_IDEMPOTENCY_TABLE is required outside local mode (it holds the workflow guard)")
    from services.execution.dynamodb_workflow_guard import DynamoDBWorkflowGuard

    return DynamoDBWorkflowGuard(settings.idempotency_table, ttl_seconds=ttl)


def turnover_for(settings: ExecutionSettings) -> TurnoverLedger:
    if settings.local:
        return SqliteTurnoverLedger(settings.state_dir / "state.sqlite")
    if not settings.idempotency_table:
        raise ValueError("ALCHEMISER_IDEMPOTENCY_TABLE is required outside local mode (it holds the turnover ledger)")
    from services.execution.dynamodb_turnover_ledger import DynamoDBTurnoverLedger

    return DynamoDBTurnoverLedger(settings.idempotency_table)


def broker_for(settings: ExecutionSettings) -> Broker:
    from shared.venues.factory import make_broker

    return make_broker(settings)


def build(settings: ExecutionSettings) -> Dependencies:
    """Every adapter from `settings` (tests replace any of them with `dataclasses.replace`)."""

    persistence = make_persistence(table_name=settings.idempotency_table, state_dir=settings.state_dir,
                                   local=settings.local)
    facts = make_facts(local=settings.local, state_dir=settings.state_dir, table_name=settings.idempotency_table)
    return Dependencies(
        settings=settings,
        broker=broker_for(settings),
        kill_switch=kill_switch_for(settings),
        guard=guard_for(settings),
        plan_once=IdempotentOperation(PLAN_OPERATION, persistence,
                                      expires_after_seconds=settings.plan_idempotency_days * DAY_SECONDS),
        publisher_for=publisher_factory(settings, SOURCE_OF[EXECUTION], facts),
        facts=facts,
        turnover=turnover_for(settings),
        timing=Timing(
            fill_wait_seconds=settings.fill_wait_seconds,
            poll_interval_seconds=settings.poll_interval_seconds,
            post_lookup_attempts=settings.post_lookup_attempts,
            post_lookup_delay_seconds=settings.post_lookup_delay_seconds,
            post_attempts=settings.post_attempts,
        ),
        trading_mode=settings.trading_mode,
        buying_power_margin=settings.buying_power_margin,
        now=settings.now,
    )


keys_in_use = broker_keys_in_use
"""The fingerprint of the Alpaca keys the broker uses in AWS: a rotated secret builds a new broker."""


# The clock is part of the key: the simulated broker fills at the invocation's time, so a local run
# that moves the clock builds a fresh set (in AWS the settings never change).
_cached: PerCredentials[ExecutionSettings, Dependencies] = PerCredentials(build, fingerprint=keys_in_use,
                                                                       maxsize=CACHED_CONTAINERS)


def dependencies(settings: ExecutionSettings) -> Dependencies:
    """Adapters once per container per configuration, with this invocation's settings."""
    return with_settings(_cached(settings), settings)


def clear_cache() -> None:
    """Forget every container's adapters (tests)."""
    _cached.clear()
