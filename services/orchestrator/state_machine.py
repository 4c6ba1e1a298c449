"""The workflow state machine: pure functions from (record, event, clock) to (new record, effects).

States and transitions
----------------------
    started -> signals -> planned -> (executed) -> completed
                                     |        \\-> failed | skipped
                                     \\-> settling -> completed | failed

- WorkflowStarted / SignalGenerated / RebalancePlanned record what they carry and move the status
  forward to started / signals / planned. The status only moves forward: a SignalGenerated that
  arrives after RebalancePlanned is recorded (the report needs its explanation) but leaves the
  status at planned. The first event seen for a correlation id opens the record, whatever it is.
- TradeExecuted records the execution (the `executed` step) and ends the workflow at once:
    success=True (status executed, partial or empty - an empty plan is "already balanced")
        -> completed; effects: publish WorkflowCompleted, store an equity snapshot, send the
           daily report (unless notify_on_completion is off);
    success=False with status market_closed
        -> skipped (step execution, the reason); effect: publish ErrorNotificationRequested
           (severity warning) - a skip is never quiet;
    status unsettled (some order's outcome unknown: the broker may hold it)
        -> settling, still open; effect: ErrorNotificationRequested (severity warning). Each stuck
           check looks the unknown orders up by client order id (settlement.py, commands.py); once all
           are found and final the workflow ends as an executed one (completed, or failed); still
           unsettled after `stuck_fail_after_minutes` -> failed, naming the orders to check;
    success=False otherwise
        -> failed (step execution); effects: publish WorkflowFailed, then
           ErrorNotificationRequested (caused by that WorkflowFailed).
- WorkflowFailed from a service -> failed at its step; effect: publish ErrorNotificationRequested.
- The scheduled stuck check (`fail_stuck`): an open workflow with no progress for longer than
  `stuck_after_minutes` -> a warning (ErrorNotificationRequested, severity warning, once per stall)
  naming the step it waits on and how to resume it; it stays open, because a run killed mid-plan
  is resumed by a DLQ redrive (or a rerun locally) and its orders must land on an open record.
  No progress for longer than `stuck_fail_after_minutes` -> failed at the step it waits on
  (started: strategy, signals: portfolio, planned: execution), error_type WorkflowStuck; effects:
  WorkflowFailed, ErrorNotificationRequested.
- completed / failed / skipped are final. A later event, or a replay, is recorded (in the event
  log, by the caller) and changes nothing: kind "late". An event already applied: "duplicate".
  Except one: a TradeExecuted that reports orders at the broker for a workflow already terminal
  means the broker and the record disagree (orders nobody was told about). That is never a quiet
  late line: kind "broker_disagrees", the workflow keeps its outcome, and the transition owes an
  ErrorNotificationRequested (critical) and counts ExecutionsAfterTerminal (an alarm).
  Replays of events that a still-open workflow has not applied are applied like any event: that is
  how an archive replay recovers a workflow whose event was dead-lettered.
- The orchestrator's own events (WorkflowCompleted, its WorkflowFailed, ErrorNotificationRequested)
  never reach this module: the caller records them and publishes nothing (see app.py).

Every published event is built with `DomainEvent.create(EventContext.caused_by(cause))`, so its id
is fixed by its cause; effects are stored on the record with the transition (see effects.py).

This module dispatches on the event's detail-type and handles the progress events itself: each is
kept on the record as its JSON (workflow_record.py), so a progress event builds no other event's model. The
terminal transitions (terminal.py: the events they publish, the snapshot, the report) are imported
when a workflow ends, once per workflow. What a transition is (`Transition`, `Options`, the record's
trading date and step timings) lives in transition.py, a leaf both modules import.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from services.orchestrator.transition import DEFAULT_OPTIONS, Options, Transition, trading_date_of
from services.orchestrator.workflow_record import PROGRESS_RANK, WorkflowRecord, WorkflowStatus

if TYPE_CHECKING:
    from shared.events import DomainEvent, TradeExecuted, WorkflowFailed

# detail-type -> (the record field that keeps it, the status it moves to, its step)
PROGRESS: dict[str, tuple[str, WorkflowStatus, str]] = {
    "WorkflowStarted": ("started", "started", "started"),
    "SignalGenerated": ("signals", "signals", "signals"),
    "RebalancePlanned": ("plan", "planned", "planned"),
}


def apply(record: WorkflowRecord | None, event: DomainEvent, *, now: datetime,
          options: Options = DEFAULT_OPTIONS) -> Transition:
    """Apply a progress event (not one of the orchestrator's own) to the workflow record."""
    detail_type = event.detail_type
    what = f"{detail_type} {event.event_id}"
    if record is not None and event.event_id in record.applied:
        return Transition("duplicate", None, False, f"{what} was already applied to workflow {record.correlation_id}")
    if record is not None and record.terminal:
        if detail_type == "TradeExecuted" and _reached_the_broker(event):
            from services.orchestrator import terminal

            return terminal.executed_after_terminal(_touch(record, event, now), cast("TradeExecuted", event), now)
        return Transition("late", None, False,
                          f"workflow {record.correlation_id} already {record.status}; {what} recorded without effect")
    if detail_type not in PROGRESS and detail_type not in ("TradeExecuted", "WorkflowFailed"):
        raise ValueError(f"{detail_type} is not a workflow progress event")
    created = record is None
    base = _touch(record or _open(event, now), event, now)
    if detail_type in PROGRESS:
        field, status, step = PROGRESS[detail_type]
        new = _progress(base, status, **{field: event.model_dump(mode="json"),
                                         "steps": {**base.steps, step: event.occurred_at}})
        new = new.model_copy(update={"trading_date": trading_date_of(new)})
        return Transition("recorded", new, created, f"{what} recorded; workflow {new.correlation_id} is {new.status}")
    from services.orchestrator import terminal  # the workflow ends: once per workflow

    if detail_type == "TradeExecuted":
        return terminal.executed(base, cast("TradeExecuted", event), now, options, created)
    return terminal.service_failed(base, cast("WorkflowFailed", event), now, created)


def _reached_the_broker(event: DomainEvent) -> bool:
    """Whether a TradeExecuted reports any order that exists at the broker (placed, adopted or filled)."""
    orders = getattr(event, "orders", ())
    return any(o.broker_order_id is not None or o.filled_qty > 0 for o in orders)


def fail_stuck(record: WorkflowRecord, *, now: datetime, after: timedelta,
               fail_after: timedelta | None = None) -> Transition | None:
    """Warn about, then fail, an open workflow that made no progress; None if there is nothing to do.

    No progress for longer than `after`: a warning (once per stall) that says how to resume it; the
    workflow stays open, so a DLQ redrive or a rerun can still finish it. No progress for longer
    than `fail_after` (None, or not longer than `after`: at once): failed at the step it waits on."""
    idle = now - record.last_progress_at
    if record.terminal or idle <= after:
        return None
    from services.orchestrator import terminal

    if fail_after is not None and fail_after > after and idle <= fail_after:
        if record.stuck_warned_at is not None:
            return None
        return terminal.stuck_warning(record, now, record.last_progress_at + fail_after)
    return terminal.stuck(record, now)


# ------------------------------------------------------------------ internals


def _open(event: DomainEvent, now: datetime) -> WorkflowRecord:
    mode = event.trading_mode or "paper"
    return WorkflowRecord(correlation_id=event.correlation_id, trading_mode=mode, status="started",
                          created_at=now, last_progress_at=now, last_event_id=event.event_id,
                          last_hop=event.hop_count)


def _touch(record: WorkflowRecord, event: DomainEvent, now: datetime) -> WorkflowRecord:
    return record.model_copy(update={
        "applied": (*record.applied, event.event_id),
        "last_progress_at": max(now, record.last_progress_at),
        "last_event_id": event.event_id,
        "last_hop": max(record.last_hop, event.hop_count),
        "stuck_warned_at": None,
    })


def _progress(record: WorkflowRecord, status: WorkflowStatus, **update: object) -> WorkflowRecord:
    if PROGRESS_RANK[status] > PROGRESS_RANK[record.status]:
        update["status"] = status
    return record.model_copy(update=update)
