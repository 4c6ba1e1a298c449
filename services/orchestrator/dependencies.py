"""Adapters for the orchestrator, built from settings once per container.

AWS: DynamoDBWorkflowStore on the WorkflowTable, SnsNotifier on the NotificationTopic, notification
claims as Powertools idempotency records in the IdempotencyTable (key prefix CLAIMS_OPERATION),
P&L from Alpaca (keys from Secrets Manager, read on first use). Local: the embedded store, the
local notifier, claims in the embedded store, P&L from our own snapshots.

The store and the workflow facts (what each function recorded as published: the orchestrator acts
only on an event its producer recorded, and records what it publishes) are built with the adapters
(every invocation uses them); the notification delivery (the notifier and the claims, with
Powertools idempotency) on the first notification, and the P&L history on the first P&L report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from services.orchestrator.settings import OrchestratorSettings
from services.orchestrator.workflow_record import RETENTION_DAYS
from shared.events.catalog import ORCHESTRATOR, SOURCE_OF
from shared.runtime.container_cache import OnFirstUse, PerCredentials, with_settings
from shared.runtime.settings import SettingsError

if TYPE_CHECKING:
    from services.orchestrator.notifications import Delivered, Deliverer
    from services.orchestrator.ports import Notifier, OrderLookup, PortfolioHistory, WorkflowStore
    from services.orchestrator.workflow_record import Notification
    from shared.events.publisher import EventPublisher
    from shared.runtime.published_facts import WorkflowFacts
    from shared.venues.alpaca.keys import AlpacaKeys

CLAIMS_OPERATION = "orchestrator-notify"
CACHED_CONTAINERS = 8


@dataclass(frozen=True)
class Dependencies:
    settings: OrchestratorSettings
    """This invocation's settings (its clock); the adapters below are shared by the container's invocations."""
    store: WorkflowStore
    facts: WorkflowFacts
    """What each function recorded as published (checked before any event is acted on), ours included
    (written by `publisher_for`'s publishers): shared/runtime/published_facts.py."""
    delivery: Deliverer
    publisher_for: Callable[[str], EventPublisher]
    """The publisher for one invocation (its request id names the local outbox)."""
    history: Callable[[], PortfolioHistory]
    """Built on first use: the Alpaca adapter reads a secret and imports alpaca-py."""
    orders: Callable[[], OrderLookup] = lambda: _no_broker()
    """The broker's book by client order id (settling unknown orders), built by the stuck check that needs it."""
    wall_clock: Callable[[], float] = time.time
    """Real time for leases (process liveness), not the business clock `settings.now()`."""


def build(settings: OrchestratorSettings) -> Dependencies:
    """Every adapter from `settings`: the store and the facts now, the delivery and the P&L history on first use."""
    from shared.runtime.published_facts import make_facts

    store: WorkflowStore
    if settings.local:
        from services.orchestrator.adapters.embedded_workflow_store import EmbeddedWorkflowStore

        store = EmbeddedWorkflowStore(settings.state_dir / "state.sqlite")
    else:
        if not settings.workflow_table or not settings.notification_topic_arn or not settings.idempotency_table:
            raise SettingsError("ALCHEMISER_WORKFLOW_TABLE, ALCHEMISER_NOTIFICATION_TOPIC_ARN and "
                                "ALCHEMISER_IDEMPOTENCY_TABLE are required in AWS")
        from services.orchestrator.adapters.dynamodb_workflow_store import DynamoDBWorkflowStore

        store = DynamoDBWorkflowStore(settings.workflow_table)
    facts = make_facts(local=settings.local, state_dir=settings.state_dir, table_name=settings.idempotency_table)
    return Dependencies(settings=settings, store=store, facts=facts, delivery=_DeliveryOnFirstUse(settings),
                        publisher_for=_publisher_on_first_use(settings, facts),
                        history=_history_on_first_use(settings, store), orders=lambda: order_lookup(settings))


def order_lookup(settings: OrchestratorSettings) -> OrderLookup:
    """The broker the stage trades on (Alpaca with the stage's secret in AWS; locally the run's broker), for
    looking orders up. Built anew by each stuck check that settles a workflow, so a rotated key is read."""
    from services.orchestrator.adapters.broker_order_lookup import order_lookup as build_lookup

    return build_lookup(settings)


def _no_broker() -> OrderLookup:
    raise RuntimeError("no broker configured for settling orders (Dependencies.orders)")


def keys_in_use(settings: OrchestratorSettings) -> str:
    """Always '': the one Alpaca client (the P&L history) is built on first use and rebuilt when the
    keys change by `_history_on_first_use`, so no event but a P&L report reads the secret."""
    return ""


# The clock is not part of the key: no adapter reads it, so a local run that moves the clock keeps
# its store; each invocation gets its own settings (its clock) back.
_cached: PerCredentials[OrchestratorSettings, Dependencies] = PerCredentials(
    build, fingerprint=keys_in_use, ignore={"as_of"}, maxsize=CACHED_CONTAINERS)


def dependencies(settings: OrchestratorSettings) -> Dependencies:
    """Adapters once per container per configuration, with this invocation's settings (its clock)."""
    return with_settings(_cached(settings), settings)


def clear_cache() -> None:
    """Forget every container's adapters (tests)."""
    _cached.clear()


def _publisher_on_first_use(settings: OrchestratorSettings, facts: WorkflowFacts) -> Callable[[str], EventPublisher]:
    """The publisher module loads on the first invocation that publishes (a progress event does not)."""

    def publisher_for(request_id: str) -> EventPublisher:
        from shared.events.publisher import publisher_factory

        return publisher_factory(settings, SOURCE_OF[ORCHESTRATOR], facts)(request_id)

    return publisher_for


class _DeliveryOnFirstUse:
    """The container's NotificationDelivery, built by the first notification (build_delivery)."""

    def __init__(self, settings: OrchestratorSettings) -> None:
        self._delivery = OnFirstUse(lambda: build_delivery(settings))

    def deliver(self, notification: Notification, *, context: Any = None) -> Delivered:
        return self._delivery().deliver(notification, context=context)


def build_delivery(settings: OrchestratorSettings) -> Deliverer:
    """The notifier and its exactly-once claims (notifications.py); plus the webhook, when configured."""
    from services.orchestrator.notifications import NotificationDelivery
    from shared.runtime.idempotency import IdempotentOperation, make_persistence

    notifier: Notifier
    if settings.local:
        from services.orchestrator.adapters.local_notifier import LocalNotifier

        notifier = LocalNotifier(settings.state_dir)
    else:
        from services.orchestrator.adapters.sns_notifier import SnsNotifier

        assert settings.notification_topic_arn is not None  # checked by build
        notifier = SnsNotifier(settings.notification_topic_arn)
    layer = make_persistence(table_name=settings.idempotency_table, state_dir=settings.state_dir, local=settings.local)
    claims = IdempotentOperation(CLAIMS_OPERATION, layer, expires_after_seconds=RETENTION_DAYS * 86400)
    email = NotificationDelivery(notifier, claims)
    if settings.local or not settings.webhook_secret_name:
        return email
    from services.orchestrator.adapters.webhook_notifier import WebhookNotifier, webhook_url_from_secret
    from services.orchestrator.notifications import Channels

    webhook = WebhookNotifier(webhook_url_from_secret(settings.webhook_secret_name))
    return Channels([email, NotificationDelivery(webhook, claims, channel="webhook")])


def _history_on_first_use(settings: OrchestratorSettings, store: WorkflowStore) -> Callable[[], PortfolioHistory]:
    """The P&L history, built on first use and again when the Alpaca keys change (a rotated secret,
    re-read by Powertools after its max age: shared/venues/key_rotation.py)."""

    def fingerprint() -> str:
        return _alpaca_keys(settings).fingerprint if settings.resolved_pnl_source != "local" else ""

    return OnFirstUse(lambda: build_history(settings, store), version=fingerprint)


def _alpaca_keys(settings: OrchestratorSettings) -> AlpacaKeys:
    from services.orchestrator.pnl import PnlUnavailable
    from shared.broker.port import CredentialsError
    from shared.venues.alpaca.keys import keys_for

    if not settings.local and not settings.alpaca_secret_name:
        raise PnlUnavailable("P&L from Alpaca needs ALCHEMISER_ALPACA_SECRET_NAME (or ALCHEMISER_PNL_SOURCE=local)")
    try:
        return keys_for(settings)
    except CredentialsError as exc:
        raise PnlUnavailable(str(exc)) from exc


def build_history(settings: OrchestratorSettings, store: WorkflowStore) -> PortfolioHistory:
    if settings.resolved_pnl_source == "local":
        from services.orchestrator.adapters.snapshot_portfolio_history import SnapshotPortfolioHistory

        return SnapshotPortfolioHistory(store, settings.trading_mode)
    from services.orchestrator.adapters.alpaca_portfolio_history import AlpacaPortfolioHistory

    return AlpacaPortfolioHistory(_alpaca_keys(settings), trading_url=settings.alpaca_trading_url)
