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
from bench.strategy_generator import GIANT, Shape, generate, tickers, write  # noqa: E402
from bench.strategy_generator import corpus as real_like_corpus  # noqa: E402

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
    evaluate, plan, sessions, stats = timed_parts(portfolio, years, extra)
    return evaluate + plan, sessions, stats


def timed_parts(portfolio: object, years: int, extra: Sequence[str] = ()) -> tuple[float, float, int, dict[str, int]]:
    """(seconds of evaluation, seconds of planning and fills, sessions, {"vectorised", "one_by_one"}
    days); the sessions a default limit blocked go to `stats["blocked"]`."""
    from alchemiser.backtest.engine import DayPrices, sessions_of
    from alchemiser.backtest.evaluation import evaluate_days
    from alchemiser.backtest.simulation import rules_of, simulate

    config = _config(portfolio, _years_back(years), END, extra)
    sessions = sessions_of(config)  # type: ignore[arg-type]
    config.market_data.history(list(portfolio.symbols), END, 1)  # type: ignore[attr-defined]  # generate the data
    stats: dict[str, int] = {}
    start = time.perf_counter()
    targets = evaluate_days(config, sessions, stats=stats)  # type: ignore[arg-type]
    middle = time.perf_counter()
    sim = simulate(targets, config.capital, rules_of(config), DayPrices(config.market_data))  # type: ignore[attr-defined, arg-type]
    end = time.perf_counter()
    stats["blocked"] = len(sim.blocked_days)
    return middle - start, end - middle, len(sessions), stats


def _file_portfolio(folder: Path, name: str, text: str) -> object:
    from alchemiser.commands.signals import files_portfolio

    path = folder / name
    path.write_text(text)
    return files_portfolio([path])


def giant_rows(folder: Path, years: int, shape: Shape = GIANT, memory: bool = True) -> list[Row]:
    """Issue 23: the generated file shaped like the largest real one, over `years` years."""
    portfolio = _file_portfolio(folder, "giant.clj", write(shape, 0))
    names = list(portfolio.symbols)  # type: ignore[attr-defined]
    evaluate, plan, n, stats = timed_parts(portfolio, years, names)
    total = evaluate + plan
    label = (f"the largest real file's shape ({shape.lines:,} lines, filters over groups nested {shape.group_nesting} "
             f"deep, windows to {shape.max_window}, {shape.tickers} tickers), {years} years ({n} sessions)")
    out = [Row("backtest", label + ": evaluation + planning", f"{total:.2f} s", target="≤ 5 s", met=total <= 5.0,
               detail=f"evaluation {evaluate:.2f} s, planning and fills {plan:.2f} s" + _days(stats))]
    if memory:
        peak = peak_memory(portfolio, years, names)
        out.append(Row("backtest", "that backtest, peak memory (tracemalloc)", f"{peak:.1f} MB", target="≤ 1024 MB",
                       met=peak <= 1024.0))
    return out


def real_corpus_row(folder: Path, years: int, files: int = 100, universe: int = 900) -> Row:
    """Issue 23: every file of a corpus shaped like real ones backtested on its own, in one process."""
    made = real_like_corpus(files, universe)
    names = sorted({t for shape, text in made for t in _tickers_in(text)})
    evaluate = plan = 0.0
    sessions = 0
    for i, (_, text) in enumerate(made):
        e, p, sessions, _ = timed_parts(_file_portfolio(folder, f"real{i:03d}.clj", text), years, names)
        evaluate, plan = evaluate + e, plan + p
    lines = sum(text.count("\n") for _, text in made)
    total = evaluate + plan
    return Row("backtest", f"{files} real-shaped files ({lines:,} lines, {len(names)} tickers), each backtested over "
                           f"{years} years ({sessions} sessions), one process", f"{total:.1f} s", target="≤ 60 s",
               met=total <= 60.0, detail=f"evaluation {evaluate:.1f} s, planning and fills {plan:.1f} s")


