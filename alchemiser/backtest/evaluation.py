"""The backtest's evaluation: every session's targets, by the strategy function's own evaluation.

All sessions are evaluated at once on one whole-history indicator cache; a day the vectorised pass
cannot vouch for is evaluated one by one with `evaluate_signals`, as the strategy Lambda runs it.
(Moved out of engine.py unchanged, so that evaluation and planning each have their own module.)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from alchemiser.backtest.sessions import BacktestConfig, BacktestError, DayTarget, Progress, data_date_of, decision_time

if TYPE_CHECKING:
    from services.portfolio.planner import StrategyPart
    from services.strategy.signals import Signals


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
    """The first session must be one every strategy can be evaluated on, by the one rule the strategy
    function applies (`evaluate_signals`: services/strategy/language/days.py decides). If some
    cannot, say for every one of them at once from which session on it can, and why not before."""
    from shared.marketdata.port import MarketDataError

    portfolio = config.portfolio
    last_data_date = data_date_of(config.calendar, config.end, decision_time(config, config.end))
    try:
        latest = config.market_data.history(portfolio.symbols, last_data_date, 1)
    except MarketDataError as exc:  # missing at the end too: a ticker the data does not have at all
        raise BacktestError(_locate_missing(config, last_data_date) or f"market data: {exc}") from exc
    if latest.as_of < first_data_date:
        raise BacktestError(f"the market data ends on {latest.as_of}, before {first_data_date} "
                            f"(the closes the first session, {config.start}, trades on)")
    try:
        config.market_data.history(portfolio.symbols, first_data_date, 1)
    except MarketDataError as exc:
        if not _has_any(config, first_data_date):
            raise BacktestError(f"--from {config.start} is before the market data starts: the first session "
                                f"trades on the closes of {first_data_date}, and {exc}") from exc
    from services.strategy.signals import evaluate_signals

    first = evaluate_signals(portfolio, config.market_data, first_data_date, require_fresh=False, collect_errors=True)
    if first.failures:
        raise BacktestError(_too_early(config, first_data_date, {f.name: f.reason for f in first.failures}))


def _has_any(config: BacktestConfig, data_date: date) -> bool:
    from shared.marketdata.port import MarketDataError

    for symbol in config.portfolio.symbols:
        try:
            config.market_data.history([symbol], data_date, 1)
            return True
        except MarketDataError:
            continue
    return False


_SEARCH_BEYOND = timedelta(days=3 * 366)
"""How far past --to the first session a strategy can start on is looked for."""


def _first_sessions(config: BacktestConfig, names: set[str]) -> dict[str, date | None]:
    """For each of `names`: the first session from which every session through --to (or, when there
    is none, through 3 years later) can be evaluated; None when there is no such session."""
    from alchemiser.backtest.sessions import sessions_of

    found: dict[str, date | None] = dict.fromkeys(names)
    for through in (config.end, config.end + _SEARCH_BEYOND):
        try:
            ranged = replace(config, end=through, timing="previous-close")
            sessions = sessions_of(ranged)
        except BacktestError:
            break
        fast = _FastPath.build(ranged, [data_date_of(config.calendar, d) for d in sessions])
        if fast is None:
            break
        for name in [n for n, day in found.items() if day is None]:
            ok = fast.rows[name].ok & fast.valid
            failing = [k for k in range(len(sessions)) if not ok[k]]
            if failing and failing[-1] < len(sessions) - 1:
                found[name] = sessions[failing[-1] + 1]
        if all(day is not None for day in found.values()):
            break
    return found


def _too_early(config: BacktestConfig, first_data_date: date, reasons: dict[str, str]) -> str:
    """"--from X is too early for 2 of 3 strategies: 'a' (a.clj): can start on Y; on the closes of
    Z: why not" for every strategy that cannot be evaluated on the first session's closes."""
    starts = _first_sessions(config, set(reasons))
    lines = []
    for entry in config.portfolio.strategies:
        if entry.name not in reasons:
            continue
        start = starts[entry.name]
        when = f"can start on {start}" if start is not None else (
            f"cannot be evaluated on any session through {config.end + _SEARCH_BEYOND}")
        lines.append(f"  {entry.name!r} ({entry.file.name}): {when}; on the closes of {first_data_date}: "
                     f"{reasons[entry.name]}")
    known = [day for day in starts.values() if day is not None]
    count = len(config.portfolio.strategies)
    advice = (f"Start --from {max(known)} or later, or use data that reaches further back." if known else
              "Use data that reaches further back.")
    return "\n".join([f"--from {config.start} is too early for {len(reasons)} of {count} "
                      f"strateg{'y' if count == 1 else 'ies'} (each session trades on the previous session's "
                      "closes):", *lines, advice])


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
                        f"for ticker '{symbol}' through {data_date} (the last session, {config.end}, trades on it): "
                        f"{exc}")
    return None


