"""The Alchemiser's events: models, the route table, the envelope middleware and the publisher."""

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
