"""The terminal transitions of a workflow (see state_machine.py): completed, failed, skipped, stuck.

Imported by state_machine.py when a workflow ends - once per workflow, never for a progress event. Each
transition builds the models of the events it publishes (WorkflowCompleted, WorkflowFailed,
ErrorNotificationRequested) where it creates them, and the completion reads the record's events
typed (`RecordedEvents`: the plan and the signals are validated back from their JSON here) for the
summary, the equity snapshot and the daily report.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from services.orchestrator.messages import workflow_messages
from services.orchestrator.messages.formatting import when
from services.orchestrator.recorded_events import RecordedEvents
from services.orchestrator.transition import Options, Transition, step_seconds, trading_date_of
from services.orchestrator.workflow_record import (
    WAITING_ON,
    Effect,
    EquitySnapshot,
    Failure,
    Notification,
    StrategyWeights,
    WorkflowRecord,
    WorkflowStatus,
)
from shared.events.base import MAX_HOPS, EventContext

if TYPE_CHECKING:
    from shared.events import DomainEvent, ErrorNotificationRequested, TradeExecuted, WorkflowFailed


def _check_hop(record: WorkflowRecord) -> int:
    """The hop of the stuck check's first event: after the record's last, but never so deep that the
    notification it causes (one more hop) is refused by the hop limit: a workflow stopped by the
    limit must still be able to tell someone."""
    return min(record.last_hop + 1, MAX_HOPS - 1)


def stuck(record: WorkflowRecord, now: datetime) -> Transition:
    """Fail `record` (open, and found stuck by state_machine.fail_stuck) at the step it waits on."""
    from shared.events.workflow_failed import WorkflowFailed

    step = WAITING_ON[record.status]
    minutes = int((now - record.last_progress_at).total_seconds() // 60)
    ctx = EventContext(record.correlation_id, record.last_event_id, record.trading_mode, _check_hop(record))
    waiting = (f"still waiting for the {step} function" if record.status != "settling" else
               f"the outcome of orders {', '.join(_unknown_ids(record))} is still unknown at the broker: check "
               "them in the account by client order id")
    failed = WorkflowFailed.create(
        ctx, key="stuck", occurred_at=now, step=step, error_type="WorkflowStuck",
        reason=(f"no progress for {minutes} minutes: last step '{record.status}' at "
                f"{when(record.last_progress_at)}, {waiting}"),
        details={"status": record.status, "last_event_id": record.last_event_id,
                 "last_progress_at": record.last_progress_at.isoformat()},
    )
    notice = _error_request(failed, now)
    new = _end(record, "failed", now, outcome=failed.event_id,
               failure=Failure(step=step, reason=failed.reason, error_type="WorkflowStuck"),
               pending=(_publish(failed), _publish(notice)))
    return Transition("failed", new, False, f"workflow {record.correlation_id} stuck at {step}: {failed.reason}")


def executed_after_terminal(record: WorkflowRecord, event: TradeExecuted, now: datetime) -> Transition:
    """Orders reached the broker for a workflow already ended (see state_machine.py): alarm and notify, loudly."""
    from shared.events.error_notification_requested import ErrorNotificationRequested

    at_broker = [o for o in event.orders if o.broker_order_id is not None or o.filled_qty > 0]
    summary = ", ".join(f"{o.side} {o.symbol} {o.status}" for o in at_broker[:10])
    more = f" and {len(at_broker) - 10} more" if len(at_broker) > 10 else ""
    message = (f"Workflow {record.correlation_id} was already {record.status}, but plan {event.plan_id} then reached "
               f"the broker: {len(at_broker)} orders ({summary}{more}). The broker and the workflow's record "
               "disagree: check the account now.")
    notice = ErrorNotificationRequested.create(
        EventContext.caused_by(event), key="after-terminal", occurred_at=now, error_type="ExecutionAfterTerminal",
        error_message=message, step="execution", severity="critical",
        details={"trade_executed_event_id": event.event_id, "plan_id": event.plan_id,
                 "workflow_status": record.status, "orders_at_broker": str(len(at_broker))},
    )
    new = record.model_copy(update={"pending": (*record.pending, _publish(notice))})
    return Transition("broker_disagrees", new, False, message)


RESUME_HOW = ("to resume it, redrive the dead-letter queue once the function's in-progress record has expired "
              "(its timeout): `alchemiser dlq redrive --stage <stage> --all`; locally, rerun the day: "
              "`alchemiser run --as-of {day}`. Execution looks every order up and places only what is missing")


def stuck_warning(record: WorkflowRecord, now: datetime, fails_at: datetime) -> Transition:
    """Warn that `record` (open) made no progress; it stays open so that it can be resumed."""
    from shared.events.error_notification_requested import ErrorNotificationRequested

    step = WAITING_ON[record.status]
    minutes = int((now - record.last_progress_at).total_seconds() // 60)
    ctx = EventContext(record.correlation_id, record.last_event_id, record.trading_mode, _check_hop(record))
    day = record.trading_date.isoformat() if record.trading_date is not None else "<trading date>"
    how = RESUME_HOW.format(day=day) if record.status != "settling" else (
        f"the stuck check keeps looking up orders {', '.join(_unknown_ids(record))} at the broker until they "
        "show (check them in the account)")
    message = (f"Workflow {record.correlation_id} has made no progress for {minutes} minutes: last step "
               f"'{record.status}' at {when(record.last_progress_at)}, waiting for the {step} function. It stays "
               f"open; {how}. If nothing moves it is failed at {when(fails_at)}.")
    notice = ErrorNotificationRequested.create(
        ctx, key=f"stuck-warning:{record.last_event_id}", occurred_at=now, error_type="WorkflowStuck",
        error_message=message, step=step, severity="warning",
        details={"status": record.status, "last_event_id": record.last_event_id, "fails_at": fails_at.isoformat()},
    )
    new = record.model_copy(update={"stuck_warned_at": now, "pending": (*record.pending, _publish(notice))})
    return Transition("stuck_warned", new, False, message)


def service_failed(record: WorkflowRecord, event: WorkflowFailed, now: datetime, created: bool) -> Transition:
    notice = _error_request(event, now)
    new = _end(record, "failed", now, outcome=notice.event_id,
               failure=Failure(step=event.step, reason=event.reason, error_type=event.error_type,
                               event_id=event.event_id),
               pending=(_publish(notice),))
    return Transition("failed", new, created,
                      f"workflow {record.correlation_id} failed at {event.step}: {event.reason}")


def executed(record: WorkflowRecord, event: TradeExecuted, now: datetime, options: Options,
             created: bool) -> Transition:
    record = record.model_copy(update={"execution": event.model_dump(mode="json"),
                                       "steps": {**record.steps, "executed": event.occurred_at}})
    if event.status == "unsettled":
        return _settling(record, event, now, created)
    if event.success:
        return _complete(record, event, now, options, created)
    from shared.events.error_notification_requested import ErrorNotificationRequested
    from shared.events.workflow_failed import WorkflowFailed

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
    new = _end(record, "failed", now, outcome=failed.event_id,
               pending=(_publish(failed), _publish(notice), *_limit_snapshot(record, event, now)),
               failure=Failure(step="execution", reason=reason, error_type=error_type, event_id=event.event_id))
    return Transition("failed", new, created, f"workflow {record.correlation_id} failed at execution: {reason}")


def _settling(record: WorkflowRecord, event: TradeExecuted, now: datetime, created: bool) -> Transition:
    """Some order's outcome is unknown: the workflow stays open (settlement.py) and the user is told at once."""
    from shared.events.error_notification_requested import ErrorNotificationRequested

    unknown = [o for o in event.orders if o.status == "unknown"]
    names = ", ".join(f"{o.side} {o.symbol} ({o.client_order_id})" for o in unknown[:10])
    message = (f"Workflow {record.correlation_id}: the outcome of {len(unknown)} order(s) is unknown ({names}): the "
               "broker may hold them. The workflow stays open; the stuck check settles it from the broker's book "
               "by client order id, then completes or fails it.")
    notice = ErrorNotificationRequested.create(
        EventContext.caused_by(event), key="unsettled", occurred_at=now, error_type="ExecutionUnsettled",
        error_message=message, step="execution", severity="warning",
        details={"trade_executed_event_id": event.event_id, "plan_id": event.plan_id,
                 "orders_unknown": str(len(unknown))})
    new = record.model_copy(update={"status": "settling", "pending": (*record.pending, _publish(notice))})
    return Transition("recorded", new, created, message)