def evaluate_days(config: BacktestConfig, sessions: Sequence[date],
                  progress: Progress | None = None, stats: dict[str, int] | None = None) -> list[DayTarget]:
    """Every session's targets. All sessions are evaluated at once on one whole-history indicator
    cache by the strategy language's evaluation over days (services/strategy/language/days.py),
    whose one-day case is what the strategy function runs: the same code, the same floats. A day it
    cannot evaluate (a value undefined on that day), or one whose data the history does not hold
    (stale data), goes to the strategy function's own `evaluate_signals`, which raises the day's
    error (or, at near-close timing, evaluates every day on its own bar of latest trades). `stats`
    receives {"vectorised": n, "one_by_one": m}."""
    data_dates = [data_date_of(config.calendar, day, decision_time(config, day)) for day in sessions]
    # near-close: each day has its own bar of latest trades, so each is evaluated on its own
    fast = (vectorised_targets(config, sessions, data_dates) if config.timing == "previous-close"
            else [None] * len(sessions))
    targets: list[DayTarget] = []
    counts = {"vectorised": 0, "one_by_one": 0}
    for index, (day, data_date) in enumerate(zip(sessions, data_dates, strict=True)):
        target = fast[index]
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


def vectorised_targets(config: BacktestConfig, sessions: Sequence[date],
                       data_dates: Sequence[date] | None = None) -> list[DayTarget | None]:
    """Every session's targets from one evaluation of every strategy over all sessions at once (at
    the previous-close timing: `data_dates`, the closes each session reads, default computed); None
    on a session some strategy cannot be evaluated on, by the rule `evaluate_signals` applies to
    that day alone, or whose data the history does not hold."""
    if data_dates is None:
        data_dates = [data_date_of(config.calendar, day) for day in sessions]
    fast = _FastPath.build(replace(config, timing="previous-close"), data_dates)
    if fast is None:
        return [None] * len(sessions)
    return [fast.target(k, day, data_date) for k, (day, data_date) in enumerate(zip(sessions, data_dates,
                                                                                     strict=True))]


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
    """Every strategy evaluated on the data dates of the whole range at once, on one history, its
    weights rounded and netted for every day at once (the rules of services/strategy/language/
    weights.py and services/strategy/netting.py, on whole units of 10^-9)."""

    def __init__(self, config: BacktestConfig, rows: dict[str, Any], at: list[int | None]) -> None:
        import numpy as np

        from services.strategy.language.weights import weight_units
        from services.strategy.netting import net_units

        self.config = config
        self.rows = rows
        self.valid = np.asarray([i is not None for i in at], dtype=np.bool_)
        """The history holds day k's data day (and its window)."""
        self.ok = self.valid.copy()
        for line in rows.values():
            self.ok &= line.ok
        self.tickers = tuple(sorted({t for line in rows.values() for t in line.tickers}))
        column = {t: j for j, t in enumerate(self.tickers)}
        self.units = {name: weight_units(line.weights[self.ok]) for name, line in rows.items()}
        self.row = np.cumsum(self.ok) - 1
        """Day k's row in the units (where ok)."""
        entries = config.portfolio.strategies
        self.net = net_units([e.allocation for e in entries], [self.units[e.name] for e in entries],
                             [np.asarray([column[t] for t in rows[e.name].tickers], dtype=np.int64) for e in entries],
                             len(self.tickers))
        self._last: dict[tuple[str, ...], tuple[bytes, dict[str, Decimal]]] = {}

    @classmethod
    def build(cls, config: BacktestConfig, data_dates: Sequence[date]) -> _FastPath | None:
        import numpy as np

        from services.strategy.language import IndicatorCache
        from services.strategy.language.days import evaluate_days
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
            symphony = entry.symphony
            rows[entry.name] = evaluate_days(symphony.body, cache, days, file=symphony.source_file,
                                             symbols=symphony.symbols, window=window, window_ends=ends)
        return cls(config, rows, at)

    def target(self, k: int, day: date, data_date: date) -> DayTarget | None:
        from services.portfolio.planner import StrategyPart

        if not self.ok[k]:
            return None
        row = int(self.row[k])
        parts = tuple(StrategyPart(e.name, e.allocation, self._weights(self.rows[e.name].tickers,
                                                                        self.units[e.name][row]),
                                   e.symphony.rebalance_threshold) for e in self.config.portfolio.strategies)
        net = _net(self.config, parts) if self.net is None else self._weights(self.tickers, self.net[row])
        return DayTarget(day, data_date, net, parts)

    def _weights(self, tickers: tuple[str, ...], units: Any) -> dict[str, Decimal]:
        """A day's row of units as a dict, built once for a run of equal rows (a strategy holding
        what it held the day before; a lone strategy's weights and its net), copied out."""
        from services.strategy.language.weights import decimal_weights

        key = units.tobytes()
        last = self._last.get(tickers)
        if last is None or last[0] != key:
            last = self._last[tickers] = (key, decimal_weights(tickers, units))
        return dict(last[1])


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
