"""Every CloudWatch metric the code emits, in one place; the dashboard and alarms use these names.

A test (tests/infra) checks both ways that every metric the template names is listed here and
emitted by the code.
"""

from typing import Final

NAMESPACE: Final = "Alchemiser"

# Envelope middleware (every function)
CIRCUIT_BREAKER_SKIPS: Final = "CircuitBreakerSkips"
INVALID_EVENTS: Final = "InvalidEvents"
HOP_LIMIT_STOPS: Final = "HopLimitStops"
DUPLICATES_SUPPRESSED: Final = "DuplicatesSuppressed"

# Workflows (orchestrator)
WORKFLOWS_STARTED: Final = "WorkflowsStarted"
WORKFLOWS_COMPLETED: Final = "WorkflowsCompleted"
WORKFLOWS_FAILED: Final = "WorkflowsFailed"
WORKFLOWS_SKIPPED: Final = "WorkflowsSkipped"
WORKFLOWS_STUCK: Final = "WorkflowsStuck"
EXECUTIONS_AFTER_TERMINAL: Final = "ExecutionsAfterTerminal"
"""Orders reached the broker for a workflow the orchestrator had already recorded as terminal."""
NOTIFICATIONS_SENT: Final = "NotificationsSent"
EQUITY: Final = "Equity"
TURNOVER: Final = "Turnover"

# Strategy
SIGNALS_GENERATED: Final = "SignalsGenerated"
STRATEGY_EVALUATION_MS: Final = "StrategyEvaluationMs"

# Portfolio
PLANS_CREATED: Final = "PlansCreated"
PLANNED_ORDERS: Final = "PlannedOrders"

# Execution
ORDERS_PLACED: Final = "OrdersPlaced"
ORDERS_FILLED: Final = "OrdersFilled"
ORDERS_FAILED: Final = "OrdersFailed"
ORDERS_ADOPTED: Final = "OrdersAdopted"
"""An order found at the broker by its client order id and adopted instead of resubmitted."""
RISK_LIMIT_BREACHES: Final = "RiskLimitBreaches"
KILL_SWITCH_BLOCKS: Final = "KillSwitchBlocks"
PLAN_CONFLICTS: Final = "PlanConflicts"
"""A plan refused because another plan had already claimed its workflow."""

# Portfolio, execution and orchestrator: causation checked against the recorded facts of the workflow
UNVERIFIED_EVENTS: Final = "UnverifiedEvents"
"""An event that does not match what its producer recorded as published (spoofed, edited or stray): refused."""
