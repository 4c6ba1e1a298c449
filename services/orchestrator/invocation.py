"""One invocation's effect runner and its workflow metrics: what the event path (app.py) and the
command path (commands.py) both need, in a leaf module so neither imports the other."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.metrics import MetricUnit

from services.orchestrator.dependencies import Dependencies
from services.orchestrator.effects import EffectRunner
from services.orchestrator.transition import Transition
from services.orchestrator.workflow_record import EquitySnapshot, WorkflowRecord
from shared.runtime import metric_names
from shared.runtime.observability import count

if TYPE_CHECKING:
    from shared.events import DomainEvent, TradeExecuted
    from shared.events.publisher import EventPublisher

DEFAULT_LEASE_SECONDS = 120.0


def runner_for(deps: Dependencies, context: Any) -> EffectRunner:
    """The effect runner for this invocation; its lease ends with the invocation's deadline. The
    publisher is built when there is something to publish (in AWS it builds the EventBridge client)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    seconds = remaining() / 1000 if callable(remaining) else DEFAULT_LEASE_SECONDS
    request_id = str(getattr(context, "aws_request_id", "") or "unknown")

    def publisher() -> EventPublisher:
        return deps.publisher_for(request_id)

    return EffectRunner(store=deps.store, publisher=publisher, delivery=deps.delivery,
                        owner=request_id, deadline=deps.wall_clock() + seconds, wall_clock=deps.wall_clock,
                        context=context)


def count_transition(metrics: Any, transition: Transition, record: WorkflowRecord,
                     cause: DomainEvent | None = None) -> None:
    """Workflow metrics, once per saved transition; equity and turnover when a TradeExecuted ends it.

    Orders placed / filled / failed are the execution function's metrics (it emits them as it
    places orders); the orchestrator does not count them a second time."""
    if transition.created:
        count(metrics, metric_names.WORKFLOWS_STARTED)
    ended = {"completed": metric_names.WORKFLOWS_COMPLETED, "failed": metric_names.WORKFLOWS_FAILED,
             "skipped": metric_names.WORKFLOWS_SKIPPED}
    if transition.kind in ended:
        count(metrics, ended[transition.kind])
    if transition.kind == "broker_disagrees":
        count(metrics, metric_names.EXECUTIONS_AFTER_TERMINAL)
    if metrics is None or cause is None or not (transition.ended and cause.detail_type == "TradeExecuted"):
        return
    executed = cast("TradeExecuted", cause)
    metrics.add_metric(name=metric_names.TURNOVER, unit=MetricUnit.NoUnit, value=float(executed.totals.turnover))
    if executed.account_after is not None:
        metrics.add_metric(name=metric_names.EQUITY, unit=MetricUnit.NoUnit,
                           value=float(executed.account_after.equity))


SNAPSHOT_LOOKBACK_DAYS = 31
"""How far back the day P&L's base may be: past a month's gap, the report shows no day P&L."""


def snapshot_before(store: Any, trading_mode: str, day: date) -> EquitySnapshot | None:
    """The latest equity snapshot before `day` (the daily report's day P&L), within SNAPSHOT_LOOKBACK_DAYS."""
    earlier = store.snapshots(trading_mode, day - timedelta(days=SNAPSHOT_LOOKBACK_DAYS), day - timedelta(days=1))
    return cast("EquitySnapshot", earlier[-1]) if earlier else None