def _tickers_in(text: str) -> set[str]:
    import re

    return set(re.findall(r"S\d{3}", text))


def cost_exponents(folder: Path, years: Sequence[int] = (1, 2, 5, 10),
                   lines: Sequence[int] = (1_000, 4_000, 16_000)) -> Row:
    """Evaluation time ~ sessions^a x nodes^b over a grid of ranges and real-shaped file sizes."""
    from bench.strategy_generator import shape_at
    from services.strategy.language.nodes import iter_nodes

    points: list[tuple[int, int, float]] = []
    for size in lines:
        shape = _shape_of_size(shape_at, size)
        portfolio = _file_portfolio(folder, f"grid{size}.clj", write(shape, 7))
        nodes = sum(1 for _ in iter_nodes(portfolio.strategies[0].symphony.body))  # type: ignore[attr-defined]
        for y in years:
            evaluate, _, n, _ = timed_parts(portfolio, y, list(portfolio.symbols))  # type: ignore[attr-defined]
            points.append((n, nodes, evaluate))
    logs = np.log(np.asarray(points, dtype=float))
    design = np.column_stack([logs[:, 0], logs[:, 1], np.ones(len(points))])
    (a, b, _), *_ = np.linalg.lstsq(design, logs[:, 2], rcond=None)
    shown = "; ".join(f"{nodes:,} nodes x {n} sessions {t:.2f} s" for n, nodes, t in points)
    return Row("backtest", f"evaluation cost ~ sessions^a x nodes^b (real-shaped files of {'/'.join(map(str, lines))} "
                           f"lines at {'/'.join(map(str, years))} years)", f"a = {a:.2f}, b = {b:.2f}",
               target="linear (a, b ≤ 1.2)", met=bool(a <= 1.2 and b <= 1.2), detail=shown)


def _shape_of_size(shape_at: object, lines: int) -> Shape:
    from dataclasses import replace

    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if shape_at(mid, 0.9, 0.9).lines < lines else (lo, mid)  # type: ignore[operator]
    return replace(shape_at(hi, 0.9, 0.9), lines=lines)  # type: ignore[operator]


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
    from alchemiser.backtest.engine import DayPrices, sessions_of
    from alchemiser.backtest.evaluation import evaluate_days
    from alchemiser.backtest.simulation import rules_of, simulate

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


def _blocked(label: str, sessions: int, stats: dict[str, int]) -> Row:
    """The default limits never overrule a valid symphony: no session of the run is blocked."""
    blocked = stats.get("blocked", 0)
    return Row("backtest", f"{label}: sessions a default limit blocked", f"{blocked} of {sessions}",
               target="0 (defaults never block a valid symphony)", met=blocked == 0)


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
         corpus_symbols: int = 300, scaling: Sequence[int] = (1, 2, 5, 10), memory: bool = True,
         real: bool = True) -> list[Row]:
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
            out.append(_blocked(f"3 shipped strategies, {y} years", n, stats))
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
                out.append(_blocked(f"generated {lines:,} lines, {y} years", n, stats))
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
        out.append(_blocked(f"corpus of {corpus} strategies, {years} years", n, stats))
        if real:
            out += giant_rows(Path(folder), years, memory=memory)
            out.append(real_corpus_row(Path(folder), years))
            out.append(cost_exponents(Path(folder)))
    return out


def quick_rows() -> list[Row]:
    out = rows(years=1, lines=200, symbols=20, corpus=3, corpus_lines=100, corpus_symbols=30, scaling=(1,),
               real=False)
    with tempfile.TemporaryDirectory() as folder:
        small = Shape(lines=300, depth=20, filters=6, group_filters=2, group_nesting=2, max_window=100, tickers=12,
                      inverse_vol=2)
        out += giant_rows(Path(folder), 1, small, memory=False)
        out.append(real_corpus_row(Path(folder), 1, files=3, universe=30))
        out.append(cost_exponents(Path(folder), years=(1, 2), lines=(100, 300)))
    return out


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
