"""The workflow state machine: pure functions from (record, event, clock) to (new record, effects).

States and transitions
----------------------
    started -> signals -> planned -> (executed) -> completed
                                              \\-> failed | skipped

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
    success=False otherwise
        -> failed (step execution); effects: publish WorkflowFailed, then
           ErrorNotificationRequested (caused by that WorkflowFailed).
- WorkflowFailed from a service -> failed at its step; effect: publish ErrorNotificationRequested.
- The scheduled stuck check (`fail_stuck`): an open workflow with no progress for longer than
  the threshold -> failed at the step it waits on (started: strategy, signals: portfolio,
  planned: execution), error_type WorkflowStuck; effects: WorkflowFailed, ErrorNotificationRequested.
- completed / failed / skipped are final. A later event, or a replay, is recorded (in the event
  log, by the caller) and changes nothing: kind "late". An event already applied: "duplicate".
  Replays of events that a still-open workflow has not applied are applied like any event: that is
  how an archive replay recovers a workflow whose event was dead-lettered.
- The orchestrator's own events (WorkflowCompleted, its WorkflowFailed, ErrorNotificationRequested)
  never reach this module: the caller records them and publishes nothing (see app.py).

Every published event is built with `DomainEvent.create(EventContext.caused_by(cause))`, so its id
is fixed by its cause; effects are stored on the record with the transition (see effects.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

from services.orchestrator import report
from services.orchestrator.record import (
    PROGRESS_RANK,
    WAITING_ON,
    Effect,
    EquitySnapshot,
    Failure,
    Notification,
    StrategyWeights,
    WorkflowRecord,
    WorkflowStatus,
)
from shared.events import (
    DomainEvent,
    ErrorNotificationRequested,
    EventContext,
    RebalancePlanned,
    SignalGenerated,
    TradeExecuted,
    WorkflowCompleted,
    WorkflowFailed,
    WorkflowStarted,
    WorkflowSummary,
)

NEW_YORK = ZoneInfo("America/New_York")
STEPS = ("started", "signals", "planned", "executed", "completed")

TransitionKind = Literal["recorded", "completed", "failed", "skipped", "duplicate", "late"]


@dataclass(frozen=True)
class Options:
    notify_on_completion: bool = True
    previous_snapshot: EquitySnapshot | None = None
    """The latest equity snapshot before this workflow's trading date (day P&L in the report)."""


@dataclass(frozen=True)
class Transition:
    kind: TransitionKind
    record: WorkflowRecord | None
    """The record to save; None when nothing changes (duplicate, late)."""
    created: bool
    message: str

    @property
    def ended(self) -> bool:
        return self.kind in ("completed", "failed", "skipped")


def apply(record: WorkflowRecord | None, event: DomainEvent, *, now: datetime,
          options: Options = Options()) -> Transition:
    """Apply a progress event (not one of the orchestrator's own) to the workflow record."""
    what = f"{event.detail_type} {event.event_id}"
    if record is not None and event.event_id in record.applied:
        return Transition("duplicate", None, False, f"{what} was already applied to workflow {record.correlation_id}")
    if record is not None and record.terminal:
        return Transition("late", None, False,
                          f"workflow {record.correlation_id} already {record.status}; {what} recorded without effect")
    created = record is None
    base = _touch(record or _open(event, now), event, now)
    if isinstance(event, WorkflowStarted):
        new = _progress(base, "started", started=event, steps={**base.steps, "started": event.occurred_at})
    elif isinstance(event, SignalGenerated):
        new = _progress(base, "signals", signals=event, steps={**base.steps, "signals": event.occurred_at})
    elif isinstance(event, RebalancePlanned):
        new = _progress(base, "planned", plan=event, steps={**base.steps, "planned": event.occurred_at})
    elif isinstance(event, TradeExecuted):
        return _executed(base, event, now, options, created)
    elif isinstance(event, WorkflowFailed):
        return _service_failed(base, event, now, created)
    else:
        raise ValueError(f"{event.detail_type} is not a workflow progress event")
    new = new.model_copy(update={"trading_date": trading_date_of(new)})
    return Transition("recorded", new, created, f"{what} recorded; workflow {new.correlation_id} is {new.status}")


