"""Commands sent straight to the orchestrator (LambdaEvent): the stuck check and the P&L report.

- {"action": "check_stuck_workflows"} (an EventBridge Scheduler schedule): a workflow `settling` (an
  order's outcome unknown to execution) is first settled from the broker's book when every such order
  shows there, final (settlement.py), and ends as any executed workflow. Then every open workflow with
  no progress for longer than `stuck_after_minutes` gets one warning (ErrorNotificationRequested)
  with the command that resumes it, and stays open; after `stuck_fail_after_minutes` it is failed
  at the step it waits on, with a WorkflowFailed and one ErrorNotificationRequested. It also carries out effects that an
  interrupted invocation left pending (their lease expired): nothing owed is ever left behind.
- {"action": "pnl_analysis", "pnl_period": "1M", "pnl_type": "weekly", "pnl_periods": 4,
  "pnl_detailed": true} (console test): the P&L report, in the response.
- {"action": "test_notification"} (console test): one message to every notification channel, once per
  invocation (its request id is the claim). The way to check a subscription: an
  ErrorNotificationRequested put on the bus by hand is refused (app.py: only events their producer
  recorded are acted on), and a command comes only from a direct invocation or the Scheduler.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from services.orchestrator import state_machine
from services.orchestrator.dependencies import Dependencies
from services.orchestrator.effects import MAX_ATTEMPTS, EffectRunner
from services.orchestrator.invocation import count_transition, runner_for, snapshot_before
from services.orchestrator.transition import Options
from shared.events import LambdaEvent
from shared.events.responses import handler_response
from shared.runtime import metric_names
from shared.runtime.clock import trading_date
from shared.runtime.container_cache import OnFirstUse
from shared.runtime.observability import count, make_logger

if TYPE_CHECKING:
    from services.orchestrator import pnl
    from services.orchestrator.ports import OrderLookup

logger = make_logger("orchestrator")


CommandHandler = Callable[[LambdaEvent, Dependencies, Any, Any], dict[str, Any]]
"""(command, dependencies, Lambda context, metrics) -> the response."""


def handle_command(command: LambdaEvent, deps: Dependencies, *, context: Any, metrics: Any) -> dict[str, Any]:
    handler = COMMANDS.get(command.action or "")
    if handler is not None:
        return handler(command, deps, context, metrics)
    return handler_response(
        "failed",
        "the orchestrator takes {\"action\": \"pnl_analysis\"} (P&L report), {\"action\": "
        "\"check_stuck_workflows\"} or {\"action\": \"test_notification\"}; trading commands "
        "({\"mode\": \"trade\"}) go to the strategy function",
        correlation_id=command.correlation_id, request_id=getattr(context, "aws_request_id", None),
        mode=command.mode, action=command.action)


def _stuck_check_command(command: LambdaEvent, deps: Dependencies, context: Any, metrics: Any) -> dict[str, Any]:
    return check_stuck_workflows(deps, context=context, metrics=metrics)


def _pnl_command(command: LambdaEvent, deps: Dependencies, context: Any, metrics: Any) -> dict[str, Any]:
    return pnl_analysis(command, deps, request_id=getattr(context, "aws_request_id", None))


def check_stuck_workflows(deps: Dependencies, *, context: Any, metrics: Any) -> dict[str, Any]:
    settings = deps.settings
    now, after = settings.now(), timedelta(minutes=settings.stuck_after_minutes)
    fail_after = timedelta(minutes=settings.stuck_fail_after_minutes)
    runner = runner_for(deps, context)
    candidates = deps.store.open_workflows()  # an index, eventually consistent: each is re-read
    stuck: list[str] = []
    warned: list[str] = []
    recovered: list[str] = []
    published: list[str] = []
    errors: list[Exception] = []
    book = OnFirstUse(deps.orders)  # the broker's book (alpaca-py: ~0.5 s), built when a settling workflow needs it
    settled: list[str] = []
    for candidate in candidates:
        correlation_id = candidate.correlation_id
        try:
            if candidate.status == "settling" and _settle(deps, runner, correlation_id, book, metrics):
                settled.append(correlation_id)
            kind = _fail_if_stuck(deps, runner, correlation_id, now, after, fail_after, metrics)
            if kind == "failed":
                stuck.append(correlation_id)
            elif kind == "stuck_warned":
                warned.append(correlation_id)
            flushed = runner.flush(correlation_id)
        except Exception as exc:  # one workflow's trouble must not hide the others
            logger.exception("stuck check: workflow %s", correlation_id)
            errors.append(exc)
            continue
        published.extend(flushed.published)
        if flushed.notified:
            count(metrics, metric_names.NOTIFICATIONS_SENT, flushed.notified)
        if flushed.anything and correlation_id not in stuck + warned + settled:
            recovered.append(correlation_id)
    if errors:
        raise errors[0]
    message = (f"{len(candidates)} open workflow(s) checked; {len(settled)} settled from the broker's book; "
               f"{len(warned)} stuck (warned, still open, resumable); "
               f"{len(stuck)} stuck too long (failed); {len(recovered)} with pending effects carried out")
    return handler_response("success", message, published=published, correlation_id=None,
                            request_id=getattr(context, "aws_request_id", None), action="check_stuck_workflows",
                            checked=len(candidates), settled=settled, stuck=stuck, warned=warned, recovered=recovered,
                            stuck_after_minutes=settings.stuck_after_minutes,
                            stuck_fail_after_minutes=settings.stuck_fail_after_minutes)


def _fail_if_stuck(deps: Dependencies, runner: EffectRunner, correlation_id: str, now: Any, after: timedelta,
                   fail_after: timedelta, metrics: Any) -> str | None:
    """The transition the stuck check made ("stuck_warned" or "failed"), or None."""
    for _ in range(MAX_ATTEMPTS):
        stored = deps.store.load(correlation_id)
        if stored is None:
            return None
        transition = state_machine.fail_stuck(stored.record, now=now, after=after, fail_after=fail_after)
        if transition is None or transition.record is None:
            return None
        new = transition.record.model_copy(update={"lease": runner.lease()})
        if deps.store.save(new, expected_version=stored.version):
            if stored.record.stuck_warned_at is None:  # once per stall: at the warning, or at once failed
                count(metrics, metric_names.WORKFLOWS_STUCK)
            count_transition(metrics, transition, new)
            logger.warning(transition.message)
            return transition.kind
    return None


def _settle(deps: Dependencies, runner: EffectRunner, correlation_id: str, book: Callable[[], OrderLookup],
            metrics: Any) -> bool:
    """End a settling workflow from the broker's book (settlement.py); False while an order is not there yet."""
    from services.orchestrator import settlement, terminal
    from shared.broker.port import BrokerError

    now = deps.settings.now()
    for _ in range(MAX_ATTEMPTS):
        stored = deps.store.load(correlation_id)
        if stored is None or stored.record.status != "settling":
            return False
        try:
            execution = settlement.settle(stored.record, book(), now)
        except BrokerError as exc:  # the next check tries again; the stuck timing still applies
            logger.warning("settling workflow %s: the broker's book could not be read: %s", correlation_id, exc)
            return False
        if execution is None:
            return False
        record = stored.record
        options = Options(notify_on_completion=deps.settings.notify_on_completion,
                          previous_snapshot=None if record.trading_date is None else
                          snapshot_before(deps.store, record.trading_mode, record.trading_date))
        transition = terminal.settled(record, execution, now, options)
        assert transition.record is not None
        new = transition.record.model_copy(update={"lease": runner.lease()})
        if deps.store.save(new, expected_version=stored.version):
            count_transition(metrics, transition, new, execution)
            logger.warning("%s (settled from the broker's book)", transition.message)
            return True
    return False


