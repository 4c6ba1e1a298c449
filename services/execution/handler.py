"""Execution function entry point (the Handler in infra/template.yaml): RebalancePlanned -> TradeExecuted."""

from __future__ import annotations

from typing import Any

from services.execution import app
from services.execution.dependencies import dependencies
from services.execution.settings import ExecutionSettings
from shared.events.catalog import EXECUTION
from shared.events.middleware import Incoming, event_middleware
from shared.runtime.observability import make_logger, make_metrics
from shared.runtime.tracing import traced

logger = make_logger("execution")
metrics = make_metrics("execution")


@traced("execution")  # Powertools Tracer when the stage's Tracing is on; the handler itself otherwise
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_middleware(consumer=EXECUTION, logger=logger, metrics=metrics)
def lambda_handler(incoming: Incoming, context: Any) -> dict[str, Any]:
    settings = ExecutionSettings.from_env()
    return app.handle(incoming, dependencies(settings), context=context, metrics=metrics)