def fail_stuck(record: WorkflowRecord, *, now: datetime, after: timedelta) -> Transition | None:
    """Fail an open workflow that made no progress for longer than `after`; None if it is not stuck."""
    if record.terminal or now - record.last_progress_at <= after:
        return None
    step = WAITING_ON[record.status]
    minutes = int((now - record.last_progress_at).total_seconds() // 60)
    ctx = EventContext(record.correlation_id, record.last_event_id, record.trading_mode, record.last_hop + 1)
    failed = WorkflowFailed.create(
        ctx, key="stuck", occurred_at=now, step=step, error_type="WorkflowStuck",
        reason=(f"no progress for {minutes} minutes: last step '{record.status}' at "
                f"{report.when(record.last_progress_at)}, still waiting for the {step} function"),
        details={"status": record.status, "last_event_id": record.last_event_id,
                 "last_progress_at": record.last_progress_at.isoformat()},
    )
    notice = _error_request(failed, now)
    new = _end(record, "failed", now, outcome=failed.event_id,
               failure=Failure(step=step, reason=failed.reason, error_type="WorkflowStuck"),
               pending=(_publish(failed), _publish(notice)))
    return Transition("failed", new, False, f"workflow {record.correlation_id} stuck at {step}: {failed.reason}")


def trading_date_of(record: WorkflowRecord) -> date | None:
    for source in (record.started, record.signals, record.plan):
        if source is not None:
            return source.trading_date
    if record.execution is not None:
        return record.execution.started_at.astimezone(NEW_YORK).date()
    return record.trading_date


def step_seconds(steps: dict[str, datetime]) -> dict[str, float]:
    """Seconds from the previous step to each step, for the steps whose predecessor was seen."""
    out: dict[str, float] = {}
    for previous, step in pairwise(STEPS):
        if previous in steps and step in steps:
            out[step] = round(max(0.0, (steps[step] - steps[previous]).total_seconds()), 3)
    return out


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
    })


def _progress(record: WorkflowRecord, status: WorkflowStatus, **update: object) -> WorkflowRecord:
    if PROGRESS_RANK[status] > PROGRESS_RANK[record.status]:
        update["status"] = status
    return record.model_copy(update=update)


def _end(record: WorkflowRecord, status: WorkflowStatus, now: datetime, *, outcome: str,
         failure: Failure | None, pending: tuple[Effect, ...]) -> WorkflowRecord:
    return record.model_copy(update={
        "status": status, "failure": failure, "outcome_event_id": outcome, "pending": pending,
        "steps": {**record.steps, status: now}, "trading_date": trading_date_of(record),
    })


def _publish(event: DomainEvent) -> Effect:
    return Effect(effect_id=f"publish:{event.event_id}", kind="publish", detail_type=event.detail_type,
                  detail=event.model_dump_json())


def _notify(notification: Notification) -> Effect:
    return Effect(effect_id=f"notify:{notification.key}", kind="notify", notification=notification)


def _error_request(failed: WorkflowFailed, now: datetime) -> ErrorNotificationRequested:
    return ErrorNotificationRequested.create(
        EventContext.caused_by(failed), occurred_at=now, error_type=failed.error_type,
        error_message=f"Workflow {failed.correlation_id} failed at {failed.step}: {failed.reason}",
        step=failed.step, severity="error", details={"failed_event_id": failed.event_id},
    )


def _service_failed(record: WorkflowRecord, event: WorkflowFailed, now: datetime, created: bool) -> Transition:
    notice = _error_request(event, now)
    new = _end(record, "failed", now, outcome=notice.event_id,
               failure=Failure(step=event.step, reason=event.reason, error_type=event.error_type,
                               event_id=event.event_id),
               pending=(_publish(notice),))
    return Transition("failed", new, created,
                      f"workflow {record.correlation_id} failed at {event.step}: {event.reason}")


