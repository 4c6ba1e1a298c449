"""Benchmark the backtest (alchemiser/backtest/engine.py): evaluation and planning per session.

    .venv/bin/python bench/bench_backtest.py            # the table
    .venv/bin/python bench/bench_backtest.py --quick    # tiny sizes

Rows:
- the 3 shipped strategies over 10 years of sessions, the whole run (evaluation, planning, fills;
  no per-strategy attribution, no benchmark): target ≤ 1 s;
- the scaling of that run at 1, 2, 5 and 10 years, with the fitted exponent of time ~ sessions^k;
- the generated 10,000-line / 200-symbol strategy (bench/strategy_generator.py) over 10 years
  (target ≤ 10 s) and a generated corpus of 19 strategies of ~2,600 lines over ~300 symbols
  (~50,000 lines, target ≤ 30 s). The engine evaluates each session with the strategy function's
  own `evaluate_signals` on that session's lookback window, so a session costs the same wherever it
  falls: these two rows time a sample of sessions spread over the 10 years and extrapolate
  (the row says from how many) — a full run would take tens of minutes;
- the peak memory (tracemalloc) of the large strategy's run over a few sessions: target ≤ 500 MB.
Data: the offline market generator (generated tickers are given to it as extra symbols).
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
WHY = ("; each session runs the strategy function's evaluate_signals on its own lookback window (no "
       "evaluation vectorised across dates yet), so the cost is sessions x one evaluation")
YEAR = 252


def _config(portfolio: object, start: date, end: date, extra: Sequence[str] = ()) -> object:
    from alchemiser.backtest.engine import BacktestConfig
    from shared.marketdata.calendar import ExchangeCalendar
    from shared.marketdata.offline import OfflineMarketData

    return BacktestConfig(portfolio, OfflineMarketData(extra_symbols=extra), ExchangeCalendar(),  # type: ignore[arg-type]
                          start, end, attribution=False, benchmark=None)


def _years_back(years: int) -> date:
    return date(END.year - years, 12, 31)


def shipped_run(years: int) -> tuple[float, int]:
    """Seconds and sessions of a whole backtest of the shipped portfolio (setup excluded)."""
    from alchemiser.backtest.engine import run_backtest
    from services.strategy.portfolio_config import load_portfolio
    from services.strategy.settings import PACKAGED_CONFIG

    config = _config(load_portfolio(PACKAGED_CONFIG), _years_back(years), END)
    result = run_backtest(config)  # type: ignore[arg-type]
    return result.seconds["evaluate"] + result.seconds["simulate"], len(result.sessions)


def exponent(sessions: Sequence[int], seconds: Sequence[float]) -> float:
    """k in seconds ~ sessions^k (least squares on the logs)."""
    k, _ = np.polyfit(np.log(np.asarray(sessions, float)), np.log(np.asarray(seconds, float)), 1)
    return float(k)


def sampled(files: Sequence[Path], symbols: Sequence[str], years: int, samples: int) -> tuple[float, int, int]:
    """(extrapolated seconds for every session of `years`, sessions, sampled) for the strategies in `files`."""
    from alchemiser.backtest.engine import DayPrices, evaluate_days, rules_of, sessions_of, simulate
    from alchemiser.commands.signals import files_portfolio

    portfolio = files_portfolio(list(files))
    config = _config(portfolio, _years_back(years), END, symbols)
    sessions = sessions_of(config)  # type: ignore[arg-type]
    picks = [sessions[int(i)] for i in np.linspace(0, len(sessions) - 1, samples)]
    start = time.perf_counter()
    targets = evaluate_days(config, picks)  # type: ignore[arg-type]
    simulate(targets, config.capital, rules_of(config), DayPrices(config.market_data))  # type: ignore[attr-defined, arg-type]
    per_session = (time.perf_counter() - start) / len(picks)
    return per_session * len(sessions), len(sessions), len(picks)


def peak_memory(files: Sequence[Path], symbols: Sequence[str], sessions: int) -> float:
    from alchemiser.backtest.engine import evaluate_days, sessions_of
    from alchemiser.commands.signals import files_portfolio

    config = _config(files_portfolio(list(files)), date(2025, 6, 1), END, symbols)
    days = sessions_of(config)[:sessions]  # type: ignore[arg-type]
    tracemalloc.start()
    evaluate_days(config, days)  # type: ignore[arg-type]
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def rows(*, years: int = 10, lines: int = 10_000, symbols: int = 200, corpus: int = 19, corpus_lines: int = 2_630,
         corpus_symbols: int = 300, samples: int = 20, corpus_samples: int = 4, memory_sessions: int = 3,
         scaling: Sequence[int] = (1, 2, 5, 10)) -> list[Row]:
    out: list[Row] = []
    seconds: list[float] = []
    counts: list[int] = []
    for y in scaling:
        s, n = shipped_run(y)
        seconds.append(s)
        counts.append(n)
        if y == years:
            out.append(Row("backtest", f"3 shipped strategies, {y} years ({n} sessions): evaluation + planning",
                           f"{s:.2f} s", target="≤ 1 s", met=s <= 1.0,
                           detail=f"{1000 * s / n:.2f} ms per session" + WHY))
    if len(scaling) > 1:
        k = exponent(counts, seconds)
        shown = ", ".join(f"{y} y {s:.2f} s" for y, s in zip(scaling, seconds, strict=True))
        out.append(Row("backtest", "scaling, shipped strategies at " + "/".join(map(str, scaling)) + " years",
                       f"{shown}; exponent {k:.2f}", target="linear (exponent ≈ 1)", met=0.8 <= k <= 1.2))
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "generated.clj"
        big.write_text(generate(lines=lines, symbols=symbols, seed=0))
        names = tickers(symbols)
        s, n, k_sampled = sampled([big], names, years, samples)
        out.append(Row("backtest", f"generated {lines:,} lines / {symbols} symbols, {years} years ({n} sessions)",
                       f"{s:.0f} s (extrapolated from {k_sampled} sessions)", target="≤ 10 s", met=s <= 10.0,
                       detail=f"{1000 * s / n:.0f} ms per session" + WHY))
        peak = peak_memory([big], names, memory_sessions)
        out.append(Row("backtest", f"generated strategy, peak memory over {memory_sessions} sessions (tracemalloc)",
                       f"{peak:.1f} MB", target="≤ 500 MB", met=peak <= 500.0))
        files = []
        universe = tickers(corpus_symbols)
        for i in range(corpus):
            path = Path(folder) / f"corpus{i:02d}.clj"
            rng = np.random.default_rng(i)
            chosen = sorted(rng.choice(universe, size=max(10, corpus_symbols // 4), replace=False))
            text = generate(lines=corpus_lines, symbols=len(chosen), seed=100 + i)
            for j, name in reversed(list(enumerate(chosen))):  # S000.. of this file -> its own share of the universe
                text = text.replace(f'"S{j:03d}"', f'"{name}"')
            path.write_text(text)
            files.append(path)
        total_lines = sum(len(f.read_text().splitlines()) for f in files)
        s, n, k_sampled = sampled(files, universe, years, corpus_samples)
        out.append(Row("backtest", f"corpus of {corpus} strategies, {total_lines:,} lines / {corpus_symbols} symbols, "
                                   f"{years} years ({n} sessions)",
                       f"{s:.0f} s (extrapolated from {k_sampled} sessions)", target="≤ 30 s", met=s <= 30.0,
                       detail=f"{1000 * s / n:.0f} ms per session" + WHY))
    return out


def quick_rows() -> list[Row]:
    return rows(years=1, lines=200, symbols=20, corpus=3, corpus_lines=100, corpus_symbols=30, samples=3,
                corpus_samples=2, memory_sessions=2, scaling=(1,))


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
