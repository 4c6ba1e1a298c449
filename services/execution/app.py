"""The execution use case: a RebalancePlanned in, each of its orders placed once, a TradeExecuted out.

Idempotency, in three layers, because each covers what the one before cannot:

1. The plan (`IdempotentOperation` keyed on plan_id, kept `plan_idempotency_days`). A redelivery
   after the run completed returns the first run's response as `duplicate`, places and publishes
   nothing. A delivery while a run is in progress raises IdempotencyAlreadyInProgressError; the
   handler raises, Lambda retries later and then sees `duplicate`. The in-progress record expires
   at the Lambda deadline, so a run killed mid-plan is retried, and the retry resumes (layer 3).
2. The workflow (`workflow_guard.py`): one plan executes per correlation id, claimed by a
   conditional write right before the first order and marked done after publishing. A second,
   different plan for the workflow places nothing (`skipped`, PlanConflicts: an alarm); a replay
   of this plan after its layer-1 record expired is recognised as done (`duplicate`).
3. The broker: every order has a deterministic client order id, derived from the workflow (trading
   date, mode, broker account, correlation id) and not from the plan (order_ids.py), and is looked
   up before it could be submitted; Alpaca refuses a second order with the same id (422), which we
   adopt. Whatever layers 1 and 2 miss (a crash, an expired record, two runs of one day that share
   no store, a second plan for the workflow), no order of a workflow is placed twice.

Refusals are final (the design, chosen so the broker and the workflow's record never disagree).
A plan refused before its first order (kill switch halted, market closed, a stale date, a risk
limit, a blocked account, a mode mismatch, the reducing switch with no sells) records the refusal
on the workflow (layer 2, `refused`) before it publishes its TradeExecuted (success false): the
orchestrator ends the workflow failed or skipped. A later redelivery of that plan (an EventBridge
duplicate, a console resend, an archive replay, a DLQ redrive) answers `duplicate`, places nothing,
and republishes the same refusal (same event id), whatever the switch or the clock says by then.
Retrying after fixing the cause is an explicit act that starts a new, fully re-gated workflow: a
strategy command with its own `correlation_id` (`alchemiser run --as-of D --retry` locally,
`{"mode": "trade", "correlation_id": "run-<date>-<mode>-retry-1"}` in AWS). Should orders ever reach
the broker for a workflow the orchestrator has recorded as terminal, the orchestrator alarms
(ExecutionsAfterTerminal) and notifies; it is never a silent late log line.

Outcomes are values: `plan_run.execute` returns Ran, Refused, Taken or AlreadyDone, and `_run` turns
each into the response Powertools records. The one exception on this path is deliberate: a plan
claimed by a concurrent delivery while it was being refused raises, so that the idempotency layer
records nothing and the retry sees the claim.

Causation is checked against a recorded fact, not a string in the event: execution runs only a plan
the portfolio recorded as published for that workflow, with the same contents
(shared/runtime/published_facts.py). Anything else is refused before any effect (UnverifiedEvents).

Crash argument — the process may die at any point; the next delivery (Lambda's retry once the
in-progress record expires, or a redelivery) then:
- before the claim: finds no claim, re-checks every gate and runs fresh;
- after the claim, before/after/while any submission: finds the claim (resume), looks every leg
  up and adopts what exists, submits only what does not; an order whose POST reached the broker
  but whose reply was lost is found by its id, and one whose POST never arrived is placed once;
- after publishing, before the guard is marked done or the record completed: redoes the
  look-ups (all adopted) and republishes TradeExecuted with the same event id (consumers dedupe).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.execution import results as res
from services.execution.dependencies import Dependencies
from services.execution.placer import Placer, placing_deadline
from services.execution.plan_run import AlreadyDone, Ran, Refused, Taken, execute
from shared.broker.port import Account
from shared.events.base import EventContext
from shared.events.middleware import Incoming
from shared.events.rebalance_planned import RebalancePlanned
from shared.events.responses import handler_response
from shared.events.trade_executed import AccountSummary, OrderResult, TradeExecuted
from shared.limits.model import LimitBinding
from shared.limits.rules import refused_by_a_limit
from shared.runtime import metric_names
from shared.runtime.observability import count, make_logger
from shared.runtime.published_facts import verify

logger = make_logger("execution")
MAX_ERROR_CHARS = 300


def handle(incoming: Incoming, deps: Dependencies, *, context: Any, metrics: Any = None) -> dict[str, Any]:
    plan = incoming.event
    if not isinstance(plan, RebalancePlanned):
        raise TypeError(f"the execution function takes RebalancePlanned, got {type(plan).__name__}")
    request_id = getattr(context, "aws_request_id", None)
    logger.append_keys(plan_id=plan.plan_id)
    unverified = verify(deps.facts, "portfolio", plan, plan.event_id, plan.correlation_id)
    if unverified is not None:
        count(metrics, metric_names.UNVERIFIED_EVENTS)
        logger.error("RebalancePlanned refused: not what the portfolio published", extra={"reason": unverified})
        return handler_response("failed", f"plan {plan.plan_id} refused, nothing placed: {unverified}",
                                correlation_id=plan.correlation_id, request_id=request_id, plan_id=plan.plan_id,
                                execution_status="refused")
    once = deps.plan_once.run(plan.plan_id, lambda: _run(plan, deps, request_id, metrics, context), context=context)
    if once.duplicate:
        count(metrics, metric_names.DUPLICATES_SUPPRESSED)
        logger.info("plan already handled; duplicate delivery suppressed")
        first = once.result
        verb = "refused" if first.get("refused") else "executed"
        return handler_response("duplicate", f"plan {plan.plan_id} was already {verb}: nothing placed, "
                                "nothing published", correlation_id=plan.correlation_id, request_id=request_id,
                                plan_id=plan.plan_id, first_response=first)
    return once.result


def retry_hint(plan: RebalancePlanned, *, limit_bound: bool = False) -> str:
    first = ("a retry with the same limits is refused the same way: change the limit first (as above), then "
             if limit_bound else "after fixing the cause, ")
    return (f"a refusal is final for workflow {plan.correlation_id}; to trade {plan.trading_date} {first}"
            f"start a new run: `alchemiser run --as-of {plan.trading_date} --retry` (locally) or the strategy "
            f"command {{\"mode\": \"trade\", \"correlation_id\": \"{plan.correlation_id}-retry-1\"}}")


def _run(plan: RebalancePlanned, deps: Dependencies, request_id: str | None, metrics: Any,
         context: Any = None) -> dict[str, Any]:
    started = deps.now()
    # Resubmissions of refused POSTs must finish within the function's deadline (placer.py).
    placer = Placer(deps.broker, deps.timing, sleep=deps.sleep, monotonic=deps.monotonic,
                    deadline=placing_deadline(context, deps.timing, deps.monotonic))
    common: dict[str, Any] = {"correlation_id": plan.correlation_id, "request_id": request_id,
                              "plan_id": plan.plan_id}
    outcome = execute(plan, deps, placer)
    if isinstance(outcome, Refused):
        return _refuse(plan, deps, outcome, started, request_id, metrics, common)
    if isinstance(outcome, Taken):
        return _conflict(plan, outcome, metrics, common)
    if isinstance(outcome, AlreadyDone):
        return _already_done(plan, deps, outcome, started, request_id, metrics, common)
    return _report(plan, deps, outcome, started, request_id, metrics, common)


def _already_done(plan: RebalancePlanned, deps: Dependencies, outcome: AlreadyDone, started: datetime,
                  request_id: str | None, metrics: Any, common: dict[str, Any]) -> dict[str, Any]:
    done = outcome.claim
    if done.refused:
        # Refused earlier: final. Republish the refusal (same event id) in case its first publish was lost.
        event = _refusal_event(plan, deps, done.status or "rejected", done.reason or "refused", outcome.switch.state,
                               started, done.bindings)
        published = deps.publisher_for(request_id or "local").publish([event])
        count(metrics, metric_names.DUPLICATES_SUPPRESSED)
        return handler_response("duplicate", f"plan {plan.plan_id} was refused earlier ({done.reason}): nothing "
                                f"placed; {retry_hint(plan, limit_bound=refused_by_a_limit(done.reason))}",
                                published=published, **common,
                                execution_status=done.status, event_id=event.event_id)
    count(metrics, metric_names.DUPLICATES_SUPPRESSED)
    return handler_response("duplicate", f"plan {plan.plan_id} was already executed ({done.status}"
                            "; workflow guard): nothing placed, nothing published", **common)


def _refusal_event(plan: RebalancePlanned, deps: Dependencies, status: str, reason: str, switch: str,
                   started: datetime, bindings: tuple[LimitBinding, ...] = ()) -> TradeExecuted:
    return TradeExecuted.create(
        EventContext.caused_by(plan), key=f"{plan.plan_id}:not-executed:{status}", occurred_at=deps.now(),
        plan_id=plan.plan_id, success=False, status=status, reason=reason, kill_switch=switch, orders=(),
        totals=res.nothing_placed(len(plan.orders)), started_at=started, finished_at=deps.now(),
        limit_bindings=bindings)


def _refuse(plan: RebalancePlanned, deps: Dependencies, blocked: Refused, started: datetime,
            request_id: str | None, metrics: Any, common: dict[str, Any]) -> dict[str, Any]:
    """Record the refusal on the workflow (final), then tell the orchestrator with TradeExecuted."""
    holder = deps.guard.refuse(plan.correlation_id, plan.plan_id, blocked.status, blocked.reason, blocked.bindings)
    if holder.held_by_other(plan.plan_id):
        return _conflict(plan, Taken(holder), metrics, common)
    if not holder.refused:  # this very plan claimed the workflow meanwhile (a concurrent delivery): retry
        raise RuntimeError(f"plan {plan.plan_id} was claimed by a concurrent delivery while being refused; retry")
    if blocked.metric:
        count(metrics, blocked.metric)
    logger.warning("plan refused: final for the workflow",
                   extra={"execution_status": blocked.status, "reason": blocked.reason})
    event = _refusal_event(plan, deps, blocked.status, blocked.reason, blocked.switch.state, started,
                           blocked.bindings)
    published = deps.publisher_for(request_id or "local").publish([event])
    hint = retry_hint(plan, limit_bound=bool(blocked.bindings))
    return handler_response("failed", f"{blocked.reason}; {hint}", published=published, **common,
                            execution_status=blocked.status, kill_switch=blocked.switch.state,
                            event_id=event.event_id, refused=True)


def _conflict(plan: RebalancePlanned, taken: Taken, metrics: Any, common: dict[str, Any]) -> dict[str, Any]:
    count(metrics, metric_names.PLAN_CONFLICTS)
    message = (f"workflow {plan.correlation_id} already belongs to plan {taken.claim.plan_id}: "
               f"plan {plan.plan_id} places nothing (one plan per workflow)")
    logger.error(message, extra={"held_by_plan": taken.claim.plan_id})
    return handler_response("skipped", message, **common, held_by_plan=taken.claim.plan_id)


def _summary(account: Account | None) -> AccountSummary | None:
    if account is None:
        return None
    return AccountSummary(equity=account.equity, cash=account.cash, buying_power=account.buying_power)


def _reason(report: Ran, results: list[OrderResult]) -> str | None:
    if report.empty:
        return "the plan has no orders: already balanced"
    parts = list(report.notes)
    parts += [f"{r.side} {r.symbol} {r.status}: {(r.error or '')[:MAX_ERROR_CHARS]}"
              for r in results if r.status != "filled"]
    return "; ".join(parts) or None


def _count_orders(metrics: Any, report: Ran, results: list[OrderResult]) -> None:
    count(metrics, metric_names.ORDERS_PLACED, sum(1 for p in report.placements if p.placed_now))
    count(metrics, metric_names.ORDERS_ADOPTED,
          sum(1 for p in report.placements if p.how == "adopted" and not p.placed_now))
    count(metrics, metric_names.ORDERS_FILLED, sum(1 for r in results if r.status == "filled"))
    count(metrics, metric_names.ORDERS_FAILED,
          sum(1 for r in results if r.status in ("failed", "rejected", "canceled", "open")))
    if report.switch.state != "active" and any(p.how == "skipped" for p in report.placements):
        count(metrics, metric_names.KILL_SWITCH_BLOCKS)


def _report(plan: RebalancePlanned, deps: Dependencies, report: Ran, started: datetime,
            request_id: str | None, metrics: Any, common: dict[str, Any]) -> dict[str, Any]:
    results = [res.order_result(p) for p in report.placements]
    status, success = res.verdict(results, len(plan.orders))
    totals = res.totals(results, len(plan.orders))
    _count_orders(metrics, report, results)
    finished = deps.now()
    event = TradeExecuted.create(
        EventContext.caused_by(plan), key=f"{plan.plan_id}:executed", occurred_at=finished,
        plan_id=plan.plan_id, success=success, status=status, reason=_reason(report, results),
        kill_switch=report.switch.state, orders=tuple(results), totals=totals,
        account_before=_summary(report.account_before), account_after=_summary(report.account_after),
        started_at=started, finished_at=finished, limit_bindings=plan.limit_bindings)
    published = deps.publisher_for(request_id or "local").publish([event])
    deps.guard.finish(plan.correlation_id, plan.plan_id, status)
    message = (f"plan {plan.plan_id} {status}: {totals.orders_filled} of {totals.orders_planned} orders filled "
               f"(bought ${totals.buy_value:,.2f}, sold ${totals.sell_value:,.2f})")
    log = logger.info if success else logger.warning
    log(message, extra={"execution_status": status, "resumed": report.resumed})
    return handler_response("success" if success else "failed", message, published=published, **common,
                            execution_status=status, success=success, kill_switch=report.switch.state,
                            resumed=report.resumed, event_id=event.event_id, totals=totals.model_dump(mode="json"))
