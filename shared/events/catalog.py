"""The one table of who publishes what, on which rule, to whom.

The SAM template's rule patterns and the local runtime's routing are both checked against this
table by tests (tests/infra), so code, template and documentation cannot drift apart.

Each route names its model's module; the model is imported when a route's `model` is first read,
so a function that imports the table builds only the event models it actually handles.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

if TYPE_CHECKING:
    from shared.events.base import DomainEvent
    from shared.runtime.published_facts import FactKind

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


def producer_of(source: str) -> FactKind:
    """The function that publishes with `source` (ValueError for any other source)."""
    for function, own in SOURCE_OF.items():
        if own == source:
            return cast("FactKind", function)
    raise ValueError(f"{source!r} is not the source of any function ({', '.join(sorted(SOURCE_OF.values()))})")


# The function that delivers error notifications; every other consumer skips them.
NOTIFIER: Final = ORCHESTRATOR

# Functions that take direct commands (LambdaEvent) from the Scheduler or a person.
COMMAND_CONSUMERS: Final = frozenset({STRATEGY, ORCHESTRATOR})
# The only envelope source a command may come in: EventBridge Scheduler (PutEvents refuses `aws.*`
# sources, so nobody can forge it on the bus). Otherwise a command is a direct invocation.
COMMAND_SOURCE: Final = "aws.scheduler"
COMMAND_DETAIL_TYPE: Final = "Scheduled Event"

# How many hops past its input a consumer's own publications reach (absent: it publishes nothing for
# it). The middleware refuses an input whose publications would pass MAX_HOPS before the handler
# runs, so a looping chain stops before any effect (an order, a notification), not one step after.
# Pinned against the handlers by tests/unit/events/test_hops.py.
PUBLISH_DEPTH: Final[dict[tuple[str, str], int]] = {
    (PORTFOLIO, "SignalGenerated"): 1,  # RebalancePlanned, or WorkflowFailed
    (EXECUTION, "RebalancePlanned"): 1,  # TradeExecuted
    (ORCHESTRATOR, "TradeExecuted"): 2,  # WorkflowCompleted, or WorkflowFailed and its ErrorNotificationRequested
    (ORCHESTRATOR, "WorkflowFailed"): 1,  # ErrorNotificationRequested
}


def publish_depth(consumer: str, detail_type: str) -> int:
    return PUBLISH_DEPTH.get((consumer, detail_type), 0)


@dataclass(frozen=True)
class Route:
    detail_type: str
    module: str
    """The module under shared/events/ that defines the model named `detail_type`."""
    producers: tuple[str, ...]
    rules: tuple[str, ...]
    consumers: tuple[str, ...]
    note: str

    @functools.cached_property
    def model(self) -> type[DomainEvent]:
        # __import__ (not importlib.import_module) so that `python -X importtime` reports the module
        module = __import__(f"shared.events.{self.module}", fromlist=[self.detail_type])
        model: type[DomainEvent] = getattr(module, self.detail_type)
        return model

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(SOURCE_OF[p] for p in self.producers)


_ALL = "AllEventsToOrchestratorRule"

ROUTES: Final[dict[str, Route]] = {
    r.detail_type: r
    for r in (
        Route("WorkflowStarted", "workflow_started", (STRATEGY,), (_ALL,), (ORCHESTRATOR,),
              "a run began; the orchestrator opens the workflow record"),
        Route("SignalGenerated", "signal_generated", (STRATEGY,), ("SignalGeneratedRule", _ALL),
              (PORTFOLIO, ORCHESTRATOR), "target weights; the portfolio plans from them"),
        Route("RebalancePlanned", "rebalance_planned", (PORTFOLIO,), ("RebalancePlannedRule", _ALL),
              (EXECUTION, ORCHESTRATOR), "the orders to place; execution places them"),
        Route("TradeExecuted", "trade_executed", (EXECUTION,), ("TradeExecutedRule", _ALL),
              (ORCHESTRATOR,), "what happened at the broker; arrives twice at the orchestrator"),
        Route("WorkflowCompleted", "workflow_completed", (ORCHESTRATOR,), (_ALL,), (ORCHESTRATOR,),
              "terminal: recorded by the orchestrator, causes nothing further"),
        Route("WorkflowFailed", "workflow_failed", (STRATEGY, PORTFOLIO, ORCHESTRATOR), (_ALL,), (ORCHESTRATOR,),
              "a step that fails closed (execution reports its failures in TradeExecuted), or the orchestrator "
              "(a failed execution, a stuck workflow); the orchestrator records it and notifies once"),
        Route("ErrorNotificationRequested", "error_notification_requested", (ORCHESTRATOR,), (_ALL,),
              (ORCHESTRATOR,), "delivered by the notifier; every other consumer skips it"),
    )
}

if TYPE_CHECKING:
    EVENT_TYPES: dict[type[DomainEvent], Route]
    """Model -> route, built on first use (it imports every model: for tests and tools, not handlers)."""


def __getattr__(name: str) -> Any:
    if name == "EVENT_TYPES":
        return {r.model: r for r in ROUTES.values()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def route_for(detail_type: str) -> Route | None:
    return ROUTES.get(detail_type)
