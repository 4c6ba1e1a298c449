"""Strategy function entry point (the Handler in infra/template.yaml).

The Scheduler (or a person: the Lambda console, `aws lambda invoke`, `alchemiser invoke`) sends a
LambdaEvent, directly or in an EventBridge envelope: `{"mode": "trade"}` starts the day's run,
`{"mode": "signal"}` evaluates without trading, `{"mode": "plan"}` answers what today's run would do
without doing any of it. See app.py for the order of operations.
"""

from __future__ import annotations

from typing import Any

from services.strategy import app
from services.strategy.dependencies import dependencies
from services.strategy.settings import StrategySettings
from shared.events.catalog import STRATEGY
from shared.events.middleware import Incoming, event_middleware
from shared.runtime.observability import make_logger, make_metrics
from shared.runtime.tracing import traced

logger = make_logger("strategy")
metrics = make_metrics("strategy")


@traced("strategy")  # Powertools Tracer when the stage's Tracing is on; the handler itself otherwise
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_middleware(consumer=STRATEGY, logger=logger, metrics=metrics)
def lambda_handler(incoming: Incoming, context: Any) -> dict[str, Any]:
    settings = StrategySettings.from_env()
    return app.handle(incoming, dependencies(settings), context=context, metrics=metrics)
