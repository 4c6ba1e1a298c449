"""The tearsheet: one self-contained HTML file (inline SVG charts, inline CSS, no script, no network)
and the equity + drawdown chart as a PNG.

Input is the backtest's JSON document (report.to_json) or the same shape built from an account's
recorded equity (`alchemiser pnl --html`): only `equity` is required; `benchmark_equity`,
`account_equity`, `allocations`, `metrics`, `benchmark` and `strategies` add their panels.

matplotlib (the CLI's optional dependency, never in a Lambda bundle) is imported here only.
"""

from __future__ import annotations

import html
import io
import math
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")  # no display: files only

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
from matplotlib.figure import Figure

plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "alchemiser", "font.size": 9,
                     "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
                     "grid.alpha": 0.3})

PORTFOLIO_COLOR = "#1f6feb"
BENCHMARK_COLOR = "#8b949e"
ACCOUNT_COLOR = "#d29922"
DRAWDOWN_COLOR = "#cf222e"
MAX_AREA_SYMBOLS = 12
SVG_METADATA: dict[str, Any] = {"Creator": None, "Date": None, "Format": None, "Type": None}
"""No RDF block: the SVG names no outside resource (and stays byte-for-byte deterministic)."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _days(rows: list[dict[str, Any]]) -> Any:
    """Session dates as numpy datetime64 (what matplotlib's date axis takes)."""
    return np.array([date.fromisoformat(r["trade_date"]) for r in rows], dtype="datetime64[D]")


def _curve(doc: dict[str, Any]) -> tuple[Any, list[float]]:
    rows = doc["equity"]
    return _days(rows), [float(r["equity"]) for r in rows]


def _benchmark_curve(doc: dict[str, Any], start_value: float) -> tuple[Any, list[float]] | None:
    rows = doc.get("benchmark_equity") or []
    if not rows:
        return None
    first = float(rows[0]["close"])
    return _days(rows), [start_value * float(r["close"]) / first for r in rows]


def _account_curve(doc: dict[str, Any]) -> tuple[Any, list[float]] | None:
    rows = doc.get("account_equity") or []
    return (_days(rows), [float(r["equity"]) for r in rows]) if rows else None


def _drawdown(values: list[float]) -> list[float]:
    peak, out = -math.inf, []
    for v in values:
        peak = max(peak, v)
        out.append(v / peak - 1.0 if peak > 0 else 0.0)
    return out


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata=SVG_METADATA)
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _dates_axis(ax: Any) -> None:
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _dollars(value: float, _position: Any = None) -> str:
    return f"${value / 1000:,.0f}k" if abs(value) >= 10_000 else f"${value:,.0f}"


def _equity_axes(ax: Any, doc: dict[str, Any], log_scale: bool, label: str) -> None:
    days, values = _curve(doc)
    ax.plot(days, values, color=PORTFOLIO_COLOR, linewidth=1.4, label=label)
    start = float(doc.get("capital") or (values[0] if values else 1.0))
    bench = _benchmark_curve(doc, start)
    if bench is not None:
        name = (doc.get("benchmark") or {}).get("symbol", "benchmark")
        ax.plot(*bench, color=BENCHMARK_COLOR, linewidth=1.1, label=f"{name} (buy and hold)")
    account = _account_curve(doc)
    if account is not None:
        ax.plot(*account, color=ACCOUNT_COLOR, linewidth=1.4, marker="o", markersize=2.5,
                label="paper account (recorded)")
    if log_scale:
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(mticker.FuncFormatter(_dollars))
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(_dollars))
    ax.set_ylabel("equity")
    ax.legend(loc="upper left", frameon=False)
    _dates_axis(ax)


def _drawdown_axes(ax: Any, doc: dict[str, Any]) -> None:
    days, values = _curve(doc)
    dd = [100 * x for x in _drawdown(values)]
    ax.fill_between(days, dd, 0, color=DRAWDOWN_COLOR, alpha=0.35, linewidth=0)
    ax.plot(days, dd, color=DRAWDOWN_COLOR, linewidth=0.8)
    ax.set_ylabel("drawdown (%)")
    _dates_axis(ax)


def equity_svg(doc: dict[str, Any], log_scale: bool = False, label: str = "portfolio") -> str:
    fig, ax = plt.subplots(figsize=(10, 3.6))
    _equity_axes(ax, doc, log_scale, label)
    return _svg(fig)


