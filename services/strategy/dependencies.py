"""The strategy function's adapters, built once per container per configuration.

- market data: `market_data_for(settings)` (offline locally, Alpaca bars behind the S3 cache in AWS);
- calendar: the offline NYSE calendar locally, Alpaca's calendar in AWS (`settings.calendar_source`);
- the strategy portfolio: parsed on first use, then kept for the container's life (a failed
  load is not kept: the next invocation reads the files again and fails with the same reason);
- the idempotency operation for runs (one per container, as Powertools wants);
- a publisher per invocation (the local outbox is per request id).

Adapters that import heavy libraries (alpaca-py, exchange_calendars, pandas) are imported here,
inside functions, so importing the handler module stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.strategy.portfolio_config import StrategyPortfolio, load_portfolio
from services.strategy.settings import StrategySettings
from shared.events.catalog import SOURCE_OF, STRATEGY
from shared.events.publisher import EventPublisher, publisher_factory
from shared.marketdata.port import MarketCalendar, MarketData
from shared.runtime.container_cache import OnFirstUse, PerCredentials, with_settings
from shared.runtime.idempotency import IdempotentOperation, make_persistence
from shared.runtime.published_facts import WorkflowFacts, make_facts
from shared.venues.factory import calendar_for, market_data_for
from shared.venues.key_rotation import keys_fingerprint

OPERATION = "strategy-run"
CACHED_CONTAINERS = 8


@dataclass(frozen=True)
class Dependencies:
    settings: StrategySettings
    """The settings of this invocation (the clock included); the adapters below are shared."""
    calendar: MarketCalendar
    market_data: MarketData
    portfolio: Callable[[], StrategyPortfolio]
    """The configured strategies, parsed once; raises PortfolioConfigError / StrategyError."""
    idempotency: IdempotentOperation
    publisher_for: Callable[[str], EventPublisher]
    """request id -> the publisher for that invocation."""
    facts: WorkflowFacts
    """Where `publisher_for`'s publishers record what the strategy publishes, for the portfolio and the
    orchestrator to check (shared/runtime/published_facts.py)."""


def build(settings: StrategySettings) -> Dependencies:
    """Every adapter from `settings` (tests replace any of them with `dataclasses.replace`)."""
    persistence = make_persistence(table_name=settings.idempotency_table, state_dir=settings.state_dir,
                                   local=settings.local)
    facts = make_facts(local=settings.local, state_dir=settings.state_dir, table_name=settings.idempotency_table)
    return Dependencies(
        settings=settings,
        calendar=make_calendar(settings),
        market_data=market_data_for(settings),
        portfolio=portfolio_loader(settings.strategy_config),
        idempotency=IdempotentOperation(OPERATION, persistence, expires_after_seconds=settings.run_idempotency_seconds),
        publisher_for=publisher_factory(settings, SOURCE_OF[STRATEGY], facts),
        facts=facts,
    )


def make_calendar(settings: StrategySettings) -> MarketCalendar:
    """Alpaca's trading calendar (holidays and early closes as the broker has them) or the offline one."""
    return calendar_for(settings, settings.calendar_source)


def portfolio_loader(path: Path) -> Callable[[], StrategyPortfolio]:
    """Load (parse every strategy file) on the first call; later calls return the same portfolio."""
    return OnFirstUse(lambda: load_portfolio(path))


def keys_in_use(settings: StrategySettings) -> str:
    """The fingerprint of the keys the calendar and the bars use in AWS ('' when neither is a venue's)."""
    return keys_fingerprint(settings, (settings.calendar_source, settings.market_data_source))


# The clock is not part of the key: no adapter depends on it, so a local run that moves the clock
# keeps its parsed strategies; each invocation gets its own settings (its clock) back. The keys
# are: a rotated secret builds new Alpaca clients (shared/venues/key_rotation.py).
_cached: PerCredentials[StrategySettings, Dependencies] = PerCredentials(build, fingerprint=keys_in_use,
                                                                      ignore={"as_of"}, maxsize=CACHED_CONTAINERS)


def dependencies(settings: StrategySettings) -> Dependencies:
    """Adapters once per container per configuration, with this invocation's settings (its clock)."""
    return with_settings(_cached(settings), settings)


def clear_cache() -> None:
    """Forget every container's adapters (tests)."""
    _cached.clear()
