"""The tearsheet page: one self-contained HTML file (plotly.js, the page's script and its data inline;
it opens offline and asks nothing of the network).

Input is the backtest's JSON document (report.to_json) or the same shape built from an account's
recorded equity (`alchemiser pnl --html`, report.account_doc): only `equity` is required;
`benchmark_equity`, `account_equity`, `allocations`, `metrics`, `benchmark`, `strategies` and
`notes` add their charts. The sessions blocked by a limit come as a parameter (date, label).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from plotly.offline import get_plotlyjs

from alchemiser.backtest import metrics
from alchemiser.backtest.account_compare import AccountComparison, compare_account
from alchemiser.backtest.formats import money, num, pct
from alchemiser.backtest.report import metric_rows, stopped_sessions
from alchemiser.backtest.tearsheet import figures, tables
from alchemiser.backtest.tearsheet.series import (
    ROLLING_WINDOWS,
    AllocationView,
    Curve,
    Marked,
    allocation_views,
    benchmark_equity,
    benchmark_returns,
    curve_of,
    marked_sessions,
    rolling,
    underwater,
    worst_drawdowns,
)

HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("Total return", "total_return", "pct"),
    ("CAGR", "cagr", "pct"),
    ("Volatility", "volatility", "pct"),
    ("Sharpe", "sharpe", "num"),
    ("Sortino", "sortino", "num"),
    ("Max drawdown", "max_drawdown", "pct"),
    ("Calmar", "calmar", "num"),
    ("Beta", "beta", "num"),
    ("Correlation", "correlation", "num"),
)
"""The range's figures in the header (page.js recomputes them for the range shown)."""
SHADED_DRAWDOWNS, LISTED_DRAWDOWNS = 5, 10


def _asset(name: str) -> str:
    return resources.files("alchemiser.backtest.tearsheet").joinpath(name).read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no "</" to end it early)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def _benchmark_name(doc: dict[str, Any]) -> str | None:
    bench = doc.get("benchmark")
    return str(bench["symbol"]) if bench else None


