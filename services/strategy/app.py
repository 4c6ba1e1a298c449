"""The strategy use cases: a command (LambdaEvent) in -> the day's run started, or signals shown.

`mode: "trade"` (`start_trading_day`), in this order:
1. a command with `action` set belongs to the orchestrator: `failed`, nothing done;
2. the trading date is the clock's New York date; no session that day -> `skipped` with the
   reason ("market closed on 2026-11-26 (Thursday): holiday"), nothing published;
3. the workflow id is the command's `correlation_id`, else `run-<date>-<mode>`;
4. once per workflow id (idempotency record): a repeat is `duplicate` and publishes nothing;
5. load the portfolio, read one price history for all its symbols ending on the previous
   session (see run_rules.py), refuse stale data, evaluate every strategy on one indicator
   cache, net them;
6. publish WorkflowStarted then SignalGenerated (one call, in that order) -> `success`.
A strategy, portfolio-file or market-data problem, or stale data, ends the run failed: it
publishes WorkflowStarted + WorkflowFailed(step "strategy") and answers `failed`; that answer is
stored like a success, so a redelivery is a duplicate. Infrastructure errors (the bus, the
broker's calendar, the network, the secret) raise: the idempotency record is released and
Lambda retries; a retry republishes the same event ids (causation = the command's id).

`mode: "signal"` (`signal_only`): the same evaluation on the same data, returned with its
explanation; no idempotency, nothing published, and it answers on non-trading days too.

`mode: "plan"` (`plan_only`): the strategy side of today's run, dry: whether a workflow would start
(trading day, near-close timing) and with which id, the signals and target weights, the data's
freshness, the session's hours, the limits the workflow would carry. No idempotency record, no
workflow fact, nothing published.
Order sizes need the account and the portfolio planner (the portfolio function's code):
`alchemiser plan --broker alpaca --data alpaca` prints them, with the kill switch.

This module holds the use cases only; the evaluation is signals.py (`evaluate_signals`), which
errors fail closed is failures.py (`failure_of`), and the events a run publishes are events.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from services.strategy.dependencies import Dependencies
from services.strategy.events import Run, fitted_signal_event, started_event
from services.strategy.failures import Failure, failure_of
from services.strategy.portfolio_config import StrategyPortfolio
from services.strategy.run_rules import (
    clock_detail,
    closed_reason,
    command_id,
    command_moment,
    data_session,
    freshness_check,
    run_correlation_id,
    trading_day_check,
    trigger_of,
)
from services.strategy.settings import StrategySettings
from services.strategy.signals import Signals, evaluate_signals, weight_strings
from shared.events.base import EventContext
from shared.events.lambda_event import LambdaEvent
from shared.events.middleware import Incoming
from shared.events.publisher import EventTooLargeError
from shared.events.responses import Status, handler_response
from shared.marketdata.port import Session
from shared.runtime import metric_names
from shared.runtime.clock import trading_date
from shared.runtime.observability import count, make_logger

logger = make_logger("strategy")

ORCHESTRATOR_FUNCTION = "alchemiser-orchestrator-{stage}"


# ---------------------------------------------------------------------------------------- responses


def respond(status: Status, mode: str, settings: StrategySettings, message: str, *, request_id: str | None,
            correlation_id: str | None, published: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    """The console's fields first (status, mode, trading_mode, message), then the common ones."""
    body = handler_response(status, message, published=published, correlation_id=correlation_id,
                            request_id=request_id, **extra)
    return {"status": status, "mode": mode, "trading_mode": settings.trading_mode, **body}


def handle(incoming: Incoming, deps: Dependencies, *, context: Any, metrics: Any = None) -> dict[str, Any]:
    command = _command(incoming)
    request_id = getattr(context, "aws_request_id", None)
    settings = deps.settings
    if command.action is not None:
        function = ORCHESTRATOR_FUNCTION.format(stage=settings.stage)
        message = (f"action '{command.action}' is handled by the orchestrator function ({function}), not by the "
                   "strategy function; nothing was done")
        logger.warning(message)
        return respond("failed", command.mode, settings, message, request_id=request_id,
                       correlation_id=command.correlation_id)
    return MODES[command.mode](incoming, deps, context=context, metrics=metrics)


