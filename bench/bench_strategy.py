"""Benchmark the strategy language; prints a markdown table of timings against targets.

    .venv/bin/python bench/bench_strategy.py

Rows: the shipped strategies (services/strategy/strategies/portfolio.toml) over 1 and 10 years of
daily history, all evaluated with one shared IndicatorCache as a run does; a generated
10,000-line strategy (bench/strategy_generator.py) over 10 years, parse included; and the peak
memory of that last run (tracemalloc, measured in a separate pass so it does not slow the timing).

The offline market's modelled universe built from its caches cleared (best of 3; it was a timed
test): target <= 0.5 s.

Issue 14's rows, each in a fresh process (cold: imports included): reading 300 symbols x 2,600
sessions of CSV; parsing 50,000 lines; and a user's corpus (19 generated strategies, ~50,000
lines, ~300 symbols, 10 years of CSV data) evaluated in one process like `alchemiser signals
--data DIR`, with its peak RSS. Issue 23's: the same on a corpus shaped like real files (100
files, ~315k lines, ~900 tickers, bench/strategy_generator.corpus) over 10 years of CSV.
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
from bench.strategy_generator import corpus as real_like_corpus  # noqa: E402
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


_CORPUS_CHILD = """
import resource, sys, time
started = time.perf_counter()
sys.path.insert(0, {root!r})
from pathlib import Path
from datetime import date
mode = {mode!r}
if mode == "csv":
    from shared.marketdata.csv_files import CsvDirectoryMarketData
    CsvDirectoryMarketData({data!r}).history({symbols!r}, date.fromisoformat({end!r}), {days})
elif mode == "parse":
    from services.strategy.language import parse_file
    for path in sorted(Path({strategies!r}).glob("*.clj")):
        parse_file(path)
else:
    from services.strategy.signals import evaluate_signals
    from services.strategy.language import parse_file
    from services.strategy.portfolio_config import StrategyEntry, StrategyPortfolio
    from services.strategy.run_rules import equal_allocations
    from shared.marketdata.csv_files import CsvDirectoryMarketData
    data = CsvDirectoryMarketData({data!r})
    paths = sorted(Path({strategies!r}).glob("*.clj"))
    entries = tuple(StrategyEntry(p.stem, p, share, parse_file(p))
                    for p, share in zip(paths, equal_allocations(len(paths))))
    signals = evaluate_signals(StrategyPortfolio(Path({strategies!r}) / "p.toml", entries), data,
                               date.fromisoformat({end!r}), require_fresh=False, collect_errors=True)
    assert not signals.failures, signals.failures[0].reason
elapsed = time.perf_counter() - started
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _write_csv(folder: Path, names: Sequence[str], days: int) -> str:
    """SYMBOL.csv files of `days` sessions of the offline market for `names`; the last date."""
    from shared.marketdata.offline import OfflineMarketData

    folder.mkdir()
    h = OfflineMarketData(extra_symbols=names).history(list(names), END, days)
    dates = [str(d) for d in h.dates]
    for name in names:
        body = "".join(f"{d},{c:.4f}\n" for d, c in zip(dates, h.closes[name].tolist(), strict=True))
        (folder / f"{name}.csv").write_text("date,close\n" + body)
    return str(h.as_of)


def _cold(mode: str, data: Path, folder: Path, names: Sequence[str], end: str, days: int,
          repeat: int) -> tuple[float, float]:
    """(seconds, peak RSS MB) of the best of `repeat` fresh processes running `mode`."""
    import subprocess

    code = _CORPUS_CHILD.format(root=str(ROOT), mode=mode, data=str(data), strategies=str(folder),
                                symbols=list(names), end=end, days=days)
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        seconds, rss = (float(x) for x in out.stdout.split())
        best = min(best, (seconds, rss))
    return best


