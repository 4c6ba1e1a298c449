"""What the tearsheet draws, computed from the backtest's JSON document (numpy only, no chart library).

Every statistic uses alchemiser/backtest/metrics.py's conventions (the tests hold them equal): daily
returns from the starting value, the benchmark's returns 0 on the first session (bought at its
close), 252 sessions a year.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from alchemiser.backtest import metrics
from alchemiser.backtest.metrics import FloatArray

ROLLING_WINDOWS = (("6-month", 126), ("12-month", 252))
TOP_SYMBOLS = 10
"""The allocation chart's symbols in their own colour; the others are summed as "other"."""


@dataclass(frozen=True)
class Curve:
    """The portfolio's (or the account's) equity, one value per day, and where its returns start."""

    days: list[date]
    equity: FloatArray
    start: float
    """The value before the first return: the backtest's capital, or an account's first recorded day."""
    first: int
    """Index of the first day with a return: 0 for a backtest, 1 for an account (its first day is the start)."""

    @property
    def returns(self) -> FloatArray:
        return metrics.returns_of(self.equity[self.first:].tolist(), self.start)

    @property
    def iso_days(self) -> list[str]:
        return [d.isoformat() for d in self.days]


def curve_of(doc: dict[str, Any]) -> Curve:
    rows = doc["equity"]
    days = [date.fromisoformat(r["trade_date"]) for r in rows]
    equity = np.asarray([float(r["equity"]) for r in rows], dtype=np.float64)
    if doc.get("source"):  # an account's document (report.account_doc): the first point is the start
        return Curve(days, equity, float(equity[0]) if equity.size else 1.0, 1)
    return Curve(days, equity, float(doc.get("capital") or (equity[0] if equity.size else 1.0)), 0)


def benchmark_equity(doc: dict[str, Any], curve: Curve) -> FloatArray | None:
    """Buying and holding the benchmark with the starting capital at the first session's close."""
    rows = doc.get("benchmark_equity") or []
    if not rows:
        return None
    closes = np.asarray([float(r["close"]) for r in rows], dtype=np.float64)
    return np.asarray(curve.start * closes / closes[0], dtype=np.float64)


def benchmark_returns(bench: FloatArray) -> FloatArray:
    """Aligned with the sessions: 0 on the first (report._aligned_benchmark)."""
    return np.concatenate([[0.0], bench[1:] / bench[:-1] - 1.0])


def underwater(values: FloatArray, start: float) -> FloatArray:
    """Drawdown from the running peak per day, the start counting as the first peak (metrics.drawdowns)."""
    return metrics.drawdowns(metrics.returns_of(values.tolist(), start))


@dataclass(frozen=True)
class Drawdown:
    peak: date
    """The last day at the peak (the first day when the starting value was the peak)."""
    trough: date
    recovery: date | None
    """The first day back at the peak; None while still under water."""
    depth: float
    sessions: int
    """Sessions under water (from the day after the peak to the day before the recovery)."""
    days: int
    """Calendar days from the peak to the recovery, or to the last day while not recovered."""


def worst_drawdowns(days: Sequence[date], r: FloatArray, count: int, start_day: date | None = None) -> list[Drawdown]:
    """The `count` deepest drawdowns (each a separate dip below a peak), deepest first. `r[k]` is the return
    of `days[k]`; `start_day` the day of the starting value (default: the first day)."""
    dd = metrics.drawdowns(r)
    periods: list[Drawdown] = []
    index = 0
    while index < dd.size:
        if dd[index] >= 0:
            index += 1
            continue
        begin = index
        while index < dd.size and dd[index] < 0:
            index += 1
        trough = begin + int(np.argmin(dd[begin:index]))
        peak = days[begin - 1] if begin > 0 else (start_day or days[0])
        recovery = days[index] if index < dd.size else None
        periods.append(Drawdown(peak, days[trough], recovery, float(dd[trough]), index - begin,
                                ((recovery or days[-1]) - peak).days))
    return sorted(periods, key=lambda p: p.depth)[:count]


