"""The backtest engine: every session of a range run as the trading chain runs it.

For each session D, in order:
1. **Signals** — `services.strategy.signals.evaluate_signals`, the strategy Lambda's own function, on
   the data a 09:35 run on D reads (the closes through the previous session, `data_date`): every
   strategy on one indicator cache, netted by allocation (services/strategy/netting.py).
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

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from datetime import time as time_of_day
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from alchemiser.backtest.fills import CENT, FillModel
from alchemiser.backtest.simulation import BlockedDay, Simulation, rules_of, simulate

if TYPE_CHECKING:
    from services.portfolio.planner import Parameters, StrategyPart
    from services.strategy.portfolio_config import StrategyPortfolio
    from services.strategy.signals import Signals
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
    own rule (`services.strategy.workflow.data_day`: the last session closed at that moment, so D-1)."""
    from services.strategy.workflow import data_day
    from shared.runtime.clock import NEW_YORK

    return data_day(calendar, at or datetime.combine(day, RUN_TIME, NEW_YORK))


# ---------------------------------------------------------------------------------------- signals


def signals_for(config: BacktestConfig, day: date, data_date: date) -> Signals:
    """The strategy Lambda's evaluation for a run on `day`. One call: a strategy's `:rebalance-frequency`
    (services/strategy/rebalance.py: between rebalance days the targets of the last one are held) is
    applied inside `evaluate_signals`, exactly as in the Lambda; at near-close timing, with D's latest
    trades at the decision time as D's bar, as the Lambda's near-close run."""
    from services.strategy.signals import evaluate_signals

    at = decision_time(config, day)
    if at is None:
        return evaluate_signals(config.portfolio, config.market_data, data_date)
    return evaluate_signals(config.portfolio, config.market_data, data_date, today=config.calendar.session(day),
                            latest_at=at)


def check_history(config: BacktestConfig, first_data_date: date) -> None:
    """The data must hold every strategy's lookback before the first session; else say from when it can run."""
    from shared.marketdata.port import MarketDataError

    portfolio = config.portfolio
    try:
        history = config.market_data.history(portfolio.symbols, first_data_date, portfolio.lookback_days)
    except MarketDataError as exc:
        try:
            config.market_data.history(portfolio.symbols, config.end, 1)
        except MarketDataError:  # missing at the end too: a ticker the data does not have
            raise BacktestError(_locate_missing(config, first_data_date) or f"market data: {exc}") from exc
        if _has_any(config, first_data_date):  # some symbols have data then: a young one names its strategy
            raise BacktestError(_locate_missing(config, first_data_date) or f"market data: {exc}") from exc
        raise BacktestError(f"--from {config.start} is before the market data starts: the first session trades "
                            f"on the closes of {first_data_date}, and {exc}") from exc
    found = int(history.dates.shape[0])
    if history.as_of < first_data_date:
        raise BacktestError(f"the market data ends on {history.as_of}, before {first_data_date} "
                            f"(the closes the first session, {config.start}, trades on)")
    if found < portfolio.lookback_days:
        worst = max(portfolio.strategies, key=lambda e: e.symphony.lookback_days)
        first = history.dates[0].astype(date)
        raise BacktestError(
            f"--from {config.start} is too early: strategy {worst.name!r} ({worst.file.name}) needs "
            f"{worst.symphony.lookback_days} sessions of history before each day, but the data holds only "
            f"{found} sessions up to {first_data_date} (it starts on {first}); start {portfolio.lookback_days - found} "
            "sessions later or use data that reaches further back")


def _has_any(config: BacktestConfig, data_date: date) -> bool:
    from shared.marketdata.port import MarketDataError

    for symbol in config.portfolio.symbols:
        try:
            config.market_data.history([symbol], data_date, 1)
            return True
        except MarketDataError:
            continue
    return False