def corpus(strategies: int = 19, lines: int = 50_000, symbols: int = 300, days: int = 2600,
           repeat: int = 3) -> list[Result]:
    """Cold-process timings of CSV reading, parsing and a whole corpus (see the module doc)."""
    import tempfile

    names = tickers(symbols)
    with tempfile.TemporaryDirectory() as tmp:
        data, folder = Path(tmp) / "data", Path(tmp) / "strategies"
        end = _write_csv(data, names, days)
        folder.mkdir()
        per = max(20, lines // strategies)
        for i in range(strategies):
            (folder / f"s{i:02d}.clj").write_text(generate(lines=per, symbols=symbols, seed=i) + "\n")
        written = sum(p.read_text().count("\n") for p in folder.glob("*.clj"))
        csv_s, _ = _cold("csv", data, folder, names, end, days, repeat)
        parse_s, _ = _cold("parse", data, folder, names, end, days, repeat)
        all_s, rss = _cold("corpus", data, folder, names, end, days, repeat)
    return [
        (f"cold: read {symbols} symbols x {days} sessions of CSV", csv_s, 0.5, "s"),
        (f"cold: parse {written:,} lines ({strategies} files)", parse_s, 0.4, "s"),
        (f"cold: {strategies} strategies, {written:,} lines, {symbols} symbols, {days} sessions of CSV "
         "(read + parse + evaluate)", all_s, 2.0, "s"),
        ("that corpus run, peak RSS", rss, 300.0, "MB"),
    ]


def real_corpus(files: int = 100, universe: int = 900, days: int = 10 * YEAR, repeat: int = 3) -> list[Result]:
    """Issue 23's row: `signals` on a corpus shaped like the 94 public symphonies measured (100
    files, ~315k lines, ~900 tickers: bench/strategy_generator.corpus), on 10 years of CSV, cold."""
    import tempfile

    made = real_like_corpus(files, universe)
    with tempfile.TemporaryDirectory() as tmp:
        data, folder = Path(tmp) / "data", Path(tmp) / "strategies"
        folder.mkdir()
        for i, (_, text) in enumerate(made):
            (folder / f"r{i:03d}.clj").write_text(text)
        written = sum(text.count("\n") for _, text in made)
        names = sorted({t for p in folder.glob("*.clj") for t in _tickers_in(p.read_text())})
        end = _write_csv(data, names, days)
        parse_s, _ = _cold("parse", data, folder, names, end, days, repeat)
        all_s, rss = _cold("corpus", data, folder, names, end, days, repeat)
    return [
        (f"cold: parse {files} real-shaped files ({written:,} lines)", parse_s, 2.0, "s"),
        (f"cold: `signals` on {files} real-shaped files ({written:,} lines, {len(names)} tickers, {days} sessions "
         "of CSV: read + parse + evaluate)", all_s, 3.0, "s"),
        ("that run, peak RSS", rss, 1024.0, "MB"),
    ]


def _tickers_in(text: str) -> set[str]:
    import re

    return set(re.findall(r"S\d{3}", text))


def offline_universe_build(repeat: int = 3) -> list[Result]:
    """Building the offline market's modelled universe (every known ETF, 2005-2035) from its caches
    cleared, the exchange calendar loaded apart: what the first offline history of a process costs."""
    from datetime import date as day

    from shared.marketdata import offline
    from shared.marketdata.calendar import ExchangeCalendar

    ExchangeCalendar().sessions_between(day(2005, 1, 1), day(2005, 1, 31))

    def build() -> None:
        offline.offline_universe.cache_clear()
        offline._factors.cache_clear()
        universe = offline.offline_universe()
        assert len(universe.closes) == len(offline.KNOWN_SYMBOLS)

    build()
    return [(f"offline market: build the modelled universe ({len(offline.KNOWN_SYMBOLS)} ETFs, "
             f"{offline.FIRST_DAY.year}-{offline.LAST_DAY.year}), calendar loaded", best_of(repeat, build), 0.5, "s")]


def shown(value: float, unit: str) -> str:
    return f"{value:.3f} {unit}" if unit == "s" else f"{value:.1f} {unit}"


def rows(**sizes: int) -> list[Row]:
    """This benchmark's rows for bench/run.py's table (`sizes`: measure's arguments; a smaller
    `lines` also shrinks the corpus, as `make bench` quick mode does)."""
    lines = sizes.get("lines", 10_000)
    scale = {} if lines >= 10_000 else {"strategies": 3, "lines": 5 * lines, "symbols": 30, "days": 600,
                                          "repeat": 1}
    results = measure(**sizes)[0] + offline_universe_build(sizes.get("repeat", 3)) + corpus(**scale)
    results += real_corpus() if lines >= 10_000 else real_corpus(files=5, universe=40, days=600, repeat=1)
    return [Row("strategy evaluation", name, shown(value, unit), target=f"≤ {target:g} {unit}", met=value <= target)
            for name, value, target, unit in results]


def main() -> int:
    results, data = measure()
    results += offline_universe_build() + corpus() + real_corpus()
    print(f"{data}\n")
    print("| case | measured | target | met |")
    print("|---|---:|---:|---|")
    for name, value, target, unit in results:
        print(f"| {name} | {shown(value, unit)} | ≤ {target:g} {unit} | {'met' if value <= target else 'NOT MET'} |")
    return 0 if all(value <= target for _, value, target, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
