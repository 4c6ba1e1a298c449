"""The evaluation: every strategy of the portfolio on one price history, netted (`evaluate_signals`).

The strategy function's trading run, its `signal` and `plan` modes, the backtest and the CLI all
evaluate through `evaluate_signals`; `history_window` says how many sessions of history it reads.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.strategy.language import Evaluation, IndicatorCache, StrategyError, evaluate
from services.strategy.netting import NetAllocation, net_allocations
from services.strategy.portfolio_config import StrategyEntry, StrategyPortfolio
from services.strategy.run_rules import data_through, display_file, stale_reason
from shared.marketdata.port import MarketData, MarketDataError, PriceHistory, Session, with_today


class StaleMarketData(Exception):
    """The history does not reach the session the run needs."""

    def __init__(self, data_as_of: date, needed: date) -> None:
        self.data_as_of, self.needed = data_as_of, needed
        super().__init__(stale_reason(data_as_of, needed))


@dataclass(frozen=True)
class StrategyOutcome:
    entry: StrategyEntry
    file: str
    """As events show it: relative to the portfolio file's folder."""
    evaluation: Evaluation


@dataclass(frozen=True)
class Signals:
    """Every strategy's answer on one price history, and their net."""

    portfolio: StrategyPortfolio
    data_day: date
    """The session whose closes the run needs."""
    data_as_of: date
    """The last day of the history actually read (== data_day unless stale data was allowed)."""
    outcomes: tuple[StrategyOutcome, ...]
    net: NetAllocation | None
    """None when some strategy failed (`failures`, collected only when asked): nothing to net."""
    evaluation_ms: float
    failures: tuple[StrategyFailure, ...] = ()
    synthetic: bool = False
    """The prices are generated (offline data), not real market data: every output says so."""
    latest_at: datetime | None = None
    """Composer's timing: the last day's bar is each symbol's latest trade at this moment."""

    @property
    def weights(self) -> dict[str, Decimal]:
        return self.net.weights if self.net is not None else {}

    @property
    def data_through(self) -> str:
        """"data through 2026-11-24 close" (with the synthetic label when it applies)."""
        return data_through(self.data_as_of, latest=self.latest_at, synthetic=self.synthetic)

    def as_dict(self, max_lines: int | None = None) -> dict[str, Any]:
        """JSON-ready: {"weights", "strategies": {name: {...}}, "as_of", "symbols"}; decimals as strings."""
        return {
            "weights": weight_strings(self.weights),
            "strategies": {
                o.entry.name: {
                    "file": o.file,
                    "allocation": str(o.entry.allocation),
                    "weights": weight_strings(o.evaluation.weights),
                    "rebalance_threshold": _text(o.entry.symphony.rebalance_threshold),
                    "explanation": list(_explanation(o.evaluation, max_lines)),
                }
                for o in self.outcomes
            },
            "as_of": self.data_as_of.isoformat(),
            "data_through": self.data_through,
            "synthetic": self.synthetic,
            "symbols": list(self.portfolio.symbols),
            **({"errors": {f.name: {"file": f.file, "error": f.reason} for f in self.failures}}
               if self.failures else {}),
        }


@dataclass(frozen=True)
class StrategyFailure:
    """One strategy that could not be evaluated (collected by `signals`, beside the others)."""

    name: str
    file: str
    reason: str


def history_window(portfolio: StrategyPortfolio) -> int:
    """Sessions of history a run evaluates on (ending on its data day): every strategy's lookback,
    and the reach back to the start of a rebalance period."""
    return portfolio.lookback_days + _rebalance_margin(portfolio) if portfolio.strategies else 1


def _rebalance_margin(portfolio: StrategyPortfolio) -> int:
    """Extra sessions of history so that each strategy's period start is inside the history."""
    from services.strategy.rebalance import MAX_SESSIONS_PER_PERIOD

    return max(MAX_SESSIONS_PER_PERIOD[e.symphony.rebalance_frequency] for e in portfolio.strategies)


def _evaluation_day(entry: StrategyEntry, dates: Any) -> date | None:
    """The day the strategy decides on: its most recent rebalance day (None: the last day)."""
    frequency = entry.symphony.rebalance_frequency
    if frequency in ("daily", "none"):
        return None
    from services.strategy.rebalance import rebalance_day

    return rebalance_day(frequency, dates[-1], dates)


