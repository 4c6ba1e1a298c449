"""Strategy function entry point (the Handler in infra/template.yaml)."""

from __future__ import annotations

from typing import Any

from shared.events.catalog import STRATEGY
from shared.events.middleware import Incoming, event_middleware
from shared.events.responses import handler_response
from shared.runtime.observability import make_logger, make_metrics

logger = make_logger("strategy")
metrics = make_metrics("strategy")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_middleware(consumer=STRATEGY, logger=logger, metrics=metrics)
def lambda_handler(incoming: Incoming, context: Any) -> dict[str, Any]:
    return handler_response("failed", "the strategy service is not built yet",
                            correlation_id=incoming.correlation_id, request_id=context.aws_request_id)
