"""The P&L report (pure): periods, return, drawdown, best/worst day, buckets, cross-check, per strategy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.orchestrator.messages.pnl_messages import as_dict, render
from services.orchestrator.pnl import PnlRequest, buckets_of, build_report, max_drawdown, period_start
from services.orchestrator.ports import EquityPoint
from services.orchestrator.workflow_record import EquitySnapshot, StrategyWeights

END = date(2026, 11, 25)


def points(*pairs):
    return [EquityPoint(date.fromisoformat(d), Decimal(e)) for d, e in pairs]


SERIES = points(("2026-11-18", "100000"), ("2026-11-19", "101000"), ("2026-11-20", "99000"),
                ("2026-11-23", "98000"), ("2026-11-24", "100500"), ("2026-11-25", "102000"))


def report(series=SERIES, snapshots=(), source="alpaca", tolerance="0.01", **request):
    request.setdefault("period", "1M")
    return build_report(series, list(snapshots), PnlRequest.of(**request), source=source, trading_mode="paper",
                        end=END, tolerance=Decimal(tolerance))


@pytest.mark.parametrize(("period", "start"), [
    ("1D", date(2026, 11, 24)), ("1W", date(2026, 11, 18)), ("1M", date(2026, 10, 25)),
    ("3M", date(2026, 8, 25)), ("1A", date(2025, 11, 25)), ("12M", date(2025, 11, 25)),
])
def test_period_start(period, start):
    assert period_start(period, END) == start


def test_a_month_back_from_the_31st_lands_on_the_last_day_of_a_shorter_month():
    assert period_start("1M", date(2026, 3, 31)) == date(2026, 2, 28)


@pytest.mark.parametrize(("fields", "period"), [
    ({}, "1M"), ({"pnl_type": "weekly"}, "4W"), ({"pnl_type": "monthly", "periods": 6}, "6M"),
    ({"period": "3M", "pnl_type": "weekly"}, "3M"),
])
def test_the_original_fields_choose_the_period(fields, period):
    assert PnlRequest.of(**fields).period == period


def test_a_period_that_is_not_number_and_unit_is_refused():
    with pytest.raises(ValueError, match="1Y"):
        PnlRequest.of(period="1Y")


def test_return_dollars_start_and_end_equity():
    r = report()
    assert (r.start_equity, r.end_equity, r.pnl, r.return_pct) == (
        Decimal("100000"), Decimal("102000"), Decimal("2000"), Decimal("0.02"))


def test_best_and_worst_day_by_dollar_change():
    r = report()
    assert (r.best_day.day, r.best_day.change) == (date(2026, 11, 24), Decimal("2500"))
    assert (r.worst_day.day, r.worst_day.change) == (date(2026, 11, 20), Decimal("-2000"))


def test_max_drawdown_runs_from_the_peak_to_the_lowest_point_after_it():
    dd = max_drawdown(SERIES)
    assert (dd.peak_day, dd.trough_day, dd.amount) == (date(2026, 11, 19), date(2026, 11, 23), Decimal("3000"))
    assert dd.pct == Decimal(3000) / Decimal(101000)


def test_weekly_buckets_start_from_the_previous_weeks_close():
    weeks = buckets_of(SERIES, "weekly")
    assert [(b.label, b.start_equity, b.end_equity) for b in weeks] == [
        ("2026-W47", Decimal("100000"), Decimal("99000")), ("2026-W48", Decimal("99000"), Decimal("102000"))]
    assert weeks[1].pnl == Decimal("3000")


def test_monthly_buckets_and_the_periods_limit():
    series = points(("2026-09-30", "90000"), ("2026-10-15", "95000"), ("2026-10-30", "96000"),
                    ("2026-11-25", "99000"))
    r = report(series, period="3M", pnl_type="monthly", periods=2)
    assert [(b.label, b.start_equity, b.end_equity) for b in r.buckets] == [
        ("2026-10", Decimal("90000"), Decimal("96000")), ("2026-11", Decimal("96000"), Decimal("99000"))]


def test_points_outside_the_period_are_left_out():
    r = report(points(("2026-10-01", "1"), *[(p.day.isoformat(), str(p.equity)) for p in SERIES]), period="1W")
    assert r.days[0].day == date(2026, 11, 18)


def _snap(day: str, equity: str, **fields) -> EquitySnapshot:
    return EquitySnapshot(trading_mode="paper", trading_date=date.fromisoformat(day), correlation_id=f"run-{day}",
                          recorded_at=datetime.fromisoformat(f"{day}T14:35:10+00:00"),
                          equity_after=Decimal(equity), **fields)


def test_the_cross_check_flags_days_beyond_the_tolerance_only():
    r = report(snapshots=[_snap("2026-11-24", "100000"), _snap("2026-11-25", "90000")], tolerance="0.01")
    check = r.cross_check
    assert check.days_compared == 2
    assert [(x.day, x.alpaca, x.ours) for x in check.mismatches] == [
        (date(2026, 11, 25), Decimal("102000"), Decimal("90000"))]
    text = render(r)
    assert "2 day(s) compared, 1 MISMATCH(ES):" in text
    assert "MISMATCH 2026-11-25: Alpaca $102,000.00, ours $90,000.00 (difference +$12,000.00, 11.76%)" in text


def test_the_latest_snapshot_of_a_day_is_the_one_compared():
    early = _snap("2026-11-25", "50000")
    late = early.model_copy(update={"equity_after": Decimal("102000"), "correlation_id": "second-run",
                                    "recorded_at": datetime(2026, 11, 25, 18, tzinfo=UTC)})
    assert report(snapshots=[late, early]).cross_check.mismatches == ()


def test_no_cross_check_when_the_equity_is_our_own_snapshots():
    r = report(source="local", snapshots=[_snap("2026-11-25", "1")])
    assert r.cross_check.source_is_snapshots and r.cross_check.mismatches == ()
    assert "Cross-check: n/a" in render(r)


def test_per_strategy_estimates_use_each_strategys_weights_on_its_allocation_between_runs():
    day1 = _snap("2026-11-24", "100000", prices={"TQQQ": Decimal("80"), "TLT": Decimal("90"), "GLD": Decimal("200")},
                 strategies={"trend": StrategyWeights(allocation=Decimal("0.5"), weights={"TQQQ": Decimal("1")}),
                             "parity": StrategyWeights(allocation=Decimal("0.5"),
                                                       weights={"TLT": Decimal("0.5"), "GLD": Decimal("0.5")})})
    day2 = _snap("2026-11-25", "101000", prices={"TQQQ": Decimal("84"), "TLT": Decimal("90")})
    r = report(snapshots=[day1, day2], detailed=True)
    trend, = (s for s in r.strategies if s.name == "trend")
    parity, = (s for s in r.strategies if s.name == "parity")
    assert (trend.pnl, trend.return_pct, trend.intervals) == (Decimal("2500.00"), Decimal("0.05"), 1)
    assert (parity.pnl, parity.unpriced_weight) == (Decimal("0"), Decimal("0.5"))  # GLD has no price on day 2
    data = as_dict(r)
    assert data["strategies"][1] == {"name": "trend", "pnl_estimate": "2500.00", "return_pct_estimate": "5.0000",
                                     "intervals": 1, "unpriced_weight": "0"}
    assert [d["date"] for d in data["days"]] == [p.day.isoformat() for p in SERIES]


def test_an_empty_history_says_so():
    r = report([])
    assert r.pnl is None and r.notes == ("no equity data from alpaca between 2026-10-25 and 2026-11-25",)
    assert "no equity data" in render(r)


def test_the_text_report_reads_as_a_summary():
    text = render(report(pnl_type="weekly"))
    for line in ("  start equity   $100,000.00 (2026-11-18)", "  end equity     $102,000.00 (2026-11-25)",
                 "  P&L            +$2,000.00 (+2.00%)",
                 "  max drawdown   -2.97% (-$3,000.00) from 2026-11-19 to 2026-11-23",
                 "  best day       2026-11-24 +$2,500.00 (+2.55%)",
                 "  worst day      2026-11-20 -$2,000.00 (-1.98%)",
                 "Weekly P&L", "  2026-W48  2026-11-23..2026-11-25  $99,000.00 -> $102,000.00  +$3,000.00 (+3.03%)"):
        assert line in text


def test_the_report_lists_every_limit_that_bound_in_the_period():
    def snap(day: str, limits: tuple[str, ...], recorded: int) -> EquitySnapshot:
        return EquitySnapshot(trading_mode="paper", trading_date=date.fromisoformat(day), correlation_id=f"run-{day}",
                              recorded_at=datetime(2026, 11, 25, recorded, tzinfo=UTC), equity_after=Decimal(100000),
                              limits=limits)

    refused = "max_position_weight (75%): UGL would be 99% of equity. max_position_weight is 75% (portfolio.toml:7)"
    r = report(snapshots=[snap("2026-11-20", (refused,), 14), snap("2026-11-20", (), 15),  # a retry that traded
                          snap("2026-11-24", ("max_position_weight (75%): UGL clipped from 100% to 75%",), 14),
                          snap("2026-10-01", ("outside the period",), 14)])
    assert [d.isoformat() for d, _ in r.limits] == ["2026-11-20", "2026-11-24"]
    assert as_dict(r)["limits"][0] == {"date": "2026-11-20", "limit": refused}
    text = render(r)
    assert "Limits that bound (2 day(s) in the period)" in text and f"2026-11-20  {refused}" in text