# ---------------------------------------------------------------------------------------- trade


def near_close(settings: StrategySettings, session: Session | None, now: datetime) -> tuple[str | None, Session | None]:
    """Composer's timing (`evaluation_timing = "near-close"`): (why this firing is skipped, or None;
    the session whose latest trades are today's bar, or None). Previous-close timing: (None, None)."""
    if settings.evaluation_timing != "near-close" or session is None or now >= session.close:
        return None, None
    from datetime import timedelta

    decide = session.close - timedelta(minutes=settings.near_close_minutes)
    if now < decide - timedelta(minutes=settings.near_close_window_minutes):
        from shared.runtime.clock import NEW_YORK

        close = session.close.astimezone(NEW_YORK)
        return (f"near-close timing: today's run decides at {decide.astimezone(NEW_YORK):%H:%M} New York, "
                f"{settings.near_close_minutes} minutes before the {close:%H:%M} close; this firing at "
                f"{now.astimezone(NEW_YORK):%H:%M} is early"), None
    return None, session


def start_trading_day(incoming: Incoming, deps: Dependencies, *, context: Any, metrics: Any = None) -> dict[str, Any]:
    command, request_id = _command(incoming), getattr(context, "aws_request_id", None)
    settings = deps.settings
    now = settings.now()
    day = trading_date(now)
    session = deps.calendar.session(day)
    if session is None:
        reason = closed_reason(day)
        count(metrics, metric_names.WORKFLOWS_SKIPPED)
        logger.info("no trading session today; no workflow started", extra={"reason": reason})
        return respond("skipped", "trade", settings, f"{reason}; no workflow started, nothing published",
                       request_id=request_id, correlation_id=command.correlation_id,
                       trading_date=day.isoformat(), reason=reason)
    early, today = near_close(settings, session, now)
    if early is not None:
        logger.info("near-close timing: not yet", extra={"reason": early})
        return respond("skipped", "trade", settings, f"{early}; no workflow started, nothing published",
                       request_id=request_id, correlation_id=command.correlation_id,
                       trading_date=day.isoformat(), reason=early)
    previous = data_session(deps.calendar, command_moment(incoming.delivery.time, now))
    correlation_id = command.correlation_id or run_correlation_id(day, settings.trading_mode)
    cause = command_id(incoming.delivery.envelope_id, request_id)
    run = Run(correlation_id, EventContext.for_command(correlation_id, cause, settings.trading_mode),
              trigger_of(incoming.delivery.kind), day, previous.date, now, request_id, today)
    once = deps.idempotency.run(correlation_id, lambda: run_workflow(run, deps, metrics), context=context)
    if not once.duplicate:
        return once.result
    return _duplicate(run, once.result, settings, metrics)


def _duplicate(run: Run, first: dict[str, Any], settings: StrategySettings, metrics: Any) -> dict[str, Any]:
    count(metrics, metric_names.DUPLICATES_SUPPRESSED)
    first_status = first.get("status", "unknown")
    logger.info("this workflow was already started; nothing republished",
                extra={"correlation_id": run.correlation_id, "first_status": first_status,
                       "first_request_id": first.get("request_id")})
    return respond(
        "duplicate", "trade", settings,
        f"workflow {run.correlation_id} was already started ({first_status}: {first.get('message', '')}); "
        "nothing published. To start another run, send a command with its own correlation_id.",
        request_id=run.request_id, correlation_id=first.get("correlation_id") or run.correlation_id,
        trading_date=first.get("trading_date", run.day.isoformat()), first_status=first_status,
        first_request_id=first.get("request_id"),
    )