def pnl_analysis(command: LambdaEvent, deps: Dependencies, *, request_id: str | None) -> dict[str, Any]:
    from services.orchestrator import pnl
    from services.orchestrator.messages import pnl_messages  # the P&L report only: the stuck check never loads it

    settings = deps.settings
    try:
        request = pnl.PnlRequest.of(period=command.pnl_period, pnl_type=command.pnl_type,
                                    periods=command.pnl_periods, detailed=bool(command.pnl_detailed))
        report = build_pnl_report(deps, request)
    except (ValueError, pnl.PnlUnavailable) as exc:
        return handler_response("failed", f"P&L report unavailable: {exc}", correlation_id=None,
                                request_id=request_id, mode="pnl_analysis", trading_mode=settings.trading_mode)
    return handler_response("success", pnl_messages.headline(report), correlation_id=None, request_id=request_id,
                            mode="pnl_analysis", trading_mode=settings.trading_mode,
                            report=pnl_messages.as_dict(report), text=pnl_messages.render(report))


def build_pnl_report(deps: Dependencies, request: pnl.PnlRequest) -> pnl.PnlReport:
    from services.orchestrator import pnl

    settings = deps.settings
    end = trading_date(settings.now())
    history = deps.history()
    points = history.daily_equity(period=request.period, end=end)
    snapshots = deps.store.snapshots(settings.trading_mode, pnl.period_start(request.period, end), end)
    return pnl.build_report(points, snapshots, request, source=history.source, trading_mode=settings.trading_mode,
                            end=end, tolerance=settings.equity_mismatch_tolerance)


def _test_notification_command(command: LambdaEvent, deps: Dependencies, context: Any, metrics: Any) -> dict[str, Any]:
    from services.orchestrator.messages.formatting import subject_line, when
    from services.orchestrator.workflow_record import Notification

    settings, request_id = deps.settings, getattr(context, "aws_request_id", None) or "local"
    notification = Notification(
        key=f"test:{request_id}", kind="report",
        subject=subject_line(f"Alchemiser [{settings.trading_mode}] test notification ({settings.stage})"),
        message=(f"A test notification of the Alchemiser's {settings.stage} stage ({settings.trading_mode}), sent "
                 f"{when(settings.now())} on request {request_id}: this channel receives the daily reports and the "
                 "error notifications.\n"))
    delivered = deps.delivery.deliver(notification, context=context)
    if not delivered.duplicate:
        count(metrics, metric_names.NOTIFICATIONS_SENT)
    already = "already " if delivered.duplicate else ""
    return handler_response("duplicate" if delivered.duplicate else "success", f"test notification {already}sent",
                            correlation_id=None, request_id=request_id, action="test_notification",
                            notification_id=delivered.message_id)


COMMANDS: dict[str, CommandHandler] = {
    "check_stuck_workflows": _stuck_check_command,
    "pnl_analysis": _pnl_command,
    "test_notification": _test_notification_command,
}
"""The command's action -> its handler; an action not in the table is answered "failed"."""
