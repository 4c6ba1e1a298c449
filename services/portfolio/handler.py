"""Portfolio function entry point (the Handler in infra/template.yaml)."""

from __future__ import annotations

from typing import Any

from services.portfolio import app
from services.portfolio.dependencies import dependencies
from services.portfolio.settings import PortfolioSettings
from shared.events.catalog import PORTFOLIO
from shared.events.middleware import Incoming, event_middleware
from shared.runtime.observability import make_logger, make_metrics
from shared.runtime.tracing import traced

logger = make_logger("portfolio")
metrics = make_metrics("portfolio")


@traced("portfolio")  # Powertools Tracer when the stage's Tracing is on; the handler itself otherwise
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_middleware(consumer=PORTFOLIO, logger=logger, metrics=metrics)
def lambda_handler(incoming: Incoming, context: Any) -> dict[str, Any]:
    settings = PortfolioSettings.from_env()
    return app.handle(incoming, dependencies(settings), context=context, metrics=metrics)
