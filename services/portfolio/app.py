"""The portfolio use case: SignalGenerated in -> account read -> plan -> RebalancePlanned out.

The day's step itself is day.py (`gather`, then `plan_day`), which `alchemiser plan` and the backtest
call too. Once per signal (idempotent on the signal's event id): a redelivery, a console resend or an
archive replay gets `"status": "duplicate"` and publishes nothing. Outcomes:
- a plan (possibly empty: "already balanced") -> RebalancePlanned, status success; it carries the
  workflow's limits (the signal's) for execution, and says when the position cap clipped a target;
- a fail-closed reason (bad weights, unknown symbols, a blocked or empty account, a stale
  snapshot, a plan that breaks a safety rule, a plan too large for one event) -> WorkflowFailed,
  status failed. Stored like a success: a redelivery does not try again.
- an infrastructure error (broker unreachable, publish failed) raises: the idempotency record
  is released and Lambda retries the event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.portfolio.day import Gathered, Planned, gather, plan_day
from services.portfolio.dependencies import Dependencies
from services.portfolio.planner import Parameters
from services.portfolio.settings import PortfolioSettings
from services.portfolio.validation import Rejection, check_signal
from shared.broker.order_ids import WorkflowKey
from shared.broker.port import Account, Position
from shared.broker.positions_record import after_plan
from shared.events.base import EventContext
from shared.events.middleware import Incoming
from shared.events.publisher import EventTooLargeError
from shared.events.rebalance_planned import (
    AccountSnapshot,
    BuyScaling,
    PlannedOrder,
    PlanParameters,
    PositionSnapshot,
    RebalancePlanned,
    SkippedTrade,
)
from shared.events.responses import handler_response
from shared.events.signal_generated import SignalGenerated
from shared.limits.model import Limits
from shared.runtime import metric_names
from shared.runtime.observability import count, make_logger
from shared.runtime.published_facts import verify

logger = make_logger("portfolio")


def handle(incoming: Incoming, deps: Dependencies, *, context: Any, metrics: Any = None) -> dict[str, Any]:
    """Plan once per SignalGenerated; a repeat is a duplicate that publishes nothing."""
    signal = incoming.event
    if not isinstance(signal, SignalGenerated):
        raise TypeError(f"the portfolio function plans from SignalGenerated, got {type(signal).__name__}")
    request_id = getattr(context, "aws_request_id", None)
    unverified = verify(deps.facts, "strategy", signal, signal.event_id, signal.correlation_id)
    if unverified is not None:
        return _refuse_unverified(signal, unverified, request_id, metrics)
    once = deps.idempotency.run(signal.event_id, lambda: plan_signal(signal, deps, request_id, metrics),
                                context=context)
    if not once.duplicate:
        return once.result
    count(metrics, metric_names.DUPLICATES_SUPPRESSED)
    first = once.result
    logger.info("SignalGenerated already handled; nothing republished",
                extra={"signal_event_id": signal.event_id, "first_status": first.get("status")})
    return handler_response(
        "duplicate",
        f"SignalGenerated {signal.event_id} was already handled ({first.get('status')}: "
        f"{first.get('message')}); nothing republished",
        correlation_id=signal.correlation_id, request_id=request_id,
        plan_id=first.get("plan_id"), first_status=first.get("status"),
    )


def _refuse_unverified(signal: SignalGenerated, why: str, request_id: str | None, metrics: Any) -> dict[str, Any]:
    """A signal the strategy never published (hand-made, edited, or of a workflow it never started).

    Nothing is planned, recorded or published: a WorkflowFailed would let whoever sent it fail the
    real day. The UnverifiedEvents alarm tells the operator."""
    count(metrics, metric_names.UNVERIFIED_EVENTS)
    logger.error("SignalGenerated refused: not what the strategy published",
                 extra={"signal_event_id": signal.event_id, "reason": why})
    return handler_response("failed", f"SignalGenerated {signal.event_id} refused, nothing planned: {why}",
                            correlation_id=signal.correlation_id, request_id=request_id, error_type="UnverifiedEvent")


def plan_signal(signal: SignalGenerated, deps: Dependencies, request_id: str | None,
                metrics: Any = None) -> dict[str, Any]:
    """Validate, read the account, plan and publish: the effect run once per signal."""
    rejection = check_signal(signal)
    if rejection is not None:
        return _fail_closed(signal, rejection, deps, request_id)
    limits = signal.limits or Limits()
    gathered = gather(signal, deps.broker, parameters_of(deps.settings), limits, records=deps.positions,
                      orders=deps.orders)
    if isinstance(gathered, Rejection):
        return _fail_closed(signal, gathered, deps, request_id)
    planned = plan_day(gathered.inputs, limits, gathered.owned)
    if isinstance(planned, Rejection):
        return _fail_closed(signal, planned, deps, request_id)
    plan = planned.plan
    event = to_event(signal, planned, gathered.account, gathered.positions, deps.settings, now=deps.settings.now())
    _record(signal, gathered, planned, deps)
    try:
        deps.publisher_for(request_id or signal.event_id).publish([event])
    except EventTooLargeError as exc:
        return _fail_closed(signal, Rejection("PlanTooLarge", f"the plan does not fit in one event: {exc}",
                                              {"plan_id": plan.plan_id}), deps, request_id)
    count(metrics, metric_names.PLANS_CREATED)
    count(metrics, metric_names.PLANNED_ORDERS, len(plan.orders))
    logger.info("rebalance planned", extra={"plan_id": plan.plan_id, "orders": len(plan.orders),
                                            "skipped": len(plan.skipped), "summary": plan.summary,
                                            "limit_bindings": [b.message for b in planned.bindings]})
    message = f"plan {plan.plan_id}: {plan.summary}" + "".join(f"; {b.message}" for b in planned.bindings)
    return handler_response(
        "success", message, published=[RebalancePlanned.detail_type], correlation_id=signal.correlation_id,
        request_id=request_id, plan_id=plan.plan_id, orders=len(plan.orders), skipped=len(plan.skipped),
    )


def _record(signal: SignalGenerated, gathered: Gathered, planned: Planned, deps: Dependencies) -> None:
    """The system's record once the plan is made, before it is published: what the plan managed and its
    orders pending under their client ids (a failed publish is retried with the same ids: no double count)."""
    if deps.positions is None:
        return
    workflow = WorkflowKey(signal.trading_date, signal.trading_mode, gathered.account.account_id,
                           signal.correlation_id)
    orders = [(o.symbol, o.side) for o in planned.plan.orders]
    deps.positions.update(gathered.account.account_id,
                          lambda _: after_plan(gathered.record, planned.scope.managed, workflow, orders))


def parameters_of(settings: PortfolioSettings) -> Parameters:
    return Parameters(settings.cash_reserve, settings.min_trade_value, settings.drift_band, settings.min_notional)


def to_event(signal: SignalGenerated, planned: Planned, account: Account,
             positions: Sequence[Position], settings: PortfolioSettings, *, now: datetime) -> RebalancePlanned:
    plan = planned.plan
    snapshot = AccountSnapshot(
        status=account.status, equity=account.equity, cash=account.cash, buying_power=account.buying_power,
        positions=tuple(PositionSnapshot(symbol=p.symbol, qty=p.qty, market_value=p.market_value,
                                         price=p.current_price) for p in sorted(positions, key=lambda p: p.symbol)),
        captured_at=account.captured_at,
    )
    orders = tuple(
        PlannedOrder(symbol=o.symbol, side=o.side, qty=o.qty, notional=o.notional,
                     reference_price=o.reference_price, estimated_value=o.estimated_value,
                     attribution=o.attribution, reason=o.reason, full_exit=o.full_exit, fractionable=o.fractionable)
        for o in plan.orders
    )
    skipped = tuple(SkippedTrade(symbol=s.symbol, side=s.side, estimated_value=s.estimated_value, reason=s.reason)
                    for s in plan.skipped)
    return RebalancePlanned.create(
        EventContext.caused_by(signal),
        occurred_at=now,
        plan_id=plan.plan_id,
        signal_event_id=signal.event_id,
        trading_date=signal.trading_date,
        account=snapshot,
        target_weights=dict(planned.inputs.target_weights),
        current_weights=plan.current_weights,
        orders=orders,
        skipped=skipped,
        scaling=None if plan.scaling is None else BuyScaling(factor=plan.scaling.factor, reason=plan.scaling.reason),
        parameters=PlanParameters(cash_reserve=settings.cash_reserve, min_trade_value=settings.min_trade_value,
                                  drift_band=settings.drift_band),
        summary=plan.summary,
        limits=planned.inputs.limits,
        limit_bindings=planned.bindings,
    )


def _fail_closed(signal: SignalGenerated, rejection: Rejection, deps: Dependencies,
                 request_id: str | None) -> dict[str, Any]:
    """Publish WorkflowFailed with the reason; nothing is planned."""
    from shared.events.workflow_failed import WorkflowFailed  # the failure path only

    event = WorkflowFailed.create(
        EventContext.caused_by(signal), occurred_at=deps.settings.now(), step="portfolio",
        reason=rejection.reason, error_type=rejection.error_type, failed_event_id=signal.event_id,
        details=dict(rejection.details),
    )
    deps.publisher_for(request_id or signal.event_id).publish([event])
    logger.error("portfolio failed closed", extra={"error_type": rejection.error_type, "reason": rejection.reason,
                                                   "signal_event_id": signal.event_id})
    return handler_response(
        "failed", f"{rejection.error_type}: {rejection.reason}", published=[WorkflowFailed.detail_type],
        correlation_id=signal.correlation_id, request_id=request_id, error_type=rejection.error_type,
    )

