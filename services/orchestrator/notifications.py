"""Exactly-once delivery of a notification: claim, send, mark delivered - or release and raise.

The claim is a Powertools idempotency record keyed on the notification's key (the event id of the
ErrorNotificationRequested or of the WorkflowCompleted it reports): the first delivery claims it
(conditional write) and sends; a repeat finds it delivered and sends nothing; a delivery while
another holds the claim raises IdempotencyAlreadyInProgressError (Lambda retries it later). If the
send fails, the claim is removed and the error is raised, so the retry sends it. A claim whose holder
died expires with that invocation's remaining time. The only window for a second message is a
crash between the notifier's acceptance and the claim being marked delivered.

Several channels (the email topic, an optional webhook): `Channels` delivers to each through its
own NotificationDelivery, whose claim key carries the channel name (the email's is the bare key),
so each channel gets the message exactly once: when the webhook fails after the email went out,
the retry finds the email's claim delivered and sends only the webhook.

Nothing here publishes an event: a failing notifier raises, and the function's retries, DLQ and
alarm take it (no error notification about an error notification).

Most invocations deliver nothing (a progress event, the stuck check), so dependencies.py builds the
delivery on first use: this module, the claims (Powertools idempotency on DynamoDB) and the notifier
(its SNS client) are loaded by the invocation that first delivers a notification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from services.orchestrator.ports import Notifier
    from services.orchestrator.workflow_record import Notification
    from shared.runtime.idempotency import IdempotentOperation


@dataclass(frozen=True)
class Delivered:
    message_id: str | None
    duplicate: bool


class Deliverer(Protocol):
    def deliver(self, notification: Notification, *, context: Any = None) -> Delivered:
        """Send `notification` once per key; `duplicate` when it was already delivered."""


class NotificationDelivery:
    def __init__(self, notifier: Notifier, claims: IdempotentOperation, *, channel: str | None = None) -> None:
        self.notifier, self.claims, self.channel = notifier, claims, channel

    def claim_key(self, notification: Notification) -> str:
        return notification.key if self.channel is None else f"{notification.key}#{self.channel}"

    def deliver(self, notification: Notification, *, context: Any = None) -> Delivered:
        def send() -> dict[str, Any]:
            return {"message_id": self.notifier.send(notification.subject, notification.message),
                    "kind": notification.kind}

        once = self.claims.run(self.claim_key(notification), send, context=context)
        message_id = once.result.get("message_id")
        return Delivered(message_id=str(message_id) if message_id else None, duplicate=once.duplicate)


class Channels:
    """Every channel, in order, each exactly once; the answer is the first channel's message id,
    a duplicate only when every channel had it already. A failing channel raises after the ones
    before it were delivered and marked, so the retry sends only what is still missing."""

    def __init__(self, deliveries: Sequence[Deliverer]) -> None:
        if not deliveries:
            raise ValueError("at least one notification channel is needed")
        self.deliveries = tuple(deliveries)

    def deliver(self, notification: Notification, *, context: Any = None) -> Delivered:
        results = [d.deliver(notification, context=context) for d in self.deliveries]
        return Delivered(message_id=results[0].message_id, duplicate=all(r.duplicate for r in results))
