"""The P&L report as plain text (console, CLI) and as JSON-ready data (Lambda response, --json)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.orchestrator.messages.formatting import money, percent, signed_money
from services.orchestrator.pnl import Bucket, DayFigure, PnlReport


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else str(round(value * 100, 4))


def _day(figure: DayFigure | None) -> dict[str, Any] | None:
    if figure is None:
        return None
    return {"date": figure.day.isoformat(), "equity": _s(figure.equity), "change": _s(figure.change),
            "change_pct": _pct(figure.change_pct)}


def _bucket(bucket: Bucket) -> dict[str, Any]:
    return {"label": bucket.label, "first_day": bucket.first_day.isoformat(), "last_day": bucket.last_day.isoformat(),
            "start_equity": _s(bucket.start_equity), "end_equity": _s(bucket.end_equity), "pnl": _s(bucket.pnl),
            "return_pct": _pct(bucket.return_pct)}


def as_dict(report: PnlReport) -> dict[str, Any]:
    """Money as strings, percentages as strings in percent (e.g. "1.3" = 1.3%)."""
    check = report.cross_check
    data: dict[str, Any] = {
        "source": report.source,
        "trading_mode": report.trading_mode,
        "period": report.request.period,
        "pnl_type": report.request.pnl_type,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "start_equity": _s(report.start_equity),
        "end_equity": _s(report.end_equity),
        "pnl": _s(report.pnl),
        "return_pct": _pct(report.return_pct),
        "max_drawdown_pct": _pct(report.drawdown.pct),
        "max_drawdown": _s(report.drawdown.amount),
        "best_day": _day(report.best_day),
        "worst_day": _day(report.worst_day),
        "buckets": [_bucket(b) for b in report.buckets],
        "cross_check": {
            "applicable": not check.source_is_snapshots,
            "tolerance_pct": _pct(check.tolerance),
            "days_compared": check.days_compared,
            "mismatches": [{"date": m.day.isoformat(), "alpaca": _s(m.alpaca), "ours": _s(m.ours),
                            "difference": _s(m.difference), "relative_pct": _pct(m.relative)}
                           for m in check.mismatches],
        },
        "notes": list(report.notes),
        "limits": [{"date": day.isoformat(), "limit": line} for day, line in report.limits],
    }
    if report.request.detailed:
        data["days"] = [_day(d) for d in report.days]
        data["strategies"] = [{"name": s.name, "pnl_estimate": _s(round(s.pnl, 2)),
                               "return_pct_estimate": _pct(s.return_pct), "intervals": s.intervals,
                               "unpriced_weight": _s(s.unpriced_weight)} for s in report.strategies]
    return data


def headline(report: PnlReport) -> str:
    if report.pnl is None:
        return f"P&L {report.request.period}: no equity data ({report.source})"
    return (f"P&L {report.request.period} ({report.start} to {report.end}): {signed_money(report.pnl)} "
            f"({percent(report.return_pct, signed=True)}), equity {money(report.end_equity)}")


def render(report: PnlReport) -> str:
    lines = [f"P&L report - {report.trading_mode}, source {report.source}, period {report.request.period} "
             f"({report.start} to {report.end})"]
    if report.days:
        first, last = report.days[0], report.days[-1]
        dd = report.drawdown
        lines += [
            f"  start equity   {money(first.equity)} ({first.day})",
            f"  end equity     {money(last.equity)} ({last.day})",
            f"  P&L            {signed_money(report.pnl or Decimal(0))} ({percent(report.return_pct, signed=True)})",
            f"  max drawdown   {percent(-dd.pct)} ({money(-dd.amount)})"
            + (f" from {dd.peak_day} to {dd.trough_day}" if dd.peak_day else ""),
        ]
        for name, figure in (("best day ", report.best_day), ("worst day", report.worst_day)):
            if figure is not None and figure.change is not None:
                lines.append(f"  {name}      {figure.day} {signed_money(figure.change)} "
                             f"({percent(figure.change_pct, signed=True)})")
    lines.extend(f"  note: {note}" for note in report.notes)
    if report.buckets:
        lines += ["", f"{(report.request.pnl_type or '').capitalize()} P&L"]
        lines += [f"  {b.label:<9} {b.first_day}..{b.last_day}  {money(b.start_equity)} -> {money(b.end_equity)}  "
                  f"{signed_money(b.pnl)} ({percent(b.return_pct, signed=True)})" for b in report.buckets]
    if report.limits:
        days = len({day for day, _ in report.limits})
        lines += ["", f"Limits that bound ({days} day(s) in the period)"]
        lines += [f"  {day}  {line}" for day, line in report.limits]
    lines += ["", *_cross_check_lines(report)]
    if report.request.detailed:
        lines += ["", "Per day"]
        lines += [f"  {d.day}  {money(d.equity):>16}  " + (f"{signed_money(d.change)} "
                  f"({percent(d.change_pct, signed=True)})" if d.change is not None else "") for d in report.days]
        lines += ["", "Per strategy (estimated: each strategy's own weights on its allocation, between runs)"]
        lines += [f"  {s.name:<24} {signed_money(round(s.pnl, 2))} ({percent(s.return_pct, signed=True)}) over "
                  f"{s.intervals} interval(s)" + (f"; {percent(s.unpriced_weight)} weight unpriced"
                                                  if s.unpriced_weight else "") for s in report.strategies]
        if not report.strategies:
            lines.append("  n/a (needs two completed workflows in the period)")
    return "\n".join(lines) + "\n"


def _cross_check_lines(report: PnlReport) -> list[str]:
    check = report.cross_check
    if check.source_is_snapshots:
        return ["Cross-check: n/a (the equity comes from our own snapshots)"]
    title = f"Cross-check against our equity snapshots (tolerance {percent(check.tolerance)})"
    if not check.days_compared:
        return [title, "  no day in the period has both an Alpaca equity and a snapshot"]
    if not check.mismatches:
        return [title, f"  {check.days_compared} day(s) compared: all within tolerance"]
    return [title, f"  {check.days_compared} day(s) compared, {len(check.mismatches)} MISMATCH(ES):"] + [
        f"  MISMATCH {m.day}: Alpaca {money(m.alpaca)}, ours {money(m.ours)} "
        f"(difference {signed_money(m.difference)}, {percent(m.relative)})" for m in check.mismatches]