class Page:
    """The figures and the data of one tearsheet, built once from the document."""

    def __init__(self, doc: dict[str, Any], blocked: Sequence[tuple[date, str]], log_scale: bool) -> None:
        self.doc = doc
        self.curve: Curve = curve_of(doc)
        self.days = self.curve.days
        self.cols = figures.Columns()
        self.cols.add("days", self.curve.iso_days)
        self.marks: list[Marked] = marked_sessions([*blocked, *stopped_sessions(doc, "blocked")],
                                                   stopped_sessions(doc, "refused"))
        self.bench = benchmark_equity(doc, self.curve)
        self.bench_name = _benchmark_name(doc) or "benchmark"
        self.comparison: AccountComparison | None = compare_account(doc)
        self.views: list[AllocationView] = allocation_views(doc)
        self.log_scale = log_scale
        r = self.curve.returns
        self.worst = worst_drawdowns(self.days[self.curve.first:], r, LISTED_DRAWDOWNS, self.days[0])
        self.charts: dict[str, Any] = {}
        self._build()

    # ------------------------------------------------------------------------------------ figures

    def _padded(self, values: np.ndarray) -> np.ndarray:
        """A series of the returns (one per day after the first) aligned with the days."""
        return np.concatenate([np.full(self.curve.first, np.nan), values])

    def _build(self) -> None:
        c, cols, marks, days = self.curve, self.cols, self.marks, self.days
        label = "account" if self.doc.get("source") else "portfolio"
        equity = cols.add("equity", c.equity.tolist())
        bench = None if self.bench is None else cols.add("bench_equity", self.bench.tolist())
        self.charts["equity-chart"] = figures.equity_figure(
            cols, equity=equity, bench=bench, bench_name=self.bench_name, comparison=self.comparison,
            marks=marks, days=days, label=label, log_scale=self.log_scale)
        if self.comparison is not None:
            self.charts["account-gap-chart"] = figures.gap_figure(cols, self.comparison, marks, days)
        under = cols.add("underwater", 100 * self._padded(underwater(c.equity[c.first:], c.start)), 2)
        bench_under = None if self.bench is None else cols.add(
            "bench_underwater", 100 * underwater(self.bench, c.start), 2)
        self.charts["drawdown-chart"] = figures.drawdown_figure(
            cols, underwater=under, bench_underwater=bench_under, bench_name=self.bench_name,
            worst=self.worst[:SHADED_DRAWDOWNS], marks=marks, days=days)
        self._rolling()
        self._yearly()
        returns_pct = cols.add("returns_pct", 100 * self._padded(c.returns), 4)
        bench_pct = None if self.bench is None else cols.add("bench_returns_pct",
                                                             100 * benchmark_returns(self.bench), 4)
        self.charts["distribution-chart"] = figures.distribution_figure(returns_pct, bench_pct, self.bench_name)
        if self.views:
            self.charts["allocation-chart"] = figures.allocation_figure(cols, self.views, marks, days)
        curves = {name: [float(r["equity"]) for r in body["equity"]]
                  for name, body in (self.doc.get("strategies") or {}).items()
                  if len(body.get("equity") or []) == len(days)}
        if curves:
            self.charts["strategy-chart"] = figures.strategy_figure(
                cols, {name: cols.add(f"strategy:{name}", values) for name, values in curves.items()}, marks, days)

    def _rolling(self) -> None:
        c = self.curve
        if c.returns.size < ROLLING_WINDOWS[0][1]:
            return
        rf = float(self.doc.get("risk_free_rate") or 0.0) / metrics.TRADING_DAYS
        bench = None if self.bench is None else benchmark_returns(self.bench)
        windows = {}
        for name, size in ROLLING_WINDOWS:
            stats = rolling(c.returns, size, rf, bench)
            windows[name] = {
                "sharpe": self.cols.add(f"rolling:{name}:sharpe", self._padded(stats["sharpe"]), 3),
                "volatility": self.cols.add(f"rolling:{name}:volatility", 100 * self._padded(stats["volatility"]), 2),
                "beta": self.cols.add(f"rolling:{name}:beta", self._padded(stats["beta"]), 3),
            }
        self.charts["rolling-chart"] = figures.rolling_figure(self.cols, windows, bench is not None, self.marks,
                                                              self.days)

    def _yearly(self) -> None:
        m = self.doc.get("metrics") or {}
        yearly = m.get("yearly_returns") or {}
        if not yearly:
            return
        years = sorted(yearly)
        theirs = (self.doc.get("benchmark") or {}).get("yearly_returns")

        def scaled(values: dict[str, Any]) -> list[float | None]:
            return [None if values.get(y) is None else round(100 * float(values[y]), 4) for y in years]

        self.charts["yearly-chart"] = figures.yearly_figure(years, scaled(yearly),
                                                            scaled(theirs) if theirs else None, self.bench_name)

    # ------------------------------------------------------------------------------------ data

    def _view_data(self) -> list[dict[str, Any]]:
        """What page.js needs to write each day's full weights into the allocation hover."""
        out = []
        for number, view in enumerate(self.views):
            names = [*view.symbols, *(["other"] if view.other is not None else [])]
            rest_rows = []
            for row in view.rest_weights:
                entries: list[float] = []
                for index, weight in enumerate(row):
                    if round(float(weight), 1) > 0:
                        entries += [index, round(float(weight), 1)]
                rest_rows.append(entries)
            out.append({"name": view.name, "symbols": view.symbols,
                        "columns": [f"w{number}:{s}" for s in view.symbols], "traces": len(names),
                        "rest": view.rest, "rest_rows": rest_rows})
        return out

    def data(self) -> dict[str, Any]:
        c = self.curve
        return {
            "columns": {name: figures.encoded(values) for name, values in self.cols.values.items()},
            "figures": {key: self.cols.compact(fig) for key, fig in self.charts.items()},
            "start": c.start, "first": c.first, "has_benchmark": self.bench is not None,
            "bench_name": self.bench_name,
            "rf_daily": float(self.doc.get("risk_free_rate") or 0.0) / metrics.TRADING_DAYS,
            "views": self._view_data(), "log_scale": self.log_scale,
            "years": sorted((self.doc.get("metrics") or {}).get("yearly_returns") or {}),
        }

    # ------------------------------------------------------------------------------------ html

    def headline(self) -> str:
        m = self.doc.get("metrics") or {}
        b = self.doc.get("benchmark") or {}
        cards = []
        for label, key, kind in HEADLINE:
            if key in ("beta", "correlation") and not b:
                continue
            fmt = pct if kind == "pct" else num
            theirs = (f'<span class="bench">{html.escape(self.bench_name)} '
                      f'<b data-bench="{key}">{fmt(b.get(key))}</b></span>' if b and key in b else "")
            cards.append(f'<div class="card"><span class="label">{label}</span>'
                         f'<b class="value" data-metric="{key}" data-format="{kind}">{fmt(m.get(key))}</b>'
                         f"{theirs}</div>")
        return f'<div class="headline" id="headline">{"".join(cards)}</div>'

    def marks_line(self) -> str:
        blocked = sum(1 for m in self.marks if m.kind == "blocked")
        refused = len(self.marks) - blocked
        if not self.marks:
            return '<p class="marks" id="blocked-count">No session blocked by a limit or refused.</p>'
        return (f'<p class="marks" id="blocked-count" data-blocked="{blocked}" data-refused="{refused}">'
                f'<span class="swatch blocked"></span>{tables.plural(blocked, "session")} blocked by a '
                f'limit · <span class="swatch refused"></span>{refused} refused (the plan failed closed) — '
                "shaded on every chart</p>")

    def subtitle(self) -> str:
        rng, doc = self.doc.get("range"), self.doc
        if not rng:
            return ""
        if doc.get("source"):
            return (f'<p class="sub">{rng["from"]} → {rng["to"]} · {rng["sessions"]} recorded days · '
                    f"{html.escape(doc['source'])}</p>")
        fm = doc.get("fill_model") or {}
        return (f'<p class="sub">{rng["from"]} → {rng["to"]} · {rng["sessions"]} sessions · '
                f"{money(doc['capital'])} starting capital · fills at the {fm.get('price', 'close')}, slippage "
                f"{fm.get('slippage_bps', '0')} bps, fee ${fm.get('fee_per_share', '0')}/share</p>")

    def body(self, title: str) -> str:
        doc, charts = self.doc, self.charts
        parts = [f"<header><h1>{html.escape(title)}</h1>", self.subtitle()]
        if doc.get("synthetic"):
            parts.append('<p class="warn" id="synthetic">SYNTHETIC offline prices, not real market data.</p>')
        parts += [self.marks_line(), tables.range_selector(), self.headline(), "</header>"]
        main = [tables.chart_section("Equity", "equity-chart", toggle=tables.LOG_TOGGLE.format(
            checked=" checked" if self.log_scale else ""))]
        if "account-gap-chart" in charts:
            main.append(tables.chart_section("Paper account minus backtest (the account rebased to the backtest's "
                                             "equity on its first recorded day)", "account-gap-chart"))
        main.append(tables.chart_section("Under water (the 5 worst drawdowns shaded)", "drawdown-chart")
                    + tables.drawdowns_table(self.worst))
        if "rolling-chart" in charts:
            main.append(tables.chart_section(f"Rolling 6- and 12-month Sharpe, volatility and beta against "
                                             f"{html.escape(self.bench_name)}", "rolling-chart"))
        pair = [tables.chart_section("Yearly returns", "yearly-chart")] if "yearly-chart" in charts else []
        pair.append(tables.chart_section("Distribution of daily returns", "distribution-chart"))
        main.append(f'<div class="pair">{"".join(pair)}</div>')
        if "allocation-chart" in charts:
            main.append(tables.chart_section("Allocation over time (the 10 largest symbols by average weight; "
                                             "hover for the day's full weights)", "allocation-chart",
                                             above=tables.view_buttons([v.name for v in self.views])))
        m = doc.get("metrics")
        if m:
            main.append("<section><h2>Monthly returns (%)</h2>" + tables.monthly_table(
                m.get("monthly_returns", {}), m.get("yearly_returns", {}), self.marks) + "</section>")
        main.append(tables.strategies_section(doc, "strategy-chart" in charts))
        if doc.get("not_applied"):
            main.append('<p class="notes">Not applied by a backtest: '
                        + html.escape("; ".join(doc["not_applied"])) + ".</p>")
        aside = ""
        if m:
            aside = ('<aside><h2>Metrics (the whole range)</h2>'
                     + tables.metrics_table(metric_rows(doc), _benchmark_name(doc)) + "</aside>")
        parts.append(f'<div class="layout"><main>{"".join(p for p in main if p)}</main>{aside}</div>')
        return "\n".join(p for p in parts if p)


def render_html(doc: dict[str, Any], *, title: str, log_scale: bool = False,
                blocked: Sequence[tuple[date, str]] = ()) -> str:
    """The whole tearsheet as one HTML string. `blocked`: sessions a limit blocked, (day, which limit)."""
    page = Page(doc, blocked, log_scale)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_asset('page.css')}</style></head><body>\n"
            f"{page.body(title)}\n"
            f'<script type="application/json" id="tearsheet-data">{_script_json(page.data())}</script>\n'
            f"<script>{get_plotlyjs()}</script>\n<script>{_asset('page.js')}</script>\n</body></html>\n")


def write_html(doc: dict[str, Any], path: Path, *, title: str, log_scale: bool = False,
               blocked: Sequence[tuple[date, str]] = ()) -> None:
    Path(path).write_text(render_html(doc, title=title, log_scale=log_scale, blocked=blocked), encoding="utf-8")
