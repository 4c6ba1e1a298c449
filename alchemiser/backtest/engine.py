"""The backtest engine: every session of a range run as the trading chain runs it.

For each session D, in order:
1. **Signals** — `services.strategy.signals.evaluate_signals`, the strategy Lambda's own function, on
   the data a 09:35 run on D reads (the closes through the previous session, `data_date`): every
   strategy on one indicator cache, netted by allocation (services/strategy/netting.py); see
   evaluation.py.
2. **Plan, limits, legs** — the portfolio's and the execution's steps of the day
   (`services.portfolio.day.plan_day`, `services.execution.day.prepare`) against the simulated
   account valued at D's prices, with the user's limits (simulation.py): a plan a limit refuses
   places nothing that day, as in the chain, and the day is listed in `BacktestResult.blocked`.
3. **Fills** — sells first, then the buys fitted to the buying power left, each filled by the fill
   model (fills.py) at D's open when the data has opens, else at D's close.
4. **Equity** — cash + positions at D's close.

What the backtest cannot apply (the live chain can): the kill switch (an operator's decision),
broker rejections other than buying power / quantity (halts, asset status changes), partial
fills, market-closed or stale-data failures (the range holds sessions only, the data is read
through the same day), and the real broker's fill prices.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING

from alchemiser.backtest.fills import CENT
from alchemiser.backtest.sessions import (
    BacktestConfig,
    BacktestError,
    DayPrices,
    DayTarget,
    Progress,
    data_date_of,
    decision_time,
    sessions_of,
)
from alchemiser.backtest.simulation import BlockedDay, Simulation, rules_of, simulate

if TYPE_CHECKING:
    from shared.limits.model import Limits

__all__ = ["BacktestConfig", "BacktestError", "BacktestResult", "DayPrices", "DayTarget", "Progress",
           "benchmark_closes", "data_date_of", "decision_time", "run_backtest", "sessions_of", "solo_targets"]


@dataclass
class BacktestResult:
    config: BacktestConfig
    sessions: list[date]
    targets: list[DayTarget]
    portfolio: Simulation
    strategies: dict[str, Simulation]
    benchmark: list[tuple[date, Decimal]] | None
    """(trade date, benchmark close) per session."""
    fill_basis: str
    """"open" or "close": the price orders fill at."""
    seconds: dict[str, float]
    blocked: list[BlockedDay] = field(default_factory=list)
    """The portfolio's sessions a limit refused (one entry per binding limit): nothing was placed."""
    clipped: list[BlockedDay] = field(default_factory=list)
    """The portfolio's sessions the position cap clipped (position_cap = clip)."""

    @property
    def limits(self) -> Limits:
        from shared.limits.model import Limits

        return self.config.limits or Limits()




def solo_targets(targets: Sequence[DayTarget], name: str) -> list[DayTarget]:
    """One strategy's own answers, as if it were the whole portfolio."""
    out = []
    for target in targets:
        part = next(p for p in target.strategies if p.name == name)
        out.append(DayTarget(target.trade_date, target.data_date, dict(part.weights),
                             (replace(part, allocation=Decimal(1)),)))
    return out


def benchmark_closes(config: BacktestConfig, sessions: Sequence[date]) -> list[tuple[date, Decimal]] | None:
    if not config.benchmark:
        return None
    from shared.marketdata.port import MarketDataError

    prices = DayPrices(config.market_data)
    try:
        return [(day, prices.on(day).close(config.benchmark)) for day in sessions]
    except MarketDataError as exc:
        raise BacktestError(f"benchmark {config.benchmark}: {exc}") from exc


def run_backtest(config: BacktestConfig, progress: Progress | None = None) -> BacktestResult:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    sessions = sessions_of(config)
    if config.timing not in ("previous-close", "near-close"):
        raise BacktestError(f"unknown timing {config.timing!r}: previous-close or near-close")
    from alchemiser.backtest.evaluation import check_history, evaluate_days

    check_history(config, data_date_of(config.calendar, sessions[0], decision_time(config, sessions[0])))
    benchmark = benchmark_closes(config, sessions)
    seconds["setup"] = time.perf_counter() - started
    mark = time.perf_counter()
    targets = evaluate_days(config, sessions, progress)
    seconds["evaluate"] = time.perf_counter() - mark
    mark = time.perf_counter()
    rules = rules_of(config)
    prices = DayPrices(config.market_data, opens=config.timing == "previous-close")
    portfolio = simulate(targets, config.capital, rules, prices, progress, "simulate")
    strategies: dict[str, Simulation] = {}
    solo_rules = replace(rules, limits=None)  # the limits bound the whole account, not one strategy's share
    held = frozenset(portfolio.blocked_days)  # ... but a solo run never trades a day the account did not
    if config.attribution:
        for entry in config.portfolio.strategies:
            capital = (config.capital * entry.allocation).quantize(CENT, ROUND_HALF_EVEN)
            strategies[entry.name] = simulate(solo_targets(targets, entry.name), capital, solo_rules, prices,
                                              progress, f"strategy {entry.name}", hold_on=held)
    seconds["simulate"] = time.perf_counter() - mark
    return BacktestResult(config, sessions, targets, portfolio, strategies, benchmark, prices.basis, seconds,
                          blocked=list(portfolio.blocked), clipped=list(portfolio.clipped))