def rolling(r: FloatArray, window: int, rf_daily: float = 0.0,
            benchmark: FloatArray | None = None) -> dict[str, FloatArray]:
    """Sharpe, annualised volatility and beta over each trailing `window` of sessions (NaN before the
    first full window), by metrics.py's formulas."""
    n = r.size
    out = {key: np.full(n, np.nan) for key in ("sharpe", "volatility", "beta")}
    if n < window or window < 2:
        return out
    windows = sliding_window_view(r, window)
    excess = windows - rf_daily
    sd = np.std(excess, axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(sd > 0, np.mean(excess, axis=1) / sd * np.sqrt(metrics.TRADING_DAYS), np.nan)
    out["sharpe"][window - 1:] = sharpe
    out["volatility"][window - 1:] = np.std(windows, axis=1, ddof=1) * np.sqrt(metrics.TRADING_DAYS)
    if benchmark is not None:
        bw = sliding_window_view(benchmark, window)
        db = bw - bw.mean(axis=1, keepdims=True)
        var = np.mean(db * db, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["beta"][window - 1:] = np.where(var > 0, np.mean(db * windows, axis=1) / var, np.nan)
    return out


@dataclass(frozen=True)
class AllocationView:
    """One stacked-area view: the top symbols by average weight, each a series in percent, then "other"."""

    name: str
    symbols: list[str]
    series: dict[str, FloatArray]
    other: FloatArray | None
    rest: list[str]
    """The symbols summed in "other" (their weights per day are in `rest_weights`)."""
    rest_weights: FloatArray
    """days x len(rest), percent."""


def allocation_view(name: str, rows: Sequence[dict[str, Any]], top: int = TOP_SYMBOLS) -> AllocationView:
    symbols = sorted({s for row in rows for s in row})
    matrix = np.asarray([[float(row.get(s, 0)) * 100 for s in symbols] for row in rows], dtype=np.float64)
    matrix = matrix.reshape(len(rows), len(symbols))
    order = sorted(range(len(symbols)), key=lambda i: (-matrix[:, i].mean(), symbols[i]))
    chosen, rest = order[:top], order[top:]
    series = {symbols[i]: matrix[:, i] for i in chosen}
    other = matrix[:, rest].sum(axis=1) if rest else None
    return AllocationView(name, [symbols[i] for i in chosen], series, other, [symbols[i] for i in rest],
                          matrix[:, rest])


def allocation_views(doc: dict[str, Any], top: int = TOP_SYMBOLS) -> list[AllocationView]:
    """The netted portfolio, then each strategy's own weights (when the document has them)."""
    allocations = doc.get("allocations") or []
    if not allocations:
        return []
    views = [allocation_view("portfolio (netted)", [row["weights"] for row in allocations], top)]
    names = list(allocations[0].get("strategies") or {})
    for name in names:
        views.append(allocation_view(name, [row["strategies"].get(name, {}) for row in allocations], top))
    return views


@dataclass(frozen=True)
class Marked:
    """A session blocked by a limit or refused (the plan failed closed), shaded on every chart."""

    day: date
    kind: str
    """"blocked" (a limit) or "refused"."""
    label: str


def marked_sessions(blocked: Sequence[tuple[date, str]], refused: Sequence[tuple[date, str]]) -> list[Marked]:
    """One mark per session: a day both blocked and refused counts as blocked, with both labels."""
    by_day: dict[date, Marked] = {}
    for kind, entries in (("blocked", blocked), ("refused", refused)):
        for day, label in entries:
            known = by_day.get(day)
            by_day[day] = Marked(day, known.kind if known else kind,
                                 f"{known.label}; {label}" if known else label)
    return [by_day[d] for d in sorted(by_day)]


def spans(days: Sequence[date], marked: Sequence[date]) -> list[tuple[date, date]]:
    """Runs of consecutive sessions (consecutive in `days`) among the marked ones, as (first, last)."""
    position = {d: i for i, d in enumerate(days)}
    indexes = sorted(position[d] for d in marked if d in position)
    out: list[tuple[date, date]] = []
    for i in indexes:
        if out and position[out[-1][1]] == i - 1:
            out[-1] = (out[-1][0], days[i])
        else:
            out.append((days[i], days[i]))
    return out