def settled(record: WorkflowRecord, event: TradeExecuted, now: datetime, options: Options) -> Transition:
    """A settling workflow's execution, settled from the broker's book (settlement.py): it ends as executed."""
    return executed(record, event, now, options, created=False)


# ------------------------------------------------------------------ internals


def _unknown_ids(record: WorkflowRecord) -> list[str]:
    from services.orchestrator.settlement import unknown_orders

    return unknown_orders(record)[:10]


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
    from shared.events.error_notification_requested import ErrorNotificationRequested

    return ErrorNotificationRequested.create(
        EventContext.caused_by(failed), occurred_at=now, error_type=failed.error_type,
        error_message=f"Workflow {failed.correlation_id} failed at {failed.step}: {failed.reason}",
        step=failed.step, severity="error", details={"failed_event_id": failed.event_id},
    )


def _complete(record: WorkflowRecord, event: TradeExecuted, now: datetime, options: Options,
              created: bool) -> Transition:
    from shared.events.workflow_completed import WorkflowCompleted, WorkflowSummary

    events = RecordedEvents(record, execution=event)
    steps = {**record.steps, "completed": now}
    before = event.account_before.equity if event.account_before is not None else (
        events.plan.account.equity if events.plan is not None else None)
    after = event.account_after.equity if event.account_after is not None else None
    totals = event.totals
    summary = WorkflowSummary(orders_at_broker=totals.orders_at_broker, orders_placed_now=totals.orders_placed_now,
                              orders_adopted=totals.orders_adopted, orders_filled=totals.orders_filled,
                              orders_failed=totals.orders_failed, turnover=totals.turnover,
                              equity_before=before, equity_after=after, step_seconds=step_seconds(steps))
    day = trading_date_of(record)
    completed = WorkflowCompleted.create(EventContext.caused_by(event), occurred_at=now, trading_date=day,
                                         plan_id=event.plan_id, summary=summary,
                                         started_at=record.steps.get("started"), completed_at=now)
    effects = [_publish(completed)]
    if after is not None and day is not None:
        effects.append(Effect(effect_id=f"snapshot:{record.correlation_id}", kind="snapshot",
                              snapshot=_snapshot(record, events, day, now, before, after)))
    ended = _end(record, "completed", now, outcome=completed.event_id, failure=None, pending=())
    if options.notify_on_completion:
        effects.append(_notify(workflow_messages.daily_report(ended, events, completed, options.previous_snapshot)))
    new = ended.model_copy(update={"pending": tuple(effects)})
    return Transition("completed", new, created, f"workflow {record.correlation_id} completed")


