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

from bench.common import Row  # noqa: E402
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


Result = tuple[str, float, float, str]
"""(case, measured, target, unit)"""


def measure(lines: int = 10_000, symbols: int = 200, years: int = 10, repeat: int = 5) -> tuple[list[Result], str]:
    """The rows, and a line saying which data they ran on (smaller arguments: a smoke test)."""
    portfolio = load_portfolio(ROOT / "services" / "strategy" / "strategies" / "portfolio.toml")
    shipped = [entry.symphony for entry in portfolio.strategies]
    generated_text = generate(lines=lines, symbols=symbols, seed=0)
    universe = sorted({*portfolio.symbols, *tickers(symbols)})
    ten_years, source = history(universe, years * YEAR)
    one_year = PriceHistory(ten_years.dates[-YEAR:], {s: v[-YEAR:] for s, v in ten_years.closes.items()})

    def run_shipped(h: PriceHistory) -> None:
        cache = IndicatorCache()
        for symphony in shipped:
            evaluate(symphony, h, cache)

    def run_generated() -> None:
        evaluate(parse_text(generated_text, "generated.clj"), ten_years)

    rows = [
        (f"{len(shipped)} shipped strategies, 1 year", best_of(repeat, lambda: run_shipped(one_year)), 0.2, "s"),
        (f"{len(shipped)} shipped strategies, {years} years", best_of(repeat, lambda: run_shipped(ten_years)), 0.2,
         "s"),
        (f"generated {lines:,} lines / {symbols} symbols, {years} years (parse + evaluate)",
         best_of(max(1, repeat - 2), run_generated), 2.0, "s"),
    ]
    tracemalloc.start()
    run_generated()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rows.append(("generated strategy, peak memory (tracemalloc)", peak, 500.0, "MB"))
    return rows, f"Data: {source}, {len(ten_years.dates)} days to {ten_years.as_of}; Python {sys.version.split()[0]}"


def shown(value: float, unit: str) -> str:
    return f"{value:.3f} {unit}" if unit == "s" else f"{value:.1f} {unit}"


def rows(**sizes: int) -> list[Row]:
    """This benchmark's rows for bench/run.py's table (`sizes`: measure's arguments)."""
    return [Row("strategy evaluation", name, shown(value, unit), target=f"≤ {target:g} {unit}", met=value <= target)
            for name, value, target, unit in measure(**sizes)[0]]


def main() -> int:
    results, data = measure()
    print(f"{data}\n")
    print("| case | measured | target | met |")
    print("|---|---:|---:|---|")
    for name, value, target, unit in results:
        print(f"| {name} | {shown(value, unit)} | ≤ {target:g} {unit} | {'met' if value <= target else 'NOT MET'} |")
    return 0 if all(value <= target for _, value, target, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
