"""Benchmark the backtest (alchemiser/backtest/engine.py): evaluation and planning per session.

    .venv/bin/python bench/bench_backtest.py            # the table
    .venv/bin/python bench/bench_backtest.py --quick    # tiny sizes

Every row is a whole run over every session of the range (no sampling): the sessions are evaluated
at once on one history (services/strategy/language/timeline.py), a day the vectorised pass cannot
vouch for is evaluated by the strategy function's evaluate_signals (the row says how many), then
planned, checked and filled one by one by the portfolio and execution functions' code.
Rows:
- the 3 shipped strategies over 10 years (evaluation, planning, fills; no per-strategy
  attribution, no benchmark): target <= 1 s; and the same at 1, 2, 5, 10 years with the fitted
  exponent of time ~ sessions^k;
- the generated 10,000-line / 200-symbol strategy (bench/strategy_generator.py) over 10 years
  (target <= 10 s), at 1, 2, 5 and 10 years with its exponent, and its peak memory over the
  10 years (tracemalloc, a separate run): target <= 500 MB;
- a generated corpus of 19 strategies of ~2,600 lines over ~300 symbols (~50,000 lines) over 10
  years in one process: target <= 30 s.
Data: the offline market generator (generated tickers are given to it as extra symbols); the
data's generation is setup, outside the timings.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Row  # noqa: E402
from bench.strategy_generator import generate, tickers  # noqa: E402

END = date(2025, 12, 31)
YEAR = 252


def _config(portfolio: object, start: date, end: date, extra: Sequence[str] = ()) -> object:
    from alchemiser.backtest.engine import BacktestConfig
    from shared.marketdata.calendar import ExchangeCalendar
    from shared.marketdata.offline import OfflineMarketData

    return BacktestConfig(portfolio, OfflineMarketData(extra_symbols=extra), ExchangeCalendar(),  # type: ignore[arg-type]
                          start, end, attribution=False, benchmark=None)


def _years_back(years: int) -> date:
    return date(END.year - years, 12, 31)


def timed_run(portfolio: object, years: int, extra: Sequence[str] = ()) -> tuple[float, int, dict[str, int]]:
    """(seconds of evaluation + planning and fills, sessions, {"vectorised", "one_by_one"} days)."""
    from alchemiser.backtest.engine import DayPrices, rules_of, sessions_of, simulate
    from alchemiser.backtest.evaluation import evaluate_days

    config = _config(portfolio, _years_back(years), END, extra)
    sessions = sessions_of(config)  # type: ignore[arg-type]
    config.market_data.history(list(portfolio.symbols), END, 1)  # type: ignore[attr-defined]  # generate the data
    stats: dict[str, int] = {}
    start = time.perf_counter()
    targets = evaluate_days(config, sessions, stats=stats)  # type: ignore[arg-type]
    simulate(targets, config.capital, rules_of(config), DayPrices(config.market_data))  # type: ignore[attr-defined, arg-type]
    return time.perf_counter() - start, len(sessions), stats


def shipped_portfolio() -> object:
    from services.strategy.portfolio_config import load_portfolio
    from services.strategy.settings import PACKAGED_CONFIG

    return load_portfolio(PACKAGED_CONFIG)


def shipped_run(years: int) -> tuple[float, int, dict[str, int]]:
    return timed_run(shipped_portfolio(), years)


def _window(portfolio: object) -> int:
    from services.strategy.signals import history_window

    return history_window(portfolio)  # type: ignore[arg-type]


def exponent(sessions: Sequence[int], seconds: Sequence[float]) -> float:
    """k in seconds ~ sessions^k (least squares on the logs)."""
    k, _ = np.polyfit(np.log(np.asarray(sessions, float)), np.log(np.asarray(seconds, float)), 1)
    return float(k)


def peak_memory(portfolio: object, years: int, extra: Sequence[str]) -> float:
    """Peak traced memory (MB) of a whole run, the data's generation excluded."""
    from alchemiser.backtest.engine import DayPrices, rules_of, sessions_of, simulate
    from alchemiser.backtest.evaluation import evaluate_days

    config = _config(portfolio, _years_back(years), END, extra)
    sessions = sessions_of(config)  # type: ignore[arg-type]
    config.market_data.history(list(portfolio.symbols), END, 1)  # type: ignore[attr-defined]
    tracemalloc.start()
    targets = evaluate_days(config, sessions)  # type: ignore[arg-type]
    simulate(targets, config.capital, rules_of(config), DayPrices(config.market_data))  # type: ignore[attr-defined, arg-type]
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def _days(stats: dict[str, int]) -> str:
    return f"; {stats.get('vectorised', 0)} sessions vectorised, {stats.get('one_by_one', 0)} one by one"


