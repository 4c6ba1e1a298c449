"""The Alchemiser's events: models, the route table, the envelope middleware and the publisher.

Names are loaded on first use (PEP 562), so `import shared.events.<module>` or
`from shared.events import X` builds only the models that are asked for: each function pays at
cold start for the events it handles, not for every event in the system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.events.base import MAX_HOPS, DomainEvent, EventContext, deterministic_event_id
    from shared.events.catalog import ROUTES, SOURCE_OF, route_for
    from shared.events.envelope import Delivery, InvalidEventError, open_envelope
    from shared.events.error_notification_requested import ErrorNotificationRequested
    from shared.events.lambda_event import LambdaEvent
    from shared.events.rebalance_planned import (
        AccountSnapshot,
        BuyScaling,
        PlannedOrder,
        PlanParameters,
        PositionSnapshot,
        RebalancePlanned,
        SkippedTrade,
    )
    from shared.events.signal_generated import SignalGenerated, StrategySignal
    from shared.events.trade_executed import AccountSummary, ExecutionTotals, OrderResult, TradeExecuted
    from shared.events.workflow_completed import WorkflowCompleted, WorkflowSummary
    from shared.events.workflow_failed import WorkflowFailed
    from shared.events.workflow_started import StrategyRef, WorkflowStarted

_MODULE_OF = {
    "MAX_HOPS": "base",
    "DomainEvent": "base",
    "EventContext": "base",
    "deterministic_event_id": "base",
    "ROUTES": "catalog",
    "SOURCE_OF": "catalog",
    "route_for": "catalog",
    "Delivery": "envelope",
    "InvalidEventError": "envelope",
    "open_envelope": "envelope",
    "ErrorNotificationRequested": "error_notification_requested",
    "LambdaEvent": "lambda_event",
    "AccountSnapshot": "rebalance_planned",
    "BuyScaling": "rebalance_planned",
    "PlannedOrder": "rebalance_planned",
    "PlanParameters": "rebalance_planned",
    "PositionSnapshot": "rebalance_planned",
    "RebalancePlanned": "rebalance_planned",
    "SkippedTrade": "rebalance_planned",
    "SignalGenerated": "signal_generated",
    "StrategySignal": "signal_generated",
    "AccountSummary": "trade_executed",
    "ExecutionTotals": "trade_executed",
    "OrderResult": "trade_executed",
    "TradeExecuted": "trade_executed",
    "WorkflowCompleted": "workflow_completed",
    "WorkflowSummary": "workflow_completed",
    "WorkflowFailed": "workflow_failed",
    "StrategyRef": "workflow_started",
    "WorkflowStarted": "workflow_started",
}

__all__ = [
    "MAX_HOPS",
    "ROUTES",
    "SOURCE_OF",
    "AccountSnapshot",
    "AccountSummary",
    "BuyScaling",
    "Delivery",
    "DomainEvent",
    "ErrorNotificationRequested",
    "EventContext",
    "ExecutionTotals",
    "InvalidEventError",
    "LambdaEvent",
    "OrderResult",
    "PlanParameters",
    "PlannedOrder",
    "PositionSnapshot",
    "RebalancePlanned",
    "SignalGenerated",
    "SkippedTrade",
    "StrategyRef",
    "StrategySignal",
    "TradeExecuted",
    "WorkflowCompleted",
    "WorkflowFailed",
    "WorkflowStarted",
    "WorkflowSummary",
    "deterministic_event_id",
    "open_envelope",
    "route_for",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__ (not importlib.import_module) so that `python -X importtime` reports the module
    value = getattr(__import__(f"{__name__}.{module}", fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
