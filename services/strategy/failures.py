"""Failure classification: which errors end a run failed closed (with the reason it publishes) and
which are infrastructure errors that raise, so that Lambda retries."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.strategy.language import StrategyError
from services.strategy.portfolio_config import PortfolioConfigError
from services.strategy.signals import StaleMarketData
from shared.marketdata.port import MarketDataError


@dataclass(frozen=True)
class Failure:
    """Why a run fails closed (the WorkflowFailed it publishes)."""

    error_type: str
    reason: str
    details: dict[str, str] = field(default_factory=dict)


def is_transient(exc: MarketDataError) -> bool:
    """A market-data error caused by the network or an overloaded server (retry), not by the request."""
    cause = exc.__cause__ or exc.__context__
    if cause is None:
        return False
    status = getattr(cause, "status_code", None)
    if isinstance(status, int):
        return status in (408, 429) or status >= 500
    return isinstance(cause, OSError)  # requests' errors are OSErrors; so are timeouts and refused connections


def failure_of(exc: BaseException) -> Failure | None:
    """The fail-closed reason for a user-caused or data problem; None for an infrastructure error."""
    if isinstance(exc, StrategyError):
        return Failure("StrategyError", str(exc),
                       {"file": exc.file, "line": str(exc.line), "column": str(exc.column)})
    if isinstance(exc, PortfolioConfigError):
        return Failure("PortfolioConfigError", str(exc))
    if isinstance(exc, StaleMarketData):
        return Failure("StaleMarketData", str(exc),
                       {"data_as_of": exc.data_as_of.isoformat(), "needed": exc.needed.isoformat()})
    if isinstance(exc, MarketDataError) and not is_transient(exc):
        return Failure("MarketDataError", f"market data: {exc}")
    return None