def run_workflow(run: Run, deps: Dependencies, metrics: Any = None) -> dict[str, Any]:
    """Steps 5 and 6 of the module docstring: the effect, run once per workflow id."""
    portfolio: StrategyPortfolio | None = None
    try:
        portfolio = deps.portfolio()
        signals = evaluate_signals(portfolio, deps.market_data, run.data_day, today=run.today, latest_at=run.now)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            raise
        return _fail_closed(run, failure, portfolio, deps)
    _record_evaluation(metrics, signals)
    settings = deps.settings
    started = started_event(run, signals.portfolio, settings)
    signal = fitted_signal_event(run, signals, settings.max_explanation_lines,
                                 settings.limits_for(signals.portfolio.limits))
    try:
        published = deps.publisher_for(run.request_id or run.correlation_id).publish([started, signal])
    except EventTooLargeError as exc:
        return _fail_closed(run, Failure("SignalTooLarge", f"SignalGenerated does not fit in one event: {exc}"),
                            signals.portfolio, deps)
    count(metrics, metric_names.SIGNALS_GENERATED)
    weights = signals.weights
    logger.info("signal published", extra={"correlation_id": run.correlation_id,
                                           "data_as_of": signals.data_as_of.isoformat(),
                                           "target_weights": weight_strings(weights),
                                           "strategies": len(signals.outcomes)})
    title = "Live" if settings.trading_mode == "live" else "Paper"
    message = (f"{title} trading workflow {run.correlation_id} started: {len(signals.outcomes)} strategies → "
               f"{len(weights)} symbols on {signals.data_through}; signal published")
    return respond("success", "trade", settings, message, request_id=run.request_id,
                   correlation_id=run.correlation_id, published=published, trading_date=run.day.isoformat(),
                   data_as_of=signals.data_as_of.isoformat(), target_weights=weight_strings(weights),
                   event_ids={"WorkflowStarted": started.event_id, "SignalGenerated": signal.event_id})


def _record_evaluation(metrics: Any, signals: Signals) -> None:
    if metrics is not None:
        metrics.add_metric(name=metric_names.STRATEGY_EVALUATION_MS, unit=MetricUnit.Milliseconds,
                           value=round(signals.evaluation_ms, 3))


def _fail_closed(run: Run, failure: Failure, portfolio: StrategyPortfolio | None,
                 deps: Dependencies) -> dict[str, Any]:
    """Publish WorkflowStarted + WorkflowFailed with the reason; nothing else happens today."""
    from shared.events.workflow_failed import WorkflowFailed  # the failure path only

    settings = deps.settings
    started = started_event(run, portfolio, settings)
    failed = WorkflowFailed.create(run.context, occurred_at=run.now, step="strategy", reason=failure.reason,
                                   error_type=failure.error_type, details=dict(failure.details))
    published = deps.publisher_for(run.request_id or run.correlation_id).publish([started, failed])
    logger.warning("workflow failed at the strategy step",
                   extra={"correlation_id": run.correlation_id, "error_type": failure.error_type,
                          "reason": failure.reason})
    return respond("failed", "trade", settings, f"workflow {run.correlation_id} failed: {failure.reason}",
                   request_id=run.request_id, correlation_id=run.correlation_id, published=published,
                   trading_date=run.day.isoformat(), error_type=failure.error_type, reason=failure.reason)


# ---------------------------------------------------------------------------------------- signal only


def signal_only(incoming: Incoming, deps: Dependencies, *, context: Any, metrics: Any = None) -> dict[str, Any]:
    """Evaluate as today's run would (any day), publish nothing."""
    command, request_id = _command(incoming), getattr(context, "aws_request_id", None)
    settings = deps.settings
    now = settings.now()
    day = trading_date(now)
    data_day = data_session(deps.calendar, now).date
    _, today = near_close(settings, deps.calendar.session(day), now)
    try:
        signals = evaluate_signals(deps.portfolio(), deps.market_data, data_day, today=today, latest_at=now)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            raise
        return respond("failed", "signal", settings, failure.reason, request_id=request_id,
                       correlation_id=command.correlation_id, error_type=failure.error_type,
                       trading_date=day.isoformat())
    _record_evaluation(metrics, signals)
    body = signals.as_dict(settings.max_explanation_lines)
    message = (f"Signal only (nothing published): {len(signals.outcomes)} strategies → {len(signals.weights)} "
               f"symbols on {signals.data_through}")
    return respond("success", "signal", settings, message, request_id=request_id,
                   correlation_id=command.correlation_id, trading_date=day.isoformat(), **body)