def _locate_missing(config: BacktestConfig, data_date: date) -> str | None:
    """"strategy 'x' (file:line:col): no price data for ticker 'NOPE' ..." for the first symbol without data."""
    from shared.marketdata.port import MarketDataError

    for entry in config.portfolio.strategies:
        for symbol in entry.symphony.symbols:
            try:
                config.market_data.history([symbol], data_date, 1)
            except MarketDataError as exc:
                from services.strategy.language.evaluator import first_use

                at = first_use(entry.symphony.body, symbol).pos
                return (f"strategy {entry.name!r}: {entry.symphony.source_file}:{at.line}:{at.column}: no price data "
                        f"for ticker '{symbol}' on {data_date} (the first session {config.start} trades on it): "
                        f"{exc}")
    return None


def evaluate_days(config: BacktestConfig, sessions: Sequence[date],
                  progress: Progress | None = None, stats: dict[str, int] | None = None) -> list[DayTarget]:
    """Every session's targets. All sessions are evaluated at once on one whole-history indicator
    cache (services/strategy/language/timeline.py); a day the vectorised pass cannot vouch for (a
    decision on a knife edge, a value that is undefined, stale data) is evaluated one by one with
    the strategy function's own `evaluate_signals`, which also raises its errors. `stats` receives
    {"vectorised": n, "one_by_one": m}."""
    data_dates = [data_date_of(config.calendar, day, decision_time(config, day)) for day in sessions]
    # near-close: each day has its own bar of latest trades, so each is evaluated on its own
    fast = _FastPath.build(config, data_dates) if config.timing == "previous-close" else None
    targets: list[DayTarget] = []
    counts = {"vectorised": 0, "one_by_one": 0}
    for index, (day, data_date) in enumerate(zip(sessions, data_dates, strict=True)):
        target = fast.target(index, day, data_date) if fast is not None else None
        if target is None:
            target = _one_day(config, day, data_date)
            counts["one_by_one"] += 1
        else:
            counts["vectorised"] += 1
        targets.append(target)
        if progress is not None:
            progress("evaluate", index + 1, len(sessions))
    if stats is not None:
        stats.update(counts)
    return targets


def _one_day(config: BacktestConfig, day: date, data_date: date) -> DayTarget:
    from services.portfolio.planner import StrategyPart
    from services.strategy.language import StrategyError
    from shared.marketdata.port import MarketDataError

    files = {e.symphony.source_file: e.name for e in config.portfolio.strategies}
    try:
        signals = signals_for(config, day, data_date)
    except StrategyError as exc:
        name = files.get(exc.file, "?")
        raise BacktestError(f"strategy {name!r} cannot be evaluated for {day} (closes of {data_date}): "
                            f"{exc}") from exc
    except MarketDataError as exc:
        raise BacktestError(f"market data for {day} (closes of {data_date}): {exc}") from exc
    except Exception as exc:
        from services.strategy.signals import StaleMarketData

        if isinstance(exc, StaleMarketData):
            raise BacktestError(f"{day}: {exc}") from exc
        raise
    parts = tuple(StrategyPart(o.entry.name, o.entry.allocation, dict(o.evaluation.weights),
                               o.entry.symphony.rebalance_threshold) for o in signals.outcomes)
    return DayTarget(day, signals.data_as_of, dict(signals.weights), parts)


