"""The equity and drawdown chart as a PNG (`backtest --png`; the README's picture), drawn with matplotlib:
plotly's own image export needs a browser it downloads, matplotlib draws offline. The look follows the
page: the same colours, money as "$140,000", the legend above the plot, blocked and refused
sessions shaded, log ticks at round values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np

from alchemiser.backtest.account_compare import compare_account
from alchemiser.backtest.formats import money
from alchemiser.backtest.report import stopped_sessions
from alchemiser.backtest.tearsheet import figures
from alchemiser.backtest.tearsheet.series import Marked, benchmark_equity, curve_of, marked_sessions, spans, underwater

STYLE = {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3}


def log_ticks(lo: float, hi: float) -> list[float]:
    """Round values for a log axis from lo to hi: 1-2-5 per decade, finer for a narrow range, else the widest
    round linear step; at least four (page.js's logTicks draws the page's log axes the same way)."""
    for steps in ((1,), (1, 2, 5), (1, 2, 3, 5, 7), (1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9)):
        decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        ticks = [float(f"{m * 10.0 ** e:.12g}") for e in decades for m in steps]
        inside = [t for t in ticks if lo <= t <= hi]
        if len(inside) >= 4:
            return inside
    unit = 10.0 ** math.floor(math.log10(hi - lo))
    for step in (unit * m for m in (5, 2.5, 2, 1, 0.5, 0.25, 0.2, 0.1, 0.05)):
        ticks = [float(f"{k * step:.12g}") for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
        if len(ticks) >= 4:
            return ticks
    return [lo, hi]


def _money_axis(ax: Any, log_scale: bool, values: Sequence[float]) -> None:
    if log_scale:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(mticker.FixedLocator(log_ticks(min(values), max(values))))
        ax.yaxis.set_minor_locator(mticker.NullLocator())
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _p: money(v)))


def _dates_axis(ax: Any, days: Sequence[date]) -> None:
    span = (days[-1] - days[0]).days if days else 0
    if span <= 31:  # daily data: whole days, never 06:00/12:00
        every = max(1, math.ceil((span + 1) / 10))
        ax.xaxis.set_major_locator(mdates.DayLocator(interval=every))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))  # type: ignore[no-untyped-call]
        return
    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _shade(ax: Any, days: Sequence[date], marks: Sequence[Marked]) -> None:
    for kind in ("blocked", "refused"):
        for first, last in spans(days, [m.day for m in marks if m.kind == kind]):
            ax.axvspan(first - timedelta(hours=12), last + timedelta(hours=12), color=figures.MARK_LINE[kind],
                       alpha=0.35, linewidth=0)


def write_png(doc: dict[str, Any], path: Path, *, title: str, log_scale: bool = False, dpi: int = 80,
              blocked: Sequence[tuple[date, str]] = ()) -> None:
    """The equity curve (with the benchmark and the paper account) over the drawdown, as one PNG."""
    curve = curve_of(doc)
    days = np.array(curve.days, dtype="datetime64[D]")
    marks = marked_sessions([*blocked, *stopped_sessions(doc, "blocked")], stopped_sessions(doc, "refused"))
    with plt.style.context(STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5.4), sharex=True,
                                          gridspec_kw={"height_ratios": [3, 1.2]})
        drawn = list(curve.equity)
        top.plot(days, curve.equity, color=figures.PORTFOLIO, linewidth=1.4, label="portfolio")
        bench = benchmark_equity(doc, curve)
        if bench is not None:
            name = (doc.get("benchmark") or {}).get("symbol", "benchmark")
            top.plot(days, bench, color=figures.BENCHMARK, linewidth=1.1, label=f"{name} (buy and hold)")
            drawn += list(bench)
        comparison = compare_account(doc)
        if comparison is not None:
            top.plot(np.array(comparison.days, dtype="datetime64[D]"), comparison.account, color=figures.ACCOUNT,
                     linewidth=1.6, linestyle=":", marker="o", markersize=3, label="paper account (recorded, rebased)")
            drawn += comparison.account
        _money_axis(top, log_scale, drawn)
        top.set_ylabel("equity")
        top.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False)
        top.set_title(title, loc="left", fontsize=11, pad=22)
        dd = 100 * underwater(curve.equity[curve.first:], curve.start)
        bottom.fill_between(days[curve.first:], dd, 0, color=figures.DRAWDOWN, alpha=0.35, linewidth=0)
        bottom.plot(days[curve.first:], dd, color=figures.DRAWDOWN, linewidth=0.8)
        bottom.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _p: f"{v:.0f}%"))
        bottom.set_ylabel("under water")
        for ax in (top, bottom):
            _shade(ax, curve.days, marks)
            _dates_axis(ax, curve.days)
        fig.savefig(path, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
