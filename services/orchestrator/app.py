"""The orchestrator's use cases: track every workflow, end it, notify, answer commands.

What arrives (`Incoming`):
- a domain event through AllEventsToOrchestratorRule (every alchemiser.* event) and, for
  TradeExecuted, a second time through TradeExecutedRule: duplicates by design;
- a command (LambdaEvent): {"action": "pnl_analysis", ...}, {"action": "check_stuck_workflows"} or
  {"action": "test_notification"}
  (see commands.py). Trading runs ({"mode": "trade"}) belong to the strategy function.

For an event:
0. it must be one its producer recorded as published (shared/runtime/published_facts.py): the
   function named by its source recorded exactly this event (id and contents) for its workflow.
   Anything else - hand-made, edited, or a real event under another function's source - is
   refused: nothing recorded, applied, published or notified, the UnverifiedEvents metric (an
   alarm) and an error log line; a workflow never starts, moves or ends on such an event;
1. it is recorded in the event log once per event id (a replay is noted on the entry);
2. ErrorNotificationRequested is delivered exactly once (notifications.py) and nothing is published;
3. the orchestrator's own other events (WorkflowCompleted, its WorkflowFailed) are recorded and
   cause nothing;
4. any other event is applied to the workflow record (state_machine.py) in one conditional write with
   the effects it owes, which are then carried out (effects.py: why the order is crash-safe).

Responses: success (applied / delivered / recorded), duplicate (already applied or delivered; the
DuplicatesSuppressed metric), skipped (the workflow had already ended: recorded without effect),
failed (unverified: refused, error_type UnverifiedEvent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from services.orchestrator import state_machine
from services.orchestrator.dependencies import Dependencies
from services.orchestrator.effects import MAX_ATTEMPTS, ConcurrentUpdateError, Flushed
from services.orchestrator.invocation import count_transition, runner_for, snapshot_before
from services.orchestrator.transition import Options, Transition
from services.orchestrator.workflow_record import EquitySnapshot, EventEntry, WorkflowRecord
from shared.events.catalog import ORCHESTRATOR, SOURCE_OF
from shared.events.middleware import Incoming
from shared.events.responses import Status, handler_response
from shared.runtime import metric_names
from shared.runtime.clock import trading_date
from shared.runtime.observability import count, make_logger

if TYPE_CHECKING:
    from shared.events import DomainEvent, ErrorNotificationRequested, TradeExecuted

logger = make_logger("orchestrator")
OWN_SOURCE = SOURCE_OF[ORCHESTRATOR]


def handle(incoming: Incoming, deps: Dependencies, *, context: Any, metrics: Any = None) -> dict[str, Any]:
    if incoming.command is not None:
        from services.orchestrator.commands import handle_command  # the command paths only

        return handle_command(incoming.command, deps, context=context, metrics=metrics)
    if incoming.event is None:
        raise ValueError("nothing to handle: neither an event nor a command")
    return handle_event(incoming, deps, context=context, metrics=metrics)


def handle_event(incoming: Incoming, deps: Dependencies, *, context: Any, metrics: Any) -> dict[str, Any]:
    event = incoming.event
    assert event is not None
    delivery = incoming.delivery
    unverified = _unverified(event, delivery.source, deps)
    if unverified is not None:
        return _refuse_unverified(event, delivery.source, unverified, context, metrics)
    replay_names = (delivery.replay_name,) if delivery.is_replay and delivery.replay_name else ()
    first_sight = deps.store.record_event(EventEntry(
        correlation_id=event.correlation_id, event_id=event.event_id, detail_type=event.detail_type,
        source=delivery.source, occurred_at=event.occurred_at, received_at=deps.settings.now(),
        delivery=delivery.kind, hop_count=event.hop_count, envelope_id=delivery.envelope_id,
        replay_names=replay_names))
    extra = {"event_id": event.event_id, "detail_type": event.detail_type, "replay": delivery.is_replay}
    respond = _responder(event, context, extra)
    if event.detail_type == "ErrorNotificationRequested":
        from services.orchestrator.messages import workflow_messages  # the notification paths only

        notification = workflow_messages.error_notification(cast("ErrorNotificationRequested", event))
        delivered = deps.delivery.deliver(notification, context=context)
        if delivered.duplicate:
            count(metrics, metric_names.DUPLICATES_SUPPRESSED)
            return respond("duplicate", f"error notification {event.event_id} was already delivered")
        count(metrics, metric_names.NOTIFICATIONS_SENT)
        logger.info("error notification delivered", extra={"event_id": event.event_id,
                                                            "message_id": delivered.message_id})
        return respond("success", f"error notification {event.event_id} delivered",
                       notification_id=delivered.message_id)
    if delivery.source == OWN_SOURCE:
        if not first_sight:
            count(metrics, metric_names.DUPLICATES_SUPPRESSED)
            return respond("duplicate", f"{event.detail_type} {event.event_id} already recorded")
        return respond("success", f"{event.detail_type} {event.event_id} recorded (the orchestrator's own "
                                  "event causes nothing further)")
    return _advance(event, deps, context=context, metrics=metrics, respond=respond)


def _unverified(event: DomainEvent, source: str | None, deps: Dependencies) -> str | None:
    """None when the function that publishes with `source` recorded exactly `event`; else why not."""
    from shared.events.catalog import producer_of
    from shared.runtime.published_facts import verify

    try:
        producer = producer_of(source or "")
    except ValueError as exc:  # the middleware lets only a producer's source through; be sure anyway
        return str(exc)
    return verify(deps.facts, producer, event, event.event_id, event.correlation_id)


def _refuse_unverified(event: DomainEvent, source: str | None, why: str, context: Any, metrics: Any) -> dict[str, Any]:
    """Nothing recorded, applied, published or notified: the UnverifiedEvents alarm tells the operator."""
    count(metrics, metric_names.UNVERIFIED_EVENTS)
    logger.error("event refused: not what its producer published", extra={
        "event_id": event.event_id, "detail_type": event.detail_type, "source": source, "reason": why})
    return handler_response("failed", f"{event.detail_type} {event.event_id} refused, nothing done: {why}",
                            correlation_id=event.correlation_id, request_id=getattr(context, "aws_request_id", None),
                            event_id=event.event_id, detail_type=event.detail_type, error_type="UnverifiedEvent")


class Respond(Protocol):
    def __call__(self, status: Status, message: str, published: list[str] | None = None,
                 **more: Any) -> dict[str, Any]: ...


def _responder(event: DomainEvent, context: Any, extra: dict[str, Any]) -> Respond:
    def respond(status: Status, message: str, published: list[str] | None = None, **more: Any) -> dict[str, Any]:
        return handler_response(status, message, published=published or [], correlation_id=event.correlation_id,
                                request_id=getattr(context, "aws_request_id", None), **extra, **more)

    return respond


def _advance(event: DomainEvent, deps: Dependencies, *, context: Any, metrics: Any, respond: Respond) -> dict[str, Any]:
    store, settings = deps.store, deps.settings
    runner = runner_for(deps, context)
    transition: Transition | None = None
    for _ in range(MAX_ATTEMPTS):
        stored = store.load(event.correlation_id)
        record = stored.record if stored is not None else None
        options = Options(notify_on_completion=settings.notify_on_completion,
                          previous_snapshot=_previous_snapshot(deps, record, event))
        transition = state_machine.apply(record, event, now=settings.now(), options=options)
        if transition.record is None:
            break
        new = transition.record
        if new.pending:
            new = new.model_copy(update={"lease": runner.lease()})
        if store.save(new, expected_version=stored.version if stored is not None else 0):
            count_transition(metrics, transition, new, event)
            log = logger.warning if transition.kind in ("failed", "skipped") else logger.info
            log(transition.message, extra={"workflow_status": new.status, "event_id": event.event_id})
            break
    else:
        raise ConcurrentUpdateError(f"workflow {event.correlation_id} kept changing; retry")
    assert transition is not None
    flushed = runner.flush(event.correlation_id)
    if flushed.notified:
        count(metrics, metric_names.NOTIFICATIONS_SENT, flushed.notified)
    return _outcome(transition, flushed, respond, metrics)


def _outcome(transition: Transition, flushed: Flushed, respond: Respond, metrics: Any) -> dict[str, Any]:
    published = flushed.published
    if transition.kind == "duplicate":
        if flushed.anything:
            return respond("success", f"{transition.message}; carried out the effects an interrupted attempt "
                                      "left pending", published)
        count(metrics, metric_names.DUPLICATES_SUPPRESSED)
        busy = "; its effects are being carried out by another invocation" if flushed.busy else ""
        return respond("duplicate", transition.message + busy)
    if transition.kind == "late":
        return respond("success" if flushed.anything else "skipped", transition.message, published)
    if transition.kind == "broker_disagrees":
        return respond("failed", transition.message, published, workflow_status=transition.record.status
                       if transition.record is not None else None, notifications_sent=flushed.notified)
    record = transition.record
    assert record is not None
    return respond("success", transition.message, published, workflow_status=record.status,
                   notifications_sent=flushed.notified)


def _previous_snapshot(deps: Dependencies, record: WorkflowRecord | None, event: DomainEvent) -> EquitySnapshot | None:
    if event.detail_type != "TradeExecuted" or (record is not None and record.terminal):
        return None
    executed = cast("TradeExecuted", event)
    day = (record.trading_date if record is not None and record.trading_date is not None
           else trading_date(executed.started_at))
    mode = record.trading_mode if record is not None else executed.trading_mode
    return snapshot_before(deps.store, mode, day)
