"""P&L over a period from daily equity points (pure): return, dollars, drawdown, best/worst day,
weekly or monthly buckets, per-day and per-strategy figures, and a cross-check against our own
equity snapshots.

Equity-based: deposits and withdrawals show up as P&L (Alpaca's history does not separate them);
the cross-check makes a large unexplained jump visible.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Literal

from services.orchestrator.ports import EquityPoint
from services.orchestrator.workflow_record import EquitySnapshot

PERIOD = re.compile(r"^([1-9][0-9]{0,2})([DWMA])$")
PnlType = Literal["weekly", "monthly"]


class PnlUnavailable(RuntimeError):
    """The equity history could not be read (no keys, broker down): the report cannot be made."""


@dataclass(frozen=True)
class PnlRequest:
    period: str
    pnl_type: PnlType | None = None
    periods: int | None = None
    detailed: bool = False

    @classmethod
    def of(cls, *, period: str | None = None, pnl_type: PnlType | None = None, periods: int | None = None,
           detailed: bool = False) -> PnlRequest:
        """The original's fields: without a period, `pnl_type` + `pnl_periods` choose it (4 weeks /
        3 months by default); without either, one month."""
        if period is None:
            period = {"weekly": f"{periods or 4}W", "monthly": f"{periods or 3}M"}.get(pnl_type or "", "1M")
        if not PERIOD.match(period):
            raise ValueError(f"period '{period}' is not <number><D|W|M|A>, e.g. 1W, 1M, 3M, 1A")
        return cls(period=period, pnl_type=pnl_type, periods=periods, detailed=detailed)


def period_start(period: str, end: date) -> date:
    match = PERIOD.match(period)
    if match is None:
        raise ValueError(f"bad period {period!r}")
    n, unit = int(match.group(1)), match.group(2)
    if unit == "D":
        return end - timedelta(days=n)
    if unit == "W":
        return end - timedelta(weeks=n)
    months = n if unit == "M" else 12 * n
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    return date(year, month + 1, min(end.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class DayFigure:
    day: date
    equity: Decimal
    change: Decimal | None
    change_pct: Decimal | None


@dataclass(frozen=True)
class Bucket:
    label: str
    first_day: date
    last_day: date
    start_equity: Decimal
    end_equity: Decimal

    @property
    def pnl(self) -> Decimal:
        return self.end_equity - self.start_equity

    @property
    def return_pct(self) -> Decimal | None:
        return self.pnl / self.start_equity if self.start_equity else None


@dataclass(frozen=True)
class Drawdown:
    pct: Decimal
    amount: Decimal
    peak_day: date | None
    trough_day: date | None


@dataclass(frozen=True)
class Mismatch:
    day: date
    alpaca: Decimal
    ours: Decimal

    @property
    def difference(self) -> Decimal:
        return self.alpaca - self.ours

    @property
    def relative(self) -> Decimal:
        return abs(self.difference) / self.alpaca if self.alpaca else Decimal(1)


@dataclass(frozen=True)
class StrategyFigure:
    name: str
    pnl: Decimal
    return_pct: Decimal
    intervals: int
    unpriced_weight: Decimal
    """Weight (summed over intervals) in symbols without a price on both days: left out."""


@dataclass(frozen=True)
class CrossCheck:
    source_is_snapshots: bool
    tolerance: Decimal
    days_compared: int = 0
    mismatches: tuple[Mismatch, ...] = ()


@dataclass(frozen=True)
class PnlReport:
    source: str
    trading_mode: str
    request: PnlRequest
    start: date
    end: date
    days: tuple[DayFigure, ...]
    drawdown: Drawdown
    buckets: tuple[Bucket, ...]
    cross_check: CrossCheck
    strategies: tuple[StrategyFigure, ...] = ()
    notes: tuple[str, ...] = field(default=())
    limits: tuple[tuple[date, str], ...] = ()
    """(day, the limit's sentence) for every limit that bound a run in the period (our snapshots)."""

    @property
    def start_equity(self) -> Decimal | None:
        return self.days[0].equity if self.days else None

    @property
    def end_equity(self) -> Decimal | None:
        return self.days[-1].equity if self.days else None

    @property
    def pnl(self) -> Decimal | None:
        return None if not self.days else self.days[-1].equity - self.days[0].equity

    @property
    def return_pct(self) -> Decimal | None:
        first = self.start_equity
        return None if not first or self.pnl is None else self.pnl / first

    @property
    def best_day(self) -> DayFigure | None:
        moved = [d for d in self.days if d.change is not None]
        return max(moved, key=lambda d: (d.change, d.day)) if moved else None

    @property
    def worst_day(self) -> DayFigure | None:
        moved = [d for d in self.days if d.change is not None]
        return min(moved, key=lambda d: (d.change, d.day)) if moved else None


def build_report(points: Sequence[EquityPoint], snapshots: Sequence[EquitySnapshot], request: PnlRequest, *,
                 source: str, trading_mode: str, end: date, tolerance: Decimal) -> PnlReport:
    start = period_start(request.period, end)
    series = _one_per_day(p for p in points if start <= p.day <= end)
    ours = latest_per_day(s for s in snapshots if start <= s.trading_date <= end)
    days = _day_figures(series)
    notes = [] if series else [f"no equity data from {source} between {start} and {end}"]
    buckets: tuple[Bucket, ...] = ()
    if request.pnl_type is not None:
        buckets = buckets_of(series, request.pnl_type)
        if request.periods:
            buckets = buckets[-request.periods:]
    check = CrossCheck(source_is_snapshots=True, tolerance=tolerance)
    if source != "local":
        check = cross_check(series, ours, tolerance)
    strategies = strategy_figures(ours) if request.detailed else ()
    limits = tuple(sorted({(s.trading_date, line) for s in snapshots if start <= s.trading_date <= end
                           for line in s.limits}))
    return PnlReport(source=source, trading_mode=trading_mode, request=request, start=start, end=end,
                     days=tuple(days), drawdown=max_drawdown(series), buckets=buckets, cross_check=check,
                     strategies=strategies, notes=tuple(notes), limits=limits)


def _one_per_day(points: Iterable[EquityPoint]) -> list[EquityPoint]:
    by_day: dict[date, EquityPoint] = {}
    for point in points:
        by_day[point.day] = point
    return [by_day[d] for d in sorted(by_day)]


def latest_per_day(snapshots: Iterable[EquitySnapshot]) -> dict[date, EquitySnapshot]:
    latest: dict[date, EquitySnapshot] = {}
    for snap in snapshots:
        held = latest.get(snap.trading_date)
        if held is None or snap.recorded_at >= held.recorded_at:
            latest[snap.trading_date] = snap
    return dict(sorted(latest.items()))


def _day_figures(series: Sequence[EquityPoint]) -> list[DayFigure]:
    figures: list[DayFigure] = []
    for i, point in enumerate(series):
        if i == 0:
            figures.append(DayFigure(point.day, point.equity, None, None))
            continue
        previous = series[i - 1].equity
        change = point.equity - previous
        figures.append(DayFigure(point.day, point.equity, change, change / previous if previous else None))
    return figures


def max_drawdown(series: Sequence[EquityPoint]) -> Drawdown:
    worst = Drawdown(Decimal(0), Decimal(0), None, None)
    peak: EquityPoint | None = None
    for point in series:
        if peak is None or point.equity > peak.equity:
            peak = point
            continue
        amount = peak.equity - point.equity
        pct = amount / peak.equity if peak.equity else Decimal(0)
        if pct > worst.pct:
            worst = Drawdown(pct, amount, peak.day, point.day)
    return worst


def bucket_label(day: date, pnl_type: PnlType) -> str:
    if pnl_type == "monthly":
        return f"{day.year}-{day.month:02d}"
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def buckets_of(series: Sequence[EquityPoint], pnl_type: PnlType) -> tuple[Bucket, ...]:
    """Each bucket runs from the previous bucket's last equity (or its own first) to its last."""
    groups: dict[str, list[EquityPoint]] = {}
    for point in series:
        groups.setdefault(bucket_label(point.day, pnl_type), []).append(point)
    buckets: list[Bucket] = []
    previous_end: Decimal | None = None
    for label, points in groups.items():
        start = previous_end if previous_end is not None else points[0].equity
        buckets.append(Bucket(label, points[0].day, points[-1].day, start, points[-1].equity))
        previous_end = points[-1].equity
    return tuple(buckets)


def cross_check(series: Sequence[EquityPoint], ours: dict[date, EquitySnapshot], tolerance: Decimal) -> CrossCheck:
    compared = [(p, ours[p.day]) for p in series if p.day in ours]
    mismatches = tuple(m for m in (Mismatch(p.day, p.equity, s.equity_after) for p, s in compared)
                       if m.relative > tolerance)
    return CrossCheck(source_is_snapshots=False, tolerance=tolerance, days_compared=len(compared),
                      mismatches=mismatches)


def strategy_figures(ours: dict[date, EquitySnapshot]) -> tuple[StrategyFigure, ...]:
    """Estimated per-strategy P&L: between two consecutive snapshots, each strategy held its own
    target weights on its share (allocation) of the equity after trading; a symbol's return is its
    price change between the two days (fills, else the plan's prices)."""
    totals: dict[str, tuple[Decimal, Decimal, int, Decimal]] = {}
    snaps = list(ours.values())
    for held, then in pairwise(snaps):
        for name, strategy in held.strategies.items():
            growth, unpriced = Decimal(0), Decimal(0)
            for symbol, weight in strategy.weights.items():
                before, after = held.prices.get(symbol), then.prices.get(symbol)
                if before and after:
                    growth += weight * (after / before - 1)
                else:
                    unpriced += weight
            dollars = strategy.allocation * held.equity_after * growth
            pnl, compounded, n, missing = totals.get(name, (Decimal(0), Decimal(1), 0, Decimal(0)))
            totals[name] = (pnl + dollars, compounded * (1 + growth), n + 1, missing + unpriced)
    return tuple(StrategyFigure(name, pnl, compounded - 1, n, missing)
                 for name, (pnl, compounded, n, missing) in sorted(totals.items()))
