"""The tearsheet's charts as plotly figures (plotly: the CLI's optional dependency, never in a Lambda bundle).

Figures hold the page's shared arrays by reference ("@name", see Columns) so that the dates and the
equity are written into the page once, not once per trace; page.js puts the arrays back before it
draws. Colours: the portfolio blue, the benchmark grey, the account amber; each symbol of the
allocation has one colour of a palette of distinct colours, the same in every view, and "other"
a grey no symbol has. Legends sit above the plot area, never on the lines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from alchemiser.backtest.account_compare import AccountComparison
from alchemiser.backtest.tearsheet.series import AllocationView, Drawdown, Marked, spans

PORTFOLIO = "#1f6feb"
BENCHMARK = "#6e7781"
ACCOUNT = "#bf8700"
GAP = "#8250df"
DRAWDOWN = "#cf222e"
WINDOW_COLORS = ("#54aeff", "#0a3069")  # 6-month, 12-month
SYMBOL_COLORS = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#edc948", "#76b7b2", "#9c755f", "#ff9da7", "#17becf",
    "#2f4b7c", "#a0cbe8", "#8cd17d", "#d37295", "#b6992d", "#499894", "#6b4c9a", "#ffbe7d", "#79706e", "#d4a6c8",
)
OTHER_COLOR = "#d0d7de"
STRATEGY_COLORS = ("#1f6feb", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#0969da", "#bc4c00", "#6639ba")
MARK_FILL = {"blocked": "rgba(251, 143, 68, 0.30)", "refused": "rgba(130, 80, 223, 0.25)"}
MARK_LINE = {"blocked": "rgba(251, 143, 68, 0.9)", "refused": "rgba(130, 80, 223, 0.8)"}
WORST_FILL = "rgba(207, 34, 46, 0.10)"
FONT = "-apple-system, Segoe UI, Helvetica, Arial, sans-serif"
MONEY_TICKS = "$,.0f"
MONEY_HOVER = "%{y:$,.2f}"
PERCENT_HOVER = "%{y:.2f}%"


class Columns:
    """The arrays the page writes once (`values`, JSON-ready), each under a name figures use as "@name".

    Traces get numpy arrays (plotly validates those at once, lists element by element) and `compact`
    knows a stored one by its bytes."""

    def __init__(self) -> None:
        self.values: dict[str, list[Any]] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self._names: dict[tuple[str, bytes], str] = {}

    def add(self, name: str, values: Iterable[Any], places: int | None = None) -> np.ndarray:
        """Store `values` (NaN as null, floats rounded to `places`) and return them as an array for a trace."""
        clean = [_clean(v, places) for v in values]
        array = (np.asarray(clean, dtype=object) if clean and isinstance(clean[0], str)
                 else np.asarray([np.nan if v is None else v for v in clean], dtype=np.float64))
        self.values[name], self._arrays[name] = clean, array
        self._names.setdefault(_key(array), name)
        return array

    def array(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def compact(self, figure: go.Figure) -> dict[str, Any]:
        """The figure as JSON-ready data, each stored array replaced by its name."""
        out = figure.to_plotly_json()
        for trace, written in zip(figure.data, out["data"], strict=True):
            for key in ("x", "y"):
                value = trace[key]
                name = self._names.get(_key(value)) if isinstance(value, np.ndarray) else None
                if name is not None:
                    written[key] = f"@{name}"
        return out  # type: ignore[no-any-return]


def _key(array: np.ndarray) -> tuple[str, bytes]:
    if array.dtype.kind in "fiu":
        return "number", np.asarray(array, dtype=np.float64).tobytes()
    return "text", "\x00".join(str(v) for v in array.tolist()).encode()


def encoded(values: list[Any]) -> list[Any] | dict[str, list[Any]]:
    """A column as written into the page: as is, or as runs {"runs": [value, count, ...]} where that is
    shorter (the allocation's weights: long runs of 0 and of held weights). page.js decodes both."""
    runs: list[Any] = []
    for value in values:
        if runs and runs[-2] == value and type(runs[-2]) is type(value):
            runs[-1] += 1
        else:
            runs += [value, 1]
    return {"runs": runs} if len(runs) < len(values) * 0.6 else values


def _clean(value: Any, places: int | None) -> Any:
    if isinstance(value, float | int) and not isinstance(value, bool):
        number = float(value)
        if not math.isfinite(number):
            return None
        return round(number, places) if places is not None else number
    return value


def layout(height: int, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "template": "none", "height": height, "autosize": True,
        "margin": {"l": 72, "r": 16, "t": 40, "b": 36},
        "font": {"family": FONT, "size": 12, "color": "#1f2328"},
        "paper_bgcolor": "white", "plot_bgcolor": "white", "hovermode": "x unified",
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
        "xaxis": _time_axis(),
        "yaxis": {"gridcolor": "#eaeef2", "zerolinecolor": "#afb8c1", "automargin": True},
    }
    base.update(extra)
    return base


def _time_axis() -> dict[str, Any]:
    return {"type": "date", "gridcolor": "#eaeef2", "showspikes": True, "spikemode": "across",
            "spikethickness": 1, "spikecolor": "#8c959f", "hoverformat": "%a %Y-%m-%d"}


def _day_edges(first: date, last: date) -> tuple[str, str]:
    """A session drawn as the whole day around it (noon before to noon after)."""
    return f"{(first - timedelta(days=1)).isoformat()} 12:00", f"{last.isoformat()} 12:00"


def mark_shapes(days: Sequence[date], marks: Sequence[Marked]) -> list[dict[str, Any]]:
    """Shaded columns over every run of blocked or refused sessions (an edge line keeps a single day
    visible on ten years of axis)."""
    shapes = []
    for kind in ("blocked", "refused"):
        for first, last in spans(days, [m.day for m in marks if m.kind == kind]):
            x0, x1 = _day_edges(first, last)
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": x1, "y0": 0, "y1": 1,
                           "fillcolor": MARK_FILL[kind], "line": {"width": 1, "color": MARK_LINE[kind]},
                           "layer": "below", "name": f"{kind} sessions"})
    return shapes


