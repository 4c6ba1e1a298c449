"""The one table of who publishes what, on which rule, to whom.

The SAM template's rule patterns and the local runtime's routing are both checked against this
table by tests (tests/infra), so code, template and documentation cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from shared.events.base import DomainEvent
from shared.events.error_notification_requested import ErrorNotificationRequested
from shared.events.rebalance_planned import RebalancePlanned
from shared.events.signal_generated import SignalGenerated
from shared.events.trade_executed import TradeExecuted
from shared.events.workflow_completed import WorkflowCompleted
from shared.events.workflow_failed import WorkflowFailed
from shared.events.workflow_started import WorkflowStarted

STRATEGY: Final = "strategy"
PORTFOLIO: Final = "portfolio"
EXECUTION: Final = "execution"
ORCHESTRATOR: Final = "orchestrator"
FUNCTIONS: Final = (STRATEGY, PORTFOLIO, EXECUTION, ORCHESTRATOR)

SOURCE_OF: Final[dict[str, str]] = {
    STRATEGY: "alchemiser.strategy",
    PORTFOLIO: "alchemiser.portfolio",
    EXECUTION: "alchemiser.execution",
    ORCHESTRATOR: "alchemiser.orchestration",
}
SOURCE_PREFIX: Final = "alchemiser."

# The function that delivers error notifications; every other consumer skips them.
NOTIFIER: Final = ORCHESTRATOR

# Functions that take direct commands (LambdaEvent) from the Scheduler or a person.
COMMAND_CONSUMERS: Final = frozenset({STRATEGY, ORCHESTRATOR})


@dataclass(frozen=True)
class Route:
    detail_type: str
    model: type[DomainEvent]
    producers: tuple[str, ...]
    rules: tuple[str, ...]
    consumers: tuple[str, ...]
    note: str

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(SOURCE_OF[p] for p in self.producers)


_ALL = "AllEventsToOrchestratorRule"

ROUTES: Final[dict[str, Route]] = {
    r.detail_type: r
    for r in (
        Route("WorkflowStarted", WorkflowStarted, (STRATEGY,), (_ALL,), (ORCHESTRATOR,),
              "a run began; the orchestrator opens the workflow record"),
        Route("SignalGenerated", SignalGenerated, (STRATEGY,), ("SignalGeneratedRule", _ALL),
              (PORTFOLIO, ORCHESTRATOR), "target weights; the portfolio plans from them"),
        Route("RebalancePlanned", RebalancePlanned, (PORTFOLIO,), ("RebalancePlannedRule", _ALL),
              (EXECUTION, ORCHESTRATOR), "the orders to place; execution places them"),
        Route("TradeExecuted", TradeExecuted, (EXECUTION,), ("TradeExecutedRule", _ALL),
              (ORCHESTRATOR,), "what happened at the broker; arrives twice at the orchestrator"),
        Route("WorkflowCompleted", WorkflowCompleted, (ORCHESTRATOR,), (_ALL,), (ORCHESTRATOR,),
              "terminal: recorded by the orchestrator, causes nothing further"),
        Route("WorkflowFailed", WorkflowFailed, FUNCTIONS, (_ALL,), (ORCHESTRATOR,),
              "any step may fail the workflow; the orchestrator records it and notifies once"),
        Route("ErrorNotificationRequested", ErrorNotificationRequested, (ORCHESTRATOR,), (_ALL,),
              (ORCHESTRATOR,), "delivered by the notifier; every other consumer skips it"),
    )
}

EVENT_TYPES: Final[dict[type[DomainEvent], Route]] = {r.model: r for r in ROUTES.values()}


def route_for(detail_type: str) -> Route | None:
    return ROUTES.get(detail_type)