# ---------------------------------------------------------------------------------------- plan (dry run)

PLAN_SIZING = ("order sizes need the account and the portfolio planner (the portfolio function): run "
               "`alchemiser plan --broker alpaca --data alpaca` for target vs current per symbol, the orders "
               "with their sizes, what is skipped, buying power net of open orders and the kill switch")


def plan_only(incoming: Incoming, deps: Dependencies, *, context: Any, metrics: Any = None) -> dict[str, Any]:
    """What `mode: "trade"` would do now, without doing any of it (see the module docstring)."""
    command, request_id = _command(incoming), getattr(context, "aws_request_id", None)
    settings = deps.settings
    now = settings.now()
    day = trading_date(now)
    session = deps.calendar.session(day)
    data_day = data_session(deps.calendar, now).date
    early, today = near_close(settings, session, now)
    would_start = session is not None and early is None
    checks: list[dict[str, Any]] = [
        trading_day_check(session, day, now),
        {"check": "market clock", "ok": session is not None and session.open <= now < session.close,
         "detail": clock_detail(session, now)},
    ]
    if early is not None:
        checks.append({"check": "evaluation timing", "ok": False, "detail": early})
    correlation_id = command.correlation_id or run_correlation_id(day, settings.trading_mode)
    try:
        signals = evaluate_signals(deps.portfolio(), deps.market_data, data_day, require_fresh=False,
                                   today=today, latest_at=now)
    except Exception as exc:
        failure = failure_of(exc)
        if failure is None:
            raise
        return respond("failed", "plan", settings, f"the run would fail at the strategy step: {failure.reason}",
                       request_id=request_id, correlation_id=correlation_id, trading_date=day.isoformat(),
                       error_type=failure.error_type, checks=checks, placed=0)
    _record_evaluation(metrics, signals)
    freshness = freshness_check(signals.data_as_of, data_day)
    fresh = bool(freshness["ok"])
    checks.append(freshness)
    checks.append({"check": "kill switch", "ok": None,
                   "detail": "read by the execution function before each order leg; shown by "
                             "`alchemiser status --stage` and `alchemiser plan`"})
    verdict = ("would start workflow " + correlation_id if would_start and fresh
               else "would start no trading" if not would_start else "would fail closed (stale data)")
    message = (f"Dry run (nothing published or recorded): {verdict}; {len(signals.outcomes)} strategies → "
               f"{len(signals.weights)} symbols on {signals.data_through}")
    return respond("success", "plan", settings, message, request_id=request_id, correlation_id=correlation_id,
                   trading_date=day.isoformat(), data_day=data_day.isoformat(), would_start=would_start and fresh,
                   placed=0, checks=checks, order_sizing=PLAN_SIZING,
                   limits=settings.limits_for(signals.portfolio.limits).model_dump(mode="json"),
                   **signals.as_dict(settings.max_explanation_lines))


def _command(incoming: Incoming) -> LambdaEvent:
    if incoming.command is None:
        raise TypeError("the strategy function takes commands (LambdaEvent), not domain events")
    return incoming.command


class UseCase(Protocol):
    def __call__(self, incoming: Incoming, deps: Dependencies, *, context: Any,
                 metrics: Any = None) -> dict[str, Any]: ...


MODES: dict[str, UseCase] = {"trade": start_trading_day, "signal": signal_only, "plan": plan_only}
"""Each `LambdaEvent.mode` and the use case that answers it (`handle` dispatches from here)."""
