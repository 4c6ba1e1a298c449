"""What a backtest is asked (BacktestConfig), its sessions, the data day and decision time of each, and the
prices of a session (DayPrices): the vocabulary the engine, its evaluation and its simulation share, kept
apart from the engine so that neither of the two imports the engine back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alchemiser.backtest.fills import FillModel

if TYPE_CHECKING:
    from services.portfolio.planner import Parameters, StrategyPart
    from services.strategy.portfolio_config import StrategyPortfolio
    from shared.limits.model import Limits
    from shared.marketdata.port import MarketCalendar, MarketData

Progress = Callable[[str, int, int], None]
"""(phase, done, total)."""


class BacktestError(Exception):
    """The backtest cannot run as asked: a usage error (exit code 2), the message says what and where."""


@dataclass(frozen=True)
class BacktestConfig:
    portfolio: StrategyPortfolio
    market_data: MarketData
    calendar: MarketCalendar
    start: date
    end: date
    capital: Decimal = Decimal("100000")
    fills: FillModel = field(default_factory=FillModel)
    parameters: Parameters | None = None
    """The planner's knobs; default: the portfolio function's defaults (PortfolioSettings)."""
    limits: Limits | None = None
    """The user's limits (shared/limits: the portfolio file, ALCHEMISER_*, flags); default: the defaults."""
    buying_power_margin: Decimal | None = None
    benchmark: str | None = "SPY"
    non_fractionable: frozenset[str] = frozenset()
    attribution: bool = True
    """Also run each strategy alone with its allocation of the capital."""
    timing: str = "previous-close"
    """The strategy function's `evaluation_timing`: "previous-close" (the 09:35 run on D-1's closes)
    or "near-close" (Composer's: `near_close_minutes` before D's close, D's latest trades as D's bar,
    filled at D's close as the simulated broker fills a near-close run)."""
    near_close_minutes: int = 10


@dataclass(frozen=True)
class DayTarget:
    """What the strategies decided for one session."""

    trade_date: date
    data_date: date
    weights: dict[str, Decimal]
    """The netted target (what SignalGenerated carries)."""
    strategies: tuple[StrategyPart, ...]
    """Each strategy's own answer (allocation, weights, rebalance threshold)."""



# ---------------------------------------------------------------------------------------- sessions


def sessions_of(config: BacktestConfig) -> list[date]:
    if config.end < config.start:
        raise BacktestError(f"--from {config.start} is after --to {config.end}")
    days = [d.astype(date) for d in _sessions_between(config.calendar, config.start, config.end)]
    if not days:
        raise BacktestError(f"no trading session between {config.start} and {config.end} "
                            "(weekends and exchange holidays only); widen the range")
    return days


def _sessions_between(calendar: MarketCalendar, start: date, end: date) -> Any:
    between = getattr(calendar, "sessions_between", None)
    if between is None:
        raise BacktestError("the calendar cannot list sessions")
    try:
        return between(start, end)
    except ValueError as exc:
        raise BacktestError(str(exc)) from exc


RUN_TIME = time_of_day(9, 35)
"""When the Scheduler starts a trading day (New York): the backtest's runs happen then too."""


def decision_time(config: BacktestConfig, day: date) -> datetime | None:
    """When a near-close run on `day` decides (its close minus `near_close_minutes`); None at 09:35 timing."""
    if config.timing != "near-close":
        return None
    from datetime import timedelta

    session = config.calendar.session(day)
    if session is None:
        raise BacktestError(f"{day} is not a trading session")
    return session.close - timedelta(minutes=config.near_close_minutes)


def data_date_of(calendar: MarketCalendar, day: date, at: datetime | None = None) -> date:
    """The session whose closes a run on `day` reads (at 09:35, or at `at`): the strategy function's
    own rule (`services.strategy.run_rules.data_day`: the last session closed at that moment, so D-1)."""
    from services.strategy.run_rules import data_day
    from shared.runtime.clock import NEW_YORK

    return data_day(calendar, at or datetime.combine(day, RUN_TIME, NEW_YORK))


# ---------------------------------------------------------------------------------------- prices


class DayPrices:
    """D's prices, read once per (day, symbol): the close the simulated broker fills at (its
    `price_source`), or D's open when the market data has opens (`latest_open`)."""

    def __init__(self, market_data: MarketData, *, opens: bool = True) -> None:
        from shared.venues.simulated.prices import price_source

        self._market_data = market_data
        self._price_source = price_source
        self._opens = getattr(market_data, "latest_open", None) if opens else None
        self._many = getattr(market_data, "latest_closes", None)
        self._day: date | None = None
        self._close: Any = None
        self._closes: dict[str, Decimal] = {}
        self._fills: dict[str, Decimal] = {}

    @property
    def basis(self) -> str:
        return "open" if self._opens is not None else "close"

    def on(self, day: date) -> DayPrices:
        if day != self._day:
            self._day, self._close = day, self._price_source(self._market_data, day)
            self._closes, self._fills = {}, {}
        return self

    def closes(self, symbols: Any) -> dict[str, Decimal]:
        """Several closes at once where the market data can (`latest_closes`), else one by one."""
        known = self._closes
        if self._many is not None and not known and symbols:  # the session's first read: all of them at once
            assert self._day is not None
            found: dict[str, Decimal] = self._many(list(symbols), self._day)
            known.update(found)
            return found
        missing = [s for s in symbols if s not in known]
        if missing and self._many is not None:
            assert self._day is not None
            known.update(self._many(missing, self._day))
            return {s: known[s] for s in symbols}
        return {s: self.close(s) for s in symbols}

    def close(self, symbol: str) -> Decimal:
        price = self._closes.get(symbol)
        if price is None:
            price = self._closes[symbol] = Decimal(self._close(symbol))
        return price

    def fills(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """`fill` of several symbols at once (the closes read together where the market data can)."""
        if self._opens is None:
            return self.closes(symbols)
        return {s: self.fill(s) for s in symbols}

    def fill(self, symbol: str) -> Decimal:
        if self._opens is None:
            return self.close(symbol)
        price = self._fills.get(symbol)
        if price is None:
            price = self._fills[symbol] = Decimal(self._opens(symbol, self._day))
        return price


# ---------------------------------------------------------------------------------------- the whole run
