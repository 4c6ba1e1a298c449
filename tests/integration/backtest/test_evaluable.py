"""One rule decides whether a day can be evaluated: for every strategy the generator draws (shaped
like real files: bench/strategy_generator.py) and every day, `evaluate_signals` (what `alchemiser
signals` and the strategy Lambda run) evaluates the day exactly when the backtest's pass over all
sessions does, and then with the same weights, the strategy's own and the netted ones.

The data: the offline market, each ticker starting on a day of its own, so that the range tested
crosses the first days a strategy can be evaluated on (young tickers, windows up to 600 sessions,
filters over groups nested as in real files).
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alchemiser.backtest.engine import BacktestConfig, data_date_of
from alchemiser.backtest.evaluation import vectorised_targets
from bench.strategy_generator import DIALECTS, sample_shape, tickers, write
from services.strategy.language import parse_file
from services.strategy.portfolio_config import StrategyEntry, StrategyPortfolio
from services.strategy.signals import evaluate_signals
from shared.marketdata.calendar import ExchangeCalendar
from shared.marketdata.offline import OfflineMarketData
from shared.marketdata.port import MarketDataError, PriceHistory

CALENDAR = ExchangeCalendar()
SESSIONS = [d.astype(date) for d in CALENDAR.sessions_between(date(2005, 1, 3), date(2010, 12, 31))]


class YoungMarketData:
    """The offline market with every ticker's data starting on its own day (NaN before)."""

    synthetic = True

    def __init__(self, starts: dict[str, date]) -> None:
        self.inner = OfflineMarketData(extra_symbols=list(starts))
        self.starts = {s: np.datetime64(d, "D") for s, d in starts.items()}

    def history(self, symbols: Sequence[str], end: date, lookback_days: int) -> PriceHistory:
        found = self.inner.history(symbols, end, lookback_days)
        closes, missing = {}, []
        for symbol, values in found.closes.items():
            values = values.copy()
            values[found.dates < self.starts.get(symbol, found.dates[0])] = np.nan
            if np.isnan(values).all():
                missing.append(symbol)
            closes[symbol] = values
        if missing:
            raise MarketDataError(f"no price data on or before {end} for: {', '.join(missing)}")
        return PriceHistory(found.dates, closes)


def _portfolio(folder: Path, rng: random.Random, seed: int) -> tuple[StrategyPortfolio, list[str]]:
    """One or two generated strategies (netted 0.6 / 0.4), in a random dialect each."""
    entries, names = [], set()
    count = 1 if rng.random() < 0.6 else 2
    for i, share in enumerate(["1"] if count == 1 else ["0.6", "0.4"]):
        shape = sample_shape(rng, max_lines=220, max_tickers=8)
        path = folder / f"gen{seed}_{i}.clj"
        path.write_text(write(shape, seed + i, rng.choice(DIALECTS)))
        entries.append(StrategyEntry(path.stem, path, Decimal(share), parse_file(path)))
        names.update(tickers(shape.tickers))
    return StrategyPortfolio(folder / "portfolio.toml", tuple(entries)), sorted(names)


def _days_to_check(ok: list[bool], rng: random.Random) -> list[int]:
    """Every session around the first one the backtest evaluates (or the last 60 when none), plus a
    sample of the others."""
    first = next((k for k, v in enumerate(ok) if v), len(ok) - 60)
    around = set(range(max(0, first - 40), min(len(ok), first + 40)))
    return sorted(around | set(rng.sample(range(len(ok)), min(25, len(ok)))))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6))
def test_signals_evaluates_a_day_exactly_when_the_backtest_does_and_with_the_same_weights(seed):
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        portfolio, names = _portfolio(Path(folder), rng, seed)
        starts = {s: SESSIONS[rng.randint(0, 400)] for s in names}
        market = YoungMarketData(starts)
        first = rng.randint(200, 900)
        sessions = SESSIONS[first : first + 400]
        config = BacktestConfig(portfolio, market, CALENDAR, sessions[0], sessions[-1],  # type: ignore[arg-type]
                                attribution=False, benchmark=None)
        targets = vectorised_targets(config, sessions)
        checked = evaluated = 0
        for k in _days_to_check([t is not None for t in targets], rng):
            day = sessions[k]
            signals = evaluate_signals(portfolio, market, data_date_of(CALENDAR, day),  # type: ignore[arg-type]
                                       collect_errors=True)
            target = targets[k]
            assert (target is not None) == (not signals.failures), (day, [f.reason for f in signals.failures])
            checked += 1
            if target is None:
                continue
            evaluated += 1
            assert target.weights == signals.weights, day
            assert {p.name: dict(p.weights) for p in target.strategies} == {
                o.entry.name: dict(o.evaluation.weights) for o in signals.outcomes}, day
    assert checked >= 40
