"""The events a trading run publishes, built from the run and its signals: WorkflowStarted and
SignalGenerated (fitted under EventBridge's size limit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.strategy.portfolio_config import StrategyPortfolio
from services.strategy.run_rules import Trigger, display_file
from services.strategy.settings import StrategySettings
from services.strategy.signals import Signals
from shared.events.base import EventContext
from shared.events.signal_generated import SignalGenerated, StrategySignal
from shared.events.workflow_started import StrategyRef, WorkflowStarted
from shared.limits.model import Limits
from shared.marketdata.port import Session

EVENT_BUDGET_BYTES = 200_000
"""SignalGenerated is kept under this (EventBridge's limit is 256 KB): explanations are cut first."""


@dataclass(frozen=True)
class Run:
    correlation_id: str
    context: EventContext
    trigger: Trigger
    day: date
    data_day: date
    now: datetime
    request_id: str | None
    today: Session | None = None
    """Composer's timing: the session whose latest trades (at `now`) are today's bar."""


def started_event(run: Run, portfolio: StrategyPortfolio | None, settings: StrategySettings) -> WorkflowStarted:
    refs: tuple[StrategyRef, ...] = ()
    if portfolio is not None:
        base = portfolio.source.parent
        refs = tuple(StrategyRef(name=e.name, file=display_file(e.file, base), allocation=e.allocation)
                     for e in portfolio.strategies)
    return WorkflowStarted.create(run.context, occurred_at=run.now, trigger=run.trigger, trading_date=run.day,
                                  as_of=run.now, stage=settings.stage, strategies=refs)


def signal_event(run: Run, signals: Signals, max_lines: int, limits: Limits | None = None) -> SignalGenerated:
    """`limits`: the workflow's (default: the portfolio file's)."""
    strategies = tuple(
        StrategySignal(name=o.entry.name, file=o.file, allocation=o.entry.allocation,
                       weights=dict(o.evaluation.weights), rebalance_threshold=o.entry.symphony.rebalance_threshold,
                       explanation=o.evaluation.summary_lines(max_lines))
        for o in signals.outcomes
    )
    return SignalGenerated.create(run.context, occurred_at=run.now, trading_date=run.day,
                                  data_as_of=signals.data_as_of, target_weights=dict(signals.weights),
                                  strategies=strategies, symbols=signals.portfolio.symbols,
                                  limits=limits if limits is not None else signals.portfolio.limits)


def fitted_signal_event(run: Run, signals: Signals, max_lines: int, limits: Limits | None = None) -> SignalGenerated:
    """The event with as many explanation lines (up to `max_lines`) as keep it under the budget."""
    event = signal_event(run, signals, max_lines, limits)
    while len(event.model_dump_json().encode()) > EVENT_BUDGET_BYTES and max_lines > 1:
        max_lines = max(1, max_lines // 2)
        event = signal_event(run, signals, max_lines, limits)
    return event