def equity_figure(cols: Columns, *, equity: np.ndarray, bench: np.ndarray | None, bench_name: str | None,
                  comparison: AccountComparison | None, marks: Sequence[Marked], days: Sequence[date],
                  label: str, log_scale: bool) -> go.Figure:
    x = cols.array("days")
    fig = go.Figure()
    fig.add_scatter(x=x, y=equity, name=label, line={"color": PORTFOLIO, "width": 1.8}, hovertemplate=MONEY_HOVER)
    if bench is not None:
        fig.add_scatter(x=x, y=bench, name=f"{bench_name} (buy and hold)", line={"color": BENCHMARK, "width": 1.3},
                        hovertemplate=MONEY_HOVER, meta={"rebase": True})
    if comparison is not None:
        fig.add_scatter(x=cols.add("account_days", comparison.days), y=cols.add("account", comparison.account, 2),
                        name="paper account (recorded, rebased)", mode="lines+markers",
                        line={"color": ACCOUNT, "width": 2, "dash": "dot"}, marker={"size": 5},
                        hovertemplate=MONEY_HOVER)  # dotted: the backtest shows through where they are equal
    if marks:
        at = {d.isoformat(): v for d, v in zip(days, equity, strict=True)}
        fig.add_scatter(x=[m.day.isoformat() for m in marks], y=[at.get(m.day.isoformat()) for m in marks],
                        text=[f"{m.kind}: {m.label}" for m in marks], mode="markers", name="blocked or refused",
                        marker={"color": MARK_LINE["blocked"], "size": 7, "symbol": "x"}, hovertemplate="%{text}")
    fig.update_layout(**layout(430, shapes=mark_shapes(days, marks)))
    fig.update_yaxes(type="log" if log_scale else "linear", tickformat=MONEY_TICKS, title_text="equity")
    return fig