def evaluate_signals(portfolio: StrategyPortfolio, market_data: MarketData, data_day: date, *,
                     require_fresh: bool = True, collect_errors: bool = False,
                     failures: Iterable[StrategyFailure] = (), today: Session | None = None,
                     latest_at: datetime | None = None) -> Signals:
    """One PriceHistory for the union of symbols (the longest lookback) ending on `data_day`, every
    strategy evaluated on one shared IndicatorCache, then netted. A strategy with a rebalance
    frequency other than daily is evaluated as of its most recent rebalance day
    (services/strategy/rebalance.py), on the same history.

    Raises StrategyError, MarketDataError, StaleMarketData (unless `require_fresh` is off). With
    `collect_errors` (the `signals` command), a strategy's StrategyError or MarketDataError is
    recorded in `Signals.failures` beside the others' results (`failures` adds those found while
    loading) and nothing is netted when any failed.

    With `today` and `latest_at` (Composer's timing), each symbol's latest trade at `latest_at`
    (the market data's `latest_prices`) is appended as `today`'s bar after `data_day`'s closes.
    """
    base = portfolio.source.parent
    found = list(failures)
    lookback = history_window(portfolio)
    try:
        history = market_data.history(portfolio.symbols, data_day, lookback)
        histories = dict.fromkeys((e.name for e in portfolio.strategies), history)
    except MarketDataError:
        if not collect_errors:
            raise
        history, histories = None, {}
        for entry in portfolio.strategies:  # one history per strategy: name the ones without data
            try:
                own = _history_of(market_data, entry.symphony.symbols, data_day, lookback)
            except MarketDataError as exc:
                found.append(StrategyFailure(entry.name, display_file(entry.file, base), f"market data: {exc}"))
                continue
            histories[entry.name] = own
            history = history or own
    as_of = history.as_of if history is not None else data_day
    if require_fresh and stale_reason(as_of, data_day) is not None:
        raise StaleMarketData(as_of, data_day)
    if today is not None and latest_at is not None and history is not None:
        latest = getattr(market_data, "latest_prices", None)
        if latest is None:
            raise MarketDataError(f"near-close evaluation needs latest trades, which {market_data!r} does not have; "
                                  "use Alpaca data (or the offline source, which simulates them)")
        prices = latest(portfolio.symbols, latest_at)
        extended: dict[int, PriceHistory] = {}
        histories = {name: extended.setdefault(id(h), with_today(h, today.date, prices)) if id(h) not in extended
                     else extended[id(h)] for name, h in histories.items()}
        history = next(iter(histories.values()), history)
        as_of = today.date
    started = time.perf_counter()
    caches: dict[int, IndicatorCache] = {}
    outcomes: list[StrategyOutcome] = []
    for entry in portfolio.strategies:
        if entry.name not in histories:
            continue
        own = histories[entry.name]
        cache = caches.setdefault(id(own), IndicatorCache())
        try:
            evaluation = evaluate(entry.symphony, own, cache, on=_evaluation_day(entry, own.dates))
        except StrategyError as exc:
            if not collect_errors:
                raise
            found.append(StrategyFailure(entry.name, display_file(entry.file, base), str(exc)))
            continue
        outcomes.append(StrategyOutcome(entry, display_file(entry.file, base), evaluation))
    net = None
    if not found:
        net = net_allocations([(o.entry.name, o.entry.allocation, o.evaluation) for o in outcomes])
    elapsed_ms = (time.perf_counter() - started) * 1000
    synthetic = bool(getattr(market_data, "synthetic", False))
    return Signals(portfolio, data_day, as_of, tuple(outcomes), net, elapsed_ms, tuple(found), synthetic,
                   latest_at if today is not None else None)


def _history_of(market_data: MarketData, symbols: Sequence[str], data_day: date, lookback: int) -> PriceHistory:
    """The history of `symbols`; when some have no data at all up to `data_day` (a young ticker, a
    typo), the history of the others, so that the evaluation names the missing ones where the file
    uses them (the rule the backtest applies to every day: services/strategy/language/days.py)."""
    try:
        return market_data.history(symbols, data_day, lookback)
    except MarketDataError:
        present = [s for s in symbols if _has_data(market_data, s, data_day)]
        if not present or len(present) == len(symbols):
            raise
        return market_data.history(present, data_day, lookback)


def _has_data(market_data: MarketData, symbol: str, data_day: date) -> bool:
    try:
        market_data.history([symbol], data_day, 1)
    except MarketDataError:
        return False
    return True


def _explanation(evaluation: Evaluation, max_lines: int | None) -> tuple[str, ...]:
    if max_lines is None:
        return tuple(evaluation.render().splitlines())
    return evaluation.summary_lines(max_lines)


def weight_strings(weights: Mapping[str, Decimal]) -> dict[str, str]:
    return {symbol: str(weight) for symbol, weight in weights.items()}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