def _executed(record: WorkflowRecord, event: TradeExecuted, now: datetime, options: Options,
              created: bool) -> Transition:
    record = record.model_copy(update={"execution": event, "steps": {**record.steps, "executed": event.occurred_at}})
    if event.success:
        return _complete(record, event, now, options, created)
    ctx = EventContext.caused_by(event)
    reason = event.reason or f"execution ended with status {event.status}"
    if event.status == "market_closed":
        notice = ErrorNotificationRequested.create(
            ctx, occurred_at=now, error_type="MarketClosed", step="execution", severity="warning",
            error_message=f"Workflow {event.correlation_id} skipped at execution: {reason}",
            details={"trade_executed_event_id": event.event_id, "plan_id": event.plan_id},
        )
        new = _end(record, "skipped", now, outcome=notice.event_id, pending=(_publish(notice),),
                   failure=Failure(step="execution", reason=reason, error_type="MarketClosed", event_id=event.event_id))
        return Transition("skipped", new, created, f"workflow {record.correlation_id} skipped: {reason}")
    error_type = "Execution" + event.status.title().replace("_", "")
    failed = WorkflowFailed.create(
        ctx, occurred_at=now, step="execution", reason=reason, error_type=error_type, failed_event_id=event.event_id,
        details={"plan_id": event.plan_id, "status": event.status, "kill_switch": event.kill_switch,
                 "orders_failed": str(event.totals.orders_failed)},
    )
    notice = _error_request(failed, now)
    new = _end(record, "failed", now, outcome=failed.event_id, pending=(_publish(failed), _publish(notice)),
               failure=Failure(step="execution", reason=reason, error_type=error_type, event_id=event.event_id))
    return Transition("failed", new, created, f"workflow {record.correlation_id} failed at execution: {reason}")


def _complete(record: WorkflowRecord, event: TradeExecuted, now: datetime, options: Options,
              created: bool) -> Transition:
    steps = {**record.steps, "completed": now}
    before = event.account_before.equity if event.account_before is not None else (
        record.plan.account.equity if record.plan is not None else None)
    after = event.account_after.equity if event.account_after is not None else None
    totals = event.totals
    summary = WorkflowSummary(orders_placed=totals.orders_placed, orders_filled=totals.orders_filled,
                              orders_failed=totals.orders_failed, turnover=totals.turnover,
                              equity_before=before, equity_after=after, step_seconds=step_seconds(steps))
    day = trading_date_of(record)
    completed = WorkflowCompleted.create(EventContext.caused_by(event), occurred_at=now, trading_date=day,
                                         plan_id=event.plan_id, summary=summary,
                                         started_at=record.steps.get("started"), completed_at=now)
    effects = [_publish(completed)]
    if after is not None and day is not None:
        effects.append(Effect(effect_id=f"snapshot:{record.correlation_id}", kind="snapshot",
                              snapshot=_snapshot(record, day, now, before, after)))
    ended = _end(record, "completed", now, outcome=completed.event_id, failure=None, pending=())
    if options.notify_on_completion:
        effects.append(_notify(report.daily_report(ended, completed, options.previous_snapshot)))
    new = ended.model_copy(update={"pending": tuple(effects)})
    return Transition("completed", new, created, f"workflow {record.correlation_id} completed")


def _snapshot(record: WorkflowRecord, day: date, now: datetime,
              before: Decimal | None, after: Decimal) -> EquitySnapshot:
    prices: dict[str, Decimal] = {}
    attribution: dict[str, Decimal] = {}
    if record.plan is not None:
        prices.update({o.symbol: o.reference_price for o in record.plan.orders})
        prices.update({p.symbol: p.price for p in record.plan.account.positions})
        for order in record.plan.orders:
            for name, dollars in order.attribution.items():
                attribution[name] = attribution.get(name, Decimal(0)) + dollars
    if record.execution is not None:
        prices.update({o.symbol: o.avg_fill_price for o in record.execution.orders if o.avg_fill_price is not None})
    strategies = {} if record.signals is None else {
        s.name: StrategyWeights(allocation=s.allocation, weights=dict(s.weights)) for s in record.signals.strategies}
    return EquitySnapshot(trading_mode=record.trading_mode, trading_date=day, correlation_id=record.correlation_id,
                          recorded_at=now, equity_before=before, equity_after=after, prices=prices,
                          strategies=strategies, attribution=attribution)