def gap_figure(cols: Columns, comparison: AccountComparison, marks: Sequence[Marked],
               days: Sequence[date]) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(x=cols.array("account_days"), y=cols.add("account_gap", comparison.gap, 2),
                    name="paper account minus backtest", mode="lines+markers", line={"color": GAP, "width": 1.6},
                    marker={"size": 4}, fill="tozeroy", fillcolor="rgba(130, 80, 223, 0.12)", hovertemplate=MONEY_HOVER)
    fig.update_layout(**layout(220, shapes=mark_shapes(days, marks), showlegend=True))
    fig.update_yaxes(tickformat="$,.2f", title_text="gap")
    return fig


def drawdown_figure(cols: Columns, *, underwater: np.ndarray, bench_underwater: np.ndarray | None,
                    bench_name: str | None, worst: Sequence[Drawdown], marks: Sequence[Marked],
                    days: Sequence[date]) -> go.Figure:
    x = cols.array("days")
    fig = go.Figure()
    fig.add_scatter(x=x, y=underwater, name="portfolio", fill="tozeroy", line={"color": DRAWDOWN, "width": 1},
                    fillcolor="rgba(207, 34, 46, 0.35)", hovertemplate=PERCENT_HOVER)
    if bench_underwater is not None:
        fig.add_scatter(x=x, y=bench_underwater, name=str(bench_name), line={"color": BENCHMARK, "width": 1},
                        hovertemplate=PERCENT_HOVER)
    shapes, notes = [], []
    for rank, period in enumerate(worst, start=1):
        x0, _ = _day_edges(period.peak, period.peak)
        _, x1 = _day_edges(period.recovery or days[-1], period.recovery or days[-1])
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": x1, "y0": 0, "y1": 1,
                       "fillcolor": WORST_FILL, "line": {"width": 0}, "layer": "below",
                       "name": f"drawdown {rank}"})
        notes.append({"x": period.trough.isoformat(), "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom",
                      "text": f"#{rank}", "showarrow": False, "font": {"size": 11, "color": DRAWDOWN}})
    fig.update_layout(**layout(270, shapes=shapes + mark_shapes(days, marks), annotations=notes,
                               margin={"l": 72, "r": 16, "t": 58, "b": 36},
                               legend={"orientation": "h", "x": 0, "y": 1.16, "yanchor": "bottom"}))
    fig.update_yaxes(ticksuffix="%", title_text="under water")
    return fig


def rolling_figure(cols: Columns, windows: dict[str, dict[str, np.ndarray]], has_benchmark: bool,
                   marks: Sequence[Marked], days: Sequence[date]) -> go.Figure:
    """Rolling Sharpe, volatility and (against the benchmark) beta, one row each, every window a colour."""
    rows = [("sharpe", "Sharpe", "%{y:.2f}"), ("volatility", "volatility", "%{y:.1f}%")]
    if has_benchmark:
        rows.append(("beta", "beta", "%{y:.2f}"))
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.05)
    x = cols.array("days")
    for index, (key, title, hover) in enumerate(rows, start=1):
        for color, (window, series) in zip(WINDOW_COLORS, windows.items(), strict=False):
            fig.add_scatter(x=x, y=series[key], name=window, legendgroup=window, showlegend=index == 1,
                            line={"color": color, "width": 1.4}, hovertemplate=hover, row=index, col=1)
        fig.update_yaxes(title_text=title, row=index, col=1, ticksuffix="%" if key == "volatility" else "",
                         gridcolor="#eaeef2", zerolinecolor="#afb8c1")
    fig.update_layout(**{k: v for k, v in layout(150 + 150 * len(rows), shapes=mark_shapes(days, marks)).items()
                         if k not in ("xaxis", "yaxis")})
    fig.update_xaxes(**_time_axis())
    return fig


