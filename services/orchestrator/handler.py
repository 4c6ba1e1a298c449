"""Orchestrator function entry point (the Handler in infra/template.yaml).

Nothing imported here loads alpaca-py: the P&L path imports it on first use.
"""

from __future__ import annotations

from typing import Any

from services.orchestrator import app
from services.orchestrator.dependencies import dependencies
from services.orchestrator.settings import OrchestratorSettings
from shared.events.catalog import ORCHESTRATOR
from shared.events.middleware import Incoming, event_middleware
from shared.runtime.observability import make_logger, make_metrics
from shared.runtime.tracing import traced

logger = make_logger("orchestrator")
metrics = make_metrics("orchestrator")


@traced("orchestrator")  # Powertools Tracer when the stage's Tracing is on; the handler itself otherwise
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_middleware(consumer=ORCHESTRATOR, logger=logger, metrics=metrics)
def lambda_handler(incoming: Incoming, context: Any) -> dict[str, Any]:
    settings = OrchestratorSettings.from_env()
    return app.handle(incoming, dependencies(settings), context=context, metrics=metrics)