def _scaling(label: str, years: Sequence[int], counts: Sequence[int], seconds: Sequence[float],
             lookback: int) -> Row:
    """time ~ sessions^k must not grow faster than linearly (k <= 1.2). The vectorised pass runs over
    the history (the lookback before the first session + the sessions), so a long lookback makes
    short ranges cost more than their share and k falls below 1."""
    k = exponent(counts, seconds)
    shown = ", ".join(f"{y} y {s:.2f} s" for y, s in zip(years, seconds, strict=True))
    return Row("backtest", f"scaling, {label} at " + "/".join(map(str, years)) + " years",
               f"{shown}; exponent {k:.2f} (lookback {lookback} sessions)",
               target="no faster than linear (exponent ≤ 1.2)", met=k <= 1.2)


def _corpus(folder: Path, corpus: int, corpus_lines: int, corpus_symbols: int) -> tuple[list[Path], list[str]]:
    files = []
    universe = tickers(corpus_symbols)
    for i in range(corpus):
        path = folder / f"corpus{i:02d}.clj"
        rng = np.random.default_rng(i)
        chosen = sorted(rng.choice(universe, size=max(10, corpus_symbols // 4), replace=False))
        text = generate(lines=corpus_lines, symbols=len(chosen), seed=100 + i)
        for j, name in reversed(list(enumerate(chosen))):  # S000.. of this file -> its own share of the universe
            text = text.replace(f'"S{j:03d}"', f'"{name}"')
        path.write_text(text)
        files.append(path)
    return files, universe


def rows(*, years: int = 10, lines: int = 10_000, symbols: int = 200, corpus: int = 19, corpus_lines: int = 2_630,
         corpus_symbols: int = 300, scaling: Sequence[int] = (1, 2, 5, 10), memory: bool = True) -> list[Row]:
    from alchemiser.commands.signals import files_portfolio

    out: list[Row] = []
    seconds: list[float] = []
    counts: list[int] = []
    shipped_run(1)  # warm up (imports, the calendar, first-call caches): every timed run then starts alike
    for y in scaling:
        s, n, stats = shipped_run(y)
        seconds.append(s)
        counts.append(n)
        if y == years:
            out.append(Row("backtest", f"3 shipped strategies, {y} years ({n} sessions): evaluation + planning",
                           f"{s:.2f} s", target="≤ 1 s", met=s <= 1.0,
                           detail=f"{1000 * s / n:.3f} ms per session" + _days(stats)))
    if len(scaling) > 1:
        out.append(_scaling("shipped strategies", scaling, counts, seconds, _window(shipped_portfolio())))
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "generated.clj"
        big.write_text(generate(lines=lines, symbols=symbols, seed=0))
        names = tickers(symbols)
        portfolio = files_portfolio([big])
        seconds, counts = [], []
        for y in scaling:
            s, n, stats = timed_run(portfolio, y, names)
            seconds.append(s)
            counts.append(n)
            if y == years:
                out.append(Row("backtest", f"generated {lines:,} lines / {symbols} symbols, {y} years ({n} sessions)",
                               f"{s:.2f} s", target="≤ 10 s", met=s <= 10.0,
                               detail=f"{1000 * s / n:.2f} ms per session" + _days(stats)))
        if len(scaling) > 1:
            out.append(_scaling(f"generated {lines:,} lines", scaling, counts, seconds, _window(portfolio)))
        if memory:
            peak = peak_memory(portfolio, years, names)
            out.append(Row("backtest", f"generated strategy, peak memory over {years} years (tracemalloc)",
                           f"{peak:.1f} MB", target="≤ 500 MB", met=peak <= 500.0))
        files, universe = _corpus(Path(folder), corpus, corpus_lines, corpus_symbols)
        total_lines = sum(len(f.read_text().splitlines()) for f in files)
        s, n, stats = timed_run(files_portfolio(files), years, universe)
        out.append(Row("backtest", f"corpus of {corpus} strategies, {total_lines:,} lines / {corpus_symbols} symbols, "
                                   f"{years} years ({n} sessions), one process",
                       f"{s:.2f} s", target="≤ 30 s", met=s <= 30.0,
                       detail=f"{1000 * s / n:.2f} ms per session" + _days(stats)))
    return out


def quick_rows() -> list[Row]:
    return rows(years=1, lines=200, symbols=20, corpus=3, corpus_lines=100, corpus_symbols=30, scaling=(1,))


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    table = quick_rows() if "--quick" in args else rows()
    print("| case | measured | target | met |")
    print("|---|---:|---:|---|")
    for row in table:
        met = "—" if row.met is None else ("met" if row.met else "NOT MET")
        print(f"| {row.case} | {row.measured} | {row.target} | {met} |")
    return 0 if all(row.met is not False for row in table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