def yearly_figure(years: list[str], mine: list[float | None], theirs: list[float | None] | None,
                  bench_name: str | None) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=years, y=mine, name="portfolio", marker_color=PORTFOLIO, hovertemplate=PERCENT_HOVER)
    if theirs is not None:
        fig.add_bar(x=years, y=theirs, name=str(bench_name), marker_color=BENCHMARK, hovertemplate=PERCENT_HOVER)
    fig.update_layout(**layout(300, barmode="group", xaxis={"type": "category"}))
    fig.update_yaxes(ticksuffix="%", title_text="return")
    return fig


def distribution_figure(returns: np.ndarray, bench_returns: np.ndarray | None, bench_name: str | None) -> go.Figure:
    fig = go.Figure()
    fig.add_histogram(x=returns, name="portfolio", marker_color=PORTFOLIO, opacity=0.65, histnorm="percent",
                      hovertemplate="%{x}: %{y:.1f}% of sessions")
    if bench_returns is not None:
        fig.add_histogram(x=bench_returns, name=str(bench_name), marker_color=BENCHMARK, opacity=0.55,
                          histnorm="percent", hovertemplate="%{x}: %{y:.1f}% of sessions")
    fig.update_layout(**layout(300, barmode="overlay", hovermode="closest", xaxis={"ticksuffix": "%",
                                                                                  "title": {"text": "daily return"}}))
    fig.update_yaxes(ticksuffix="%", title_text="share of sessions")
    return fig


def symbol_colors(views: Sequence[AllocationView]) -> dict[str, str]:
    """One colour per symbol drawn in any view, in the order of the views' rankings (the netted portfolio
    first), so a symbol keeps its colour across views and no two drawn symbols share one."""
    order: list[str] = []
    for view in views:
        order += [s for s in view.symbols if s not in order]
    return {s: SYMBOL_COLORS[i % len(SYMBOL_COLORS)] for i, s in enumerate(order)}


def allocation_figure(cols: Columns, views: Sequence[AllocationView], marks: Sequence[Marked],
                      days: Sequence[date]) -> go.Figure:
    """A stacked area per view (`meta.view`: which), the first shown; the page's view buttons show another.
    The top trace of each view carries the hover (`meta.hover`): page.js writes each day's full weights
    into it."""
    colors = symbol_colors(views)
    x = cols.array("days")
    fig = go.Figure()
    for number, view in enumerate(views):
        names = [*view.symbols, *(["other"] if view.other is not None else [])]
        for symbol in names:
            values = view.other if symbol == "other" else view.series[symbol]
            assert values is not None
            top = symbol == names[-1]
            color = OTHER_COLOR if symbol == "other" else colors[symbol]
            fig.add_scatter(x=x, y=cols.add(f"w{number}:{symbol}", values, 1), name=symbol,
                            stackgroup=f"view{number}", mode="lines", line={"width": 0.5, "shape": "hv"},
                            fillcolor=color, marker={"color": color}, visible=number == 0,
                            hoverinfo=None if top else "skip",
                            hovertemplate="%{customdata}<extra></extra>" if top else None,
                            meta={"view": number, "hover": top})
    fig.update_layout(**layout(400, shapes=mark_shapes(days, marks)))
    fig.update_layout(legend_traceorder="normal")  # the largest symbol first, not the stack's top first
    fig.update_yaxes(range=[0, 100], ticksuffix="%", title_text="target weight")
    return fig


def strategy_figure(cols: Columns, curves: dict[str, np.ndarray], marks: Sequence[Marked],
                    days: Sequence[date]) -> go.Figure:
    fig = go.Figure()
    for color, (name, equity) in zip(STRATEGY_COLORS * 4, curves.items(), strict=False):
        fig.add_scatter(x=cols.array("days"), y=equity, name=name, line={"color": color, "width": 1.5},
                        hovertemplate=MONEY_HOVER)
    fig.update_layout(**layout(340, shapes=mark_shapes(days, marks)))
    # a log axis: strategies of very different growth stay readable side by side
    fig.update_yaxes(type="log", tickformat=MONEY_TICKS, title_text="equity (log)")
    return fig
