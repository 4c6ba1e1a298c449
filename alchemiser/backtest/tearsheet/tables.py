"""The tearsheet's HTML pieces that are not charts: the range selector, the tables, the heat map."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alchemiser.backtest.formats import money, num, pct
from alchemiser.backtest.tearsheet.series import Drawdown, Marked

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
RANGES = (("1Y", "1"), ("3Y", "3"), ("5Y", "5"), ("All", "all"))
LOG_TOGGLE = '<label class="toggle"><input type="checkbox" id="log-scale"{checked}> log scale</label>'


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def range_selector() -> str:
    """Buttons page.js wires (and hides where the history is shorter than the span)."""
    buttons = "".join(f'<button type="button" data-years="{years}" id="range-{label}">{label}</button>'
                      for label, years in RANGES)
    return (f'<div class="range" id="range-selector"><span class="label">Range</span>{buttons}'
            '<span id="range-label"></span></div>')


def chart_section(title: str, chart_id: str, toggle: str = "", above: str = "") -> str:
    return (f'<section><h2>{html.escape(title)}{toggle}</h2>{above}'
            f'<div class="chart" id="{chart_id}"></div></section>')


def view_buttons(names: Sequence[str]) -> str:
    """The allocation chart's views (page.js shows the one clicked)."""
    if len(names) < 2:
        return ""
    active = ' class="active"'
    buttons = "".join(f'<button type="button" data-view="{number}"{active if number == 0 else ""}>'
                      f"{html.escape(name)}</button>" for number, name in enumerate(names))
    return f'<div class="range views" id="allocation-views"><span class="label">Show</span>{buttons}</div>'


def display_path(text: str) -> str:
    """A strategy file as the reader can use it: relative to the current folder when inside it,
    else its name (never an absolute path of the machine that ran the backtest)."""
    path = Path(text)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.name


def _cell(text: str) -> str:
    """A figure with its date ("7.31% (2020-07-30)") breaks before the date, never inside it."""
    return re.sub(r" \((\d{4}-\d{2}-\d{2})\)$", r' <span class="when">(\1)</span>', html.escape(text))


def metrics_table(rows: Sequence[tuple[str, str, str]], bench_name: str | None) -> str:
    head = "<tr><th></th><th>portfolio</th>" + (f"<th>{html.escape(bench_name)}</th>" if bench_name else "") + "</tr>"
    body = "".join(f"<tr><th>{html.escape(label)}</th><td>{_cell(mine)}</td>"
                   + (f"<td>{_cell(theirs)}</td>" if bench_name else "") + "</tr>"
                   for label, mine, theirs in rows)
    return f'<table class="metrics" id="metrics">{head}{body}</table>'


def drawdowns_table(worst: Sequence[Drawdown]) -> str:
    if not worst:
        return '<p class="notes" id="drawdown-table">No drawdown: the equity never fell below a peak.</p>'
    rows = "".join(
        f"<tr><td>{rank}</td><td>{p.peak}</td><td>{p.trough}</td>"
        f"<td>{p.recovery if p.recovery else 'not recovered'}</td><td>{pct(p.depth)}</td>"
        f"<td>{plural(p.sessions, 'session')} ({plural(p.days, 'day')})</td></tr>"
        for rank, p in enumerate(worst, start=1))
    return ('<table class="drawdowns" id="drawdown-table"><tr><th>#</th><th>start (peak)</th><th>trough</th>'
            f"<th>recovery</th><th>depth</th><th>length under water</th></tr>{rows}</table>")


def _cell_color(value: float | None) -> str:
    if value is None:
        return "#ffffff"
    strength = min(1.0, abs(value) / 0.08)
    if value >= 0:
        return f"rgba(26, 127, 55, {0.12 + 0.7 * strength:.2f})"
    return f"rgba(207, 34, 46, {0.12 + 0.7 * strength:.2f})"


def monthly_table(monthly: dict[str, float | None], yearly: dict[str, float | None],
                  marks: Sequence[Marked] = ()) -> str:
    """Compounded returns per month and year; a month with blocked or refused sessions is outlined."""
    marked: dict[str, list[Marked]] = {}
    for mark in marks:
        marked.setdefault(f"{mark.day.year:04d}-{mark.day.month:02d}", []).append(mark)
    years = sorted({key[:4] for key in monthly})
    head = "".join(f"<th>{m}</th>" for m in MONTHS)
    body = []
    for year in years:
        cells = []
        for index in range(12):
            key = f"{year}-{index + 1:02d}"
            value = monthly.get(key)
            text = "" if value is None else f"{100 * value:.1f}"
            extra = ""
            if key in marked:
                sessions = plural(len(marked[key]), "session")
                listed = html.escape(", ".join(m.day.isoformat() for m in marked[key]))
                extra = f' class="marked" title="{sessions} blocked or refused: {listed}"'
            cells.append(f'<td style="background:{_cell_color(value)}"{extra}>{text}</td>')
        total = yearly.get(year)
        total_text = "" if total is None else f"{100 * total:.1f}"
        cells.append(f'<td class="year" style="background:{_cell_color(total)}">{total_text}</td>')
        body.append(f"<tr><th>{year}</th>{''.join(cells)}</tr>")
    return (f'<table class="heat" id="monthly-returns"><tr><th></th>{head}<th>Year</th></tr>'
            f"{''.join(body)}</table>")


def strategies_section(doc: dict[str, Any], with_chart: bool) -> str:
    rows = []
    for name, body in (doc.get("strategies") or {}).items():
        m = body.get("metrics")
        if not m:
            continue
        rows.append(f"<tr><th>{html.escape(name)}</th><td>{pct(float(body['allocation']), 1)}</td>"
                    f"<td>{money(m.get('final_equity'), cents=True)}</td><td>{pct(m['total_return'])}</td>"
                    f"<td>{pct(m['cagr'])}</td><td>{num(m['sharpe'])}</td><td>{pct(m['max_drawdown'])}</td>"
                    f"<td>{pct(body.get('contribution'))}</td>"
                    f'<td class="file">{html.escape(display_path(body["file"]))}</td></tr>')
    if not rows:
        return ""
    chart = '<div class="chart" id="strategy-chart"></div>' if with_chart else ""
    return ("<section><h2>Per strategy (each alone with its share of the capital)</h2>" + chart
            + '<table class="strategies" id="strategy-table"><tr><th></th><th>allocation</th><th>final equity</th>'
              "<th>return</th><th>CAGR</th><th>Sharpe</th><th>max drawdown</th><th>contribution</th>"
              '<th class="file">file</th></tr>'
            + "".join(rows) + "</table></section>")