class _FastPath:
    """Every strategy's timeline over the data dates of the whole range, on one history."""

    def __init__(self, config: BacktestConfig, dates: Any, rows: dict[str, Any], at: list[int | None]) -> None:
        self.config = config
        self.dates = dates
        self.rows = rows
        self.at = at
        self._decimal: dict[tuple[str, bytes], dict[str, Decimal]] = {}
        self._net: dict[tuple[Any, ...], dict[str, Decimal]] = {}

    @classmethod
    def build(cls, config: BacktestConfig, data_dates: Sequence[date]) -> _FastPath | None:
        import numpy as np

        from services.strategy.language import IndicatorCache
        from services.strategy.language.timeline import timeline
        from services.strategy.rebalance import rebalance_mask
        from services.strategy.signals import history_window
        from shared.marketdata.port import MarketDataError

        portfolio = config.portfolio
        if not portfolio.strategies:
            return None
        window = history_window(portfolio)
        requested = window + len(data_dates) + 5
        try:
            history = config.market_data.history(portfolio.symbols, max(data_dates), requested)
        except MarketDataError:
            return None  # the days say which one fails, one by one
        dates = history.dates
        from_the_start = dates.shape[0] < requested  # the data's first bar: a short window starts there too
        wanted = np.asarray([np.datetime64(d, "D") for d in data_dates])
        index = np.searchsorted(dates, wanted, side="right") - 1
        at: list[int | None] = [int(i) if i >= 0 and (i >= window - 1 or from_the_start) and dates[i] == w else None
                                for i, w in zip(index, wanted, strict=True)]
        ends = np.asarray([i if i is not None else 0 for i in at], dtype=np.int64)
        cache = IndicatorCache(history)
        rows: dict[str, Any] = {}
        for entry in portfolio.strategies:
            frequency = entry.symphony.rebalance_frequency
            days = ends
            if frequency not in ("daily", "none"):
                mask = rebalance_mask(frequency, dates)
                last = np.maximum.accumulate(np.where(mask, np.arange(dates.shape[0]), 0))
                days = last[ends]
            rows[entry.name] = timeline(entry.symphony, cache, days, window=window, window_ends=ends)
        return cls(config, dates, rows, at)

    def target(self, k: int, day: date, data_date: date) -> DayTarget | None:
        from services.portfolio.planner import StrategyPart

        if self.at[k] is None:
            return None
        lines = self.rows
        if not all(bool(line.exact[k]) for line in lines.values()):
            return None
        parts = []
        for entry in self.config.portfolio.strategies:
            weights = self._weights(entry.name, lines[entry.name], k)
            parts.append(StrategyPart(entry.name, entry.allocation, weights, entry.symphony.rebalance_threshold))
        key = tuple((p.name, tuple(p.weights.items())) for p in parts)
        net = self._net.get(key)
        if net is None:
            net = self._net[key] = _net(self.config, parts)
        return DayTarget(day, data_date, dict(net), tuple(parts))

    def _weights(self, name: str, line: Any, k: int) -> dict[str, Decimal]:
        from services.strategy.language.evaluator import to_decimal_weights

        key = (name, line.weights[k].tobytes())
        found = self._decimal.get(key)
        if found is None:
            found = self._decimal[key] = to_decimal_weights(line.row(k))
        return dict(found)


def _net(config: BacktestConfig, parts: Sequence[StrategyPart]) -> dict[str, Decimal]:
    """The strategy function's netting (services/strategy/netting.py) of the day's answers."""
    from services.strategy.language.evaluator import Evaluation
    from services.strategy.netting import net_allocations

    files = {e.name: e.symphony for e in config.portfolio.strategies}
    results = [(p.name, p.allocation, Evaluation(p.name, files[p.name].source_file, date.min, dict(p.weights),
                                                 _no_explanation())) for p in parts]
    return net_allocations(results).weights


@functools.cache
def _no_explanation() -> Any:
    """The netting reads weights only: one empty explanation serves every day's evaluations."""
    from services.strategy.language.explanation import Builder, freeze
    from services.strategy.language.nodes import NO_POS

    return freeze(Builder("symphony", "", 1.0, NO_POS, {}))


# ---------------------------------------------------------------------------------------- prices


class DayPrices:
    """D's prices, read once per (day, symbol): the close the simulated broker fills at (its
    `price_source`), or D's open when the market data has opens (`latest_open`)."""

    def __init__(self, market_data: MarketData, *, opens: bool = True) -> None:
        from shared.broker.factory import price_source

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
        missing = [s for s in symbols if s not in self._closes]
        if missing and self._many is not None:
            assert self._day is not None
            self._closes.update(self._many(missing, self._day))
        return {s: self.close(s) for s in symbols}

    def close(self, symbol: str) -> Decimal:
        price = self._closes.get(symbol)
        if price is None:
            price = self._closes[symbol] = Decimal(self._close(symbol))
        return price

    def fill(self, symbol: str) -> Decimal:
        if self._opens is None:
            return self.close(symbol)
        price = self._fills.get(symbol)
        if price is None:
            price = self._fills[symbol] = Decimal(self._opens(symbol, self._day))
        return price


# ---------------------------------------------------------------------------------------- the whole run


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