def _limit_snapshot(record: WorkflowRecord, event: TradeExecuted, now: datetime) -> tuple[Effect, ...]:
    """A day a limit refused still has an equity (the plan's: nothing traded), so the P&L report shows the day
    and says which limit stopped it."""
    plan, day = RecordedEvents(record, execution=event).plan, trading_date_of(record)
    if not event.limit_bindings or plan is None or day is None:
        return ()
    equity = plan.account.equity
    snapshot = EquitySnapshot(trading_mode=record.trading_mode, trading_date=day, correlation_id=record.correlation_id,
                              recorded_at=now, equity_before=equity, equity_after=equity,
                              prices={p.symbol: p.price for p in plan.account.positions},
                              limits=tuple(b.line() for b in event.limit_bindings))
    return (Effect(effect_id=f"snapshot:{record.correlation_id}", kind="snapshot", snapshot=snapshot),)


def _snapshot(record: WorkflowRecord, events: RecordedEvents, day: date, now: datetime,
              before: Decimal | None, after: Decimal) -> EquitySnapshot:
    prices: dict[str, Decimal] = {}
    attribution: dict[str, Decimal] = {}
    plan, execution, signals = events.plan, events.execution, events.signals
    if plan is not None:
        prices.update({o.symbol: o.reference_price for o in plan.orders})
        prices.update({p.symbol: p.price for p in plan.account.positions})
        for order in plan.orders:
            for name, dollars in order.attribution.items():
                attribution[name] = attribution.get(name, Decimal(0)) + dollars
    if execution is not None:
        prices.update({o.symbol: o.avg_fill_price for o in execution.orders if o.avg_fill_price is not None})
    strategies = {} if signals is None else {
        s.name: StrategyWeights(allocation=s.allocation, weights=dict(s.weights)) for s in signals.strategies}
    limits = () if execution is None else tuple(b.line() for b in execution.limit_bindings)
    return EquitySnapshot(trading_mode=record.trading_mode, trading_date=day, correlation_id=record.correlation_id,
                          recorded_at=now, equity_before=before, equity_after=after, prices=prices,
                          strategies=strategies, attribution=attribution, limits=limits)
