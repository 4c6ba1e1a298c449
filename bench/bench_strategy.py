"""Benchmark the strategy language; prints a markdown table of timings against targets.

    .venv/bin/python bench/bench_strategy.py

Rows: the shipped strategies (services/strategy/strategies/portfolio.toml) over 1 and 10 years of
daily history, all evaluated with one shared IndicatorCache as a run does; a generated
10,000-line strategy (bench/strategy_generator.py) over 10 years, parse included; and the peak
memory of that last run (tracemalloc, measured in a separate pass so it does not slow the timing).
Data: the offline market generator if importable, else a seeded random walk. Times are the best
of a few repetitions, each on a fresh cache.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.strategy_generator import generate, tickers  # noqa: E402
from services.strategy.language import IndicatorCache, evaluate, parse_text  # noqa: E402
from services.strategy.portfolio_config import load_portfolio  # noqa: E402
from shared.marketdata.port import PriceHistory  # noqa: E402

YEAR = 252
END = date(2025, 6, 30)


def history(symbols: Sequence[str], days: int) -> tuple[PriceHistory, str]:
    try:
        from shared.marketdata.offline import OfflineMarketData

        return OfflineMarketData(extra_symbols=symbols).history(symbols, END, days), "offline generator"
    except Exception:  # the generator is optional here: any failure falls back to a random walk
        rng = np.random.default_rng(0)
        dates = np.busday_offset(np.datetime64(END), np.arange(-days + 1, 1), roll="backward")
        closes = {s: 50.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, days))) for s in symbols}
        return PriceHistory(dates, closes), "seeded random walk"


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    portfolio = load_portfolio(ROOT / "services" / "strategy" / "strategies" / "portfolio.toml")
    shipped = [entry.symphony for entry in portfolio.strategies]
    generated_text = generate(lines=10_000, symbols=200, seed=0)
    symbols = sorted({*portfolio.symbols, *tickers(200)})
    ten_years, source = history(symbols, 10 * YEAR)
    one_year = PriceHistory(ten_years.dates[-YEAR:], {s: v[-YEAR:] for s, v in ten_years.closes.items()})

    def run_shipped(h: PriceHistory) -> None:
        cache = IndicatorCache()
        for symphony in shipped:
            evaluate(symphony, h, cache)

    def run_generated() -> None:
        evaluate(parse_text(generated_text, "generated.clj"), ten_years)

    rows = [
        (f"{len(shipped)} shipped strategies, 1 year", best_of(5, lambda: run_shipped(one_year)), 0.2, "s"),
        (f"{len(shipped)} shipped strategies, 10 years", best_of(5, lambda: run_shipped(ten_years)), 0.2, "s"),
        ("generated 10,000 lines / 200 symbols, 10 years (parse + evaluate)", best_of(3, run_generated), 2.0, "s"),
    ]
    tracemalloc.start()
    run_generated()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rows.append(("generated strategy, peak memory (tracemalloc)", peak, 500.0, "MB"))

    print(f"Data: {source}, {len(ten_years.dates)} days to {ten_years.as_of}; Python {sys.version.split()[0]}\n")
    print("| case | measured | target | met |")
    print("|---|---:|---:|---|")
    for name, value, target, unit in rows:
        shown = f"{value:.3f} {unit}" if unit == "s" else f"{value:.1f} {unit}"
        print(f"| {name} | {shown} | ≤ {target:g} {unit} | {'met' if value <= target else 'NOT MET'} |")
    return 0 if all(value <= target for _, value, target, _ in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