def drawdown_svg(doc: dict[str, Any]) -> str:
    fig, ax = plt.subplots(figsize=(10, 2.2))
    _drawdown_axes(ax, doc)
    return _svg(fig)


def allocation_svg(doc: dict[str, Any]) -> str | None:
    rows = doc.get("allocations") or []
    if not rows:
        return None
    totals: dict[str, float] = {}
    for row in rows:
        for symbol, weight in row["weights"].items():
            totals[symbol] = totals.get(symbol, 0.0) + float(weight)
    top = sorted(totals, key=lambda s: -totals[s])[:MAX_AREA_SYMBOLS]
    rest = [s for s in totals if s not in top]
    series = {s: [float(r["weights"].get(s, 0)) for r in rows] for s in top}
    if rest:
        series["other"] = [sum(float(r["weights"].get(s, 0)) for s in rest) for r in rows]
    fig, ax = plt.subplots(figsize=(10, 3.0))
    ax.stackplot(_days(rows), *[[100 * v for v in vs] for vs in series.values()], labels=list(series),
                 linewidth=0, alpha=0.9)
    ax.set_ylim(0, 100)
    ax.set_ylabel("target weight (%)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    _dates_axis(ax)
    return _svg(fig)


def strategy_svg(name: str, body: dict[str, Any]) -> str:
    rows = body.get("equity") or []
    fig, ax = plt.subplots(figsize=(5, 2.0))
    ax.plot(_days(rows), [float(r["equity"]) for r in rows], color=PORTFOLIO_COLOR, linewidth=1.1)
    ax.set_title(name, fontsize=9, loc="left")
    _dates_axis(ax)
    return _svg(fig)


# ---------------------------------------------------------------------------------------- html


def _cell_color(value: float | None) -> str:
    if value is None:
        return "#ffffff"
    strength = min(1.0, abs(value) / 0.08)
    if value >= 0:
        return f"rgba(26, 127, 55, {0.12 + 0.7 * strength:.2f})"
    return f"rgba(207, 34, 46, {0.12 + 0.7 * strength:.2f})"


def monthly_table(monthly: dict[str, float | None], yearly: dict[str, float | None]) -> str:
    years = sorted({key[:4] for key in monthly})
    head = "".join(f"<th>{m}</th>" for m in MONTHS)
    body = []
    for year in years:
        cells = []
        for index in range(12):
            value = monthly.get(f"{year}-{index + 1:02d}")
            text = "" if value is None else f"{100 * value:.1f}"
            cells.append(f'<td style="background:{_cell_color(value)}">{text}</td>')
        total = yearly.get(year)
        total_text = "" if total is None else f"{100 * total:.1f}"
        cells.append(f'<td class="year" style="background:{_cell_color(total)}">{total_text}</td>')
        body.append(f"<tr><th>{year}</th>{''.join(cells)}</tr>")
    return (f'<table class="heat" id="monthly-returns"><tr><th></th>{head}<th>Year</th></tr>'
            f"{''.join(body)}</table>")


def _metrics_table(doc: dict[str, Any]) -> str:
    from alchemiser.backtest.report import metric_rows

    bench = doc.get("benchmark")
    rows = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(mine)}</td>"
                   + (f"<td>{html.escape(theirs)}</td>" if bench else "") + "</tr>"
                   for label, mine, theirs in metric_rows(doc))
    head = "<tr><th></th><th>portfolio</th>" + (f"<th>{html.escape(bench['symbol'])}</th>" if bench else "") + "</tr>"
    return f'<table class="metrics" id="metrics">{head}{rows}</table>'


def _strategy_panels(doc: dict[str, Any]) -> str:
    from alchemiser.backtest.report import _num, _pct

    panels = []
    for name, body in (doc.get("strategies") or {}).items():
        m = body.get("metrics")
        if not m:
            continue
        facts = (f"allocation {_pct(float(body['allocation']), 1)} · return {_pct(m['total_return'])} · "
                 f"CAGR {_pct(m['cagr'])} · Sharpe {_num(m['sharpe'])} · max DD {_pct(m['max_drawdown'])} · "
                 f"contribution {_pct(body.get('contribution'))}")
        panels.append(f'<div class="panel strategy"><div class="chart">{strategy_svg(name, body)}</div>'
                      f"<p>{html.escape(facts)}</p><p class=\"file\">{html.escape(body['file'])}</p></div>")
    if not panels:
        return ""
    return ('<h2>Per strategy (each alone with its share of the capital)</h2><div class="grid">'
            + "".join(panels) + "</div>")


STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#1f2328}
h1{font-size:22px;margin-bottom:4px} h2{font-size:16px;margin-top:28px;border-bottom:1px solid #d0d7de}
.sub{color:#59636e;margin-top:0} .chart svg{width:100%;height:auto}
table{border-collapse:collapse;font-size:13px} th,td{padding:3px 8px;text-align:right}
table.metrics th{text-align:left;font-weight:500} table.metrics tr:nth-child(even){background:#f6f8fa}
table.heat td{min-width:42px;border:1px solid #fff} table.heat td.year{font-weight:600}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px} .panel p{margin:4px 0;font-size:12px}
#log-scale:checked~.linear,#log-scale:not(:checked)~.log{display:none} label{font-size:12px}
.file{color:#59636e} .notes{font-size:12px;color:#59636e} .warn{color:#9a6700;font-weight:600}
"""


def render_html(doc: dict[str, Any], *, title: str, log_scale: bool = False) -> str:
    """The whole tearsheet as one HTML string."""
    parts = [f"<h1>{html.escape(title)}</h1>"]
    rng = doc.get("range")
    if rng and doc.get("source"):
        parts.append(f'<p class="sub">{rng["from"]} → {rng["to"]} · {rng["sessions"]} recorded days · '
                     f"{html.escape(doc['source'])}</p>")
    elif rng:
        fm = doc.get("fill_model") or {}
        parts.append(f'<p class="sub">{rng["from"]} → {rng["to"]} · {rng["sessions"]} sessions · '
                     f"${float(doc['capital']):,.0f} starting capital · fills at the {fm.get('price', 'close')}, "
                     f"slippage {fm.get('slippage_bps', '0')} bps, fee ${fm.get('fee_per_share', '0')}/share</p>")
    if doc.get("synthetic"):
        parts.append('<p class="warn" id="synthetic">SYNTHETIC offline prices, not real market data.</p>')
    # Both scales are drawn; a checkbox switches between them with CSS only (the page has no script).
    checked = " checked" if log_scale else ""
    parts.append(f'<h2>Equity</h2><input type="checkbox" id="log-scale"{checked}>'
                 '<label for="log-scale"> log scale</label>'
                 '<div class="chart linear" id="equity-chart">' + equity_svg(doc, False) + "</div>"
                 '<div class="chart log" id="equity-chart-log">' + equity_svg(doc, True) + "</div>")
    parts.append('<h2>Drawdown</h2><div class="chart" id="drawdown-chart">' + drawdown_svg(doc) + "</div>")
    allocation = allocation_svg(doc)
    if allocation is not None:
        parts.append('<h2>Allocation over time</h2><div class="chart" id="allocation-chart">' + allocation + "</div>")
    metrics = doc.get("metrics")
    if metrics:
        parts.append("<h2>Monthly returns (%)</h2>" + monthly_table(metrics.get("monthly_returns", {}),
                                                                  metrics.get("yearly_returns", {})))
        parts.append("<h2>Metrics</h2>" + _metrics_table(doc))
    parts.append(_strategy_panels(doc))
    not_applied = doc.get("not_applied")
    if not_applied:
        parts.append('<p class="notes">Not applied by a backtest: ' + html.escape("; ".join(not_applied)) + ".</p>")
    body = "\n".join(p for p in parts if p)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def write_html(doc: dict[str, Any], path: Path, *, title: str, log_scale: bool = False) -> None:
    Path(path).write_text(render_html(doc, title=title, log_scale=log_scale), encoding="utf-8")


def write_png(doc: dict[str, Any], path: Path, *, title: str, log_scale: bool = False, dpi: int = 80) -> None:
    """The equity curve (with the benchmark) over the drawdown, as one PNG."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5.2), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.2]})
    _equity_axes(top, doc, log_scale, "portfolio")
    top.set_title(title, loc="left", fontsize=11)
    _drawdown_axes(bottom, doc)
    fig.savefig(path, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
