"""What the tearsheet draws (series, figures, page), on documents shaped as report.to_json makes them.

The defects of the static tearsheet each have a test here (first run against the old page where one
existed): symbols sharing a colour, legends on the lines, a log axis with two ticks, raw "140000"
money, absolute file paths; the browser side (hover, the range selector) is in tests/e2e.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alchemiser.backtest import metrics
from alchemiser.backtest.account_compare import compare_account, comparison_lines
from alchemiser.backtest.formats import money
from alchemiser.backtest.report import stopped_kind
from alchemiser.backtest.tearsheet import figures, render_html, series
from alchemiser.backtest.tearsheet.page import Page
from alchemiser.backtest.tearsheet.png import log_ticks

SYMBOLS = [f"S{i:02d}" for i in range(24)]


def _days(n: int, first: date = date(2020, 1, 2)) -> list[date]:
    out, day = [], first
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def make_doc(n: int = 600, seed: int = 0, symbols: int = 24,
             notes: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A backtest document as report.to_json writes it, from a seeded random walk."""
    rng = np.random.default_rng(seed)
    days = _days(n)
    equity = [float(f"{e:.2f}") for e in 100_000 * np.cumprod(1 + rng.normal(0.0006, 0.012, n))]
    closes = [float(f"{c:.2f}") for c in 400 * np.cumprod(1 + rng.normal(0.0003, 0.01, n))]
    b = np.concatenate([[0.0], metrics.returns_of(closes[1:], closes[0])])
    weights = rng.dirichlet(np.linspace(3, 0.2, symbols), n)
    allocations = []
    for day, row in zip(days, weights, strict=True):
        netted = {SYMBOLS[i]: f"{w:.6f}" for i, w in enumerate(row) if w > 0.001}
        allocations.append({"trade_date": day.isoformat(), "data_date": day.isoformat(), "weights": netted,
                            "strategies": {"alpha": netted, "beta": {"S00": "0.5", "S23": "0.5"}}})
    summary = metrics.summary(days, metrics.returns_of(equity, 100_000.0), benchmark=b)
    return {
        "range": {"from": days[0].isoformat(), "to": days[-1].isoformat(), "sessions": n},
        "capital": "100000", "synthetic": True, "risk_free_rate": 0.0,
        "fill_model": {"price": "close", "slippage_bps": "5", "fee_per_share": "0"},
        "metrics": {**summary, "final_equity": str(equity[-1])}, "benchmark": {**metrics.summary(days, b),
                                                                              "symbol": "SPY"},
        "equity": [{"trade_date": d.isoformat(), "equity": str(e)} for d, e in zip(days, equity, strict=True)],
        "benchmark_equity": [{"trade_date": d.isoformat(), "close": str(c)} for d, c in zip(days, closes, strict=True)],
        "allocations": allocations, "notes": notes or [], "not_applied": ["the kill switch"],
        "strategies": {
            name: {"file": str(Path.cwd() / f"{name}.clj"), "allocation": share,
                   "metrics": {**summary, "final_equity": "140000"}, "contribution": 0.1,
                   "equity": [{"trade_date": d.isoformat(), "equity": f"{e * float(share):.2f}"}
                              for d, e in zip(days, equity, strict=True)]}
            for name, share in (("alpha", "0.6"), ("beta", "0.4"))},
    }


# ---------------------------------------------------------------------------------------- series


def test_the_worst_drawdowns_start_with_the_deepest_that_metrics_reports():
    doc = make_doc(seed=3)
    curve = series.curve_of(doc)
    r = curve.returns
    worst = series.worst_drawdowns(curve.days, r, 10)
    facts = metrics.drawdown_facts(curve.days, r)
    assert worst[0].depth == pytest.approx(facts["max_drawdown"])
    assert worst[0].trough.isoformat() == facts["trough"]
    assert (worst[0].recovery.isoformat() if worst[0].recovery else None) == facts["recovery"]
    assert [p.depth for p in worst] == sorted(p.depth for p in worst)
    assert len({p.trough for p in worst}) == len(worst) == 10


def test_a_drawdown_is_counted_from_its_peak_to_its_recovery_and_an_open_one_is_not_recovered():
    days = _days(8)
    equity = [100, 90, 95, 101, 101, 99, 97, 98.0]  # a dip recovered on day 3, one open from day 4
    r = metrics.returns_of(equity, 100.0)
    recovered, still_open = sorted(series.worst_drawdowns(days, r, 5), key=lambda p: p.peak)
    assert (recovered.peak, recovered.trough, recovered.recovery) == (days[0], days[1], days[3])
    assert recovered.depth == pytest.approx(-0.10) and recovered.sessions == 2
    assert (still_open.peak, still_open.trough, still_open.recovery) == (days[4], days[6], None)
    assert still_open.days == (days[7] - days[4]).days


def test_rolling_statistics_are_the_metrics_formulas_on_each_window():
    rng = np.random.default_rng(5)
    r, b = rng.normal(0.0005, 0.01, 400), rng.normal(0.0003, 0.009, 400)
    rf = 0.03 / metrics.TRADING_DAYS
    stats = series.rolling(r, 126, rf, b)
    assert np.isnan(stats["sharpe"][:125]).all()
    for end in (125, 200, 399):
        window = slice(end - 125, end + 1)
        assert stats["sharpe"][end] == pytest.approx(metrics.sharpe(r[window], rf), rel=1e-12)
        assert stats["volatility"][end] == pytest.approx(metrics.volatility(r[window]), rel=1e-12)
        assert stats["beta"][end] == pytest.approx(metrics.beta(r[window], b[window]), rel=1e-12)


def test_the_allocation_keeps_the_largest_symbols_and_sums_the_rest_as_other():
    rows = [{"A": "0.5", "B": "0.3", "C": "0.15", "D": "0.05"}, {"A": "0.4", "B": "0.4", "D": "0.2"}]
    view = series.allocation_view("portfolio", rows, top=2)
    assert view.symbols == ["A", "B"] and view.rest == ["D", "C"]
    assert view.other is not None and list(view.other) == pytest.approx([20.0, 20.0])
    assert np.allclose(view.rest_weights, [[5.0, 15.0], [20.0, 0.0]])


def test_every_symbol_drawn_at_24_symbols_has_its_own_colour_and_other_none_of_theirs():
    views = series.allocation_views(make_doc())
    colors = figures.symbol_colors(views)
    drawn = {s for v in views for s in v.symbols}
    assert set(colors) == drawn and len(drawn) == 11  # the netted top 10 and S23 of strategy "beta"
    assert len(set(colors.values())) == len(colors)
    assert figures.OTHER_COLOR not in colors.values()
    assert [v.name for v in views] == ["portfolio (netted)", "alpha", "beta"]


def test_a_session_both_blocked_and_refused_is_marked_once_and_runs_of_sessions_are_merged():
    days = _days(6)
    marks = series.marked_sessions([(days[1], "max order notional")], [(days[1], "plan failed closed"),
                                                                       (days[2], "plan failed closed")])
    assert [(m.day, m.kind) for m in marks] == [(days[1], "blocked"), (days[2], "refused")]
    assert marks[0].label == "max order notional; plan failed closed"
    assert series.spans(days, [days[1], days[2], days[4]]) == [(days[1], days[2]), (days[4], days[4])]


def test_the_notes_that_stop_a_plan_are_told_apart():
    assert stopped_kind("plan blocked by the execution risk limits: max order notional") == "blocked"
    assert stopped_kind("plan failed closed (PlanInvalid): weights sum to 1.2") == "refused"
    assert stopped_kind("buys scaled by 0.998 to fit buying power") is None


def test_the_paper_account_is_rebased_to_the_backtest_and_the_gap_is_stated_in_the_text():
    doc = make_doc(n=5)
    days = [date.fromisoformat(r["trade_date"]) for r in doc["equity"]]
    backtest = [float(r["equity"]) for r in doc["equity"]]
    doc["account_equity"] = [{"trade_date": d.isoformat(), "equity": f"{2 * e + (10 if i == 3 else 0):.2f}"}
                             for i, (d, e) in enumerate(zip(days[1:], backtest[1:], strict=True), start=1)]
    comparison = compare_account(doc)
    assert comparison is not None and comparison.days == [d.isoformat() for d in days[1:]]
    assert comparison.factor == pytest.approx(0.5, rel=1e-6)
    assert comparison.gap[0] == pytest.approx(0, abs=1e-6) and comparison.gap[2] == pytest.approx(5, abs=0.01)
    text = "\n".join(comparison_lines(doc))
    assert f"on 4 of the backtest's sessions, rebased to the backtest's equity on {days[1]}" in text
    assert f"widest gap +$5.00 on {days[3]}" in text


def test_a_comparison_without_recorded_days_says_so():
    doc = make_doc(n=5)
    doc["account_equity"] = []
    assert "no recorded equity on the backtest's sessions" in "\n".join(comparison_lines(doc))
    del doc["account_equity"]
    assert comparison_lines(doc) == []


def test_money_reads_as_dollars():
    assert (money(140000), money("140000.5", cents=True), money(-1200)) == ("$140,000", "$140,000.50", "-$1,200")
    assert money(12.345, cents=True, signed=True) == "+$12.35" and money(None) == "—"


@pytest.mark.parametrize(("lo", "hi"), [(98_000, 101_000), (100_000, 140_000), (90_000, 420_000),
                                        (50_000, 9_000_000), (99_990, 100_010)])
def test_log_ticks_are_at_least_four_round_values_inside_the_range(lo, hi):
    ticks = log_ticks(lo, hi)
    assert len(ticks) >= 4 and len(set(ticks)) == len(ticks)
    assert all(lo <= t <= hi for t in ticks)
    assert len({money(t) for t in ticks}) == len(ticks)  # no label repeated ($100k, $100k)


# ---------------------------------------------------------------------------------------- figures


@pytest.fixture(scope="module")
def page() -> Page:
    doc = make_doc(notes=[{"trade_date": "2020-03-04", "note": "plan failed closed (PlanInvalid): bad"}])
    return Page(doc, [(date(2020, 6, 1), "max order notional"), (date(2020, 6, 2), "max order notional")], False)


TIME_CHARTS = ("equity-chart", "drawdown-chart", "rolling-chart", "allocation-chart", "strategy-chart")


def test_every_chart_is_built(page):
    assert set(page.charts) == {*TIME_CHARTS, "yearly-chart", "distribution-chart"}


def test_legends_sit_above_the_plot_area_never_on_the_lines(page):
    for name, fig in page.charts.items():
        legend = fig.layout.legend
        assert legend.orientation == "h" and legend.y >= 1 and legend.yanchor == "bottom", name


def test_money_axes_and_hovers_are_formatted_as_dollars(page):
    for name in ("equity-chart", "strategy-chart"):
        fig = page.charts[name]
        assert fig.layout.yaxis.tickformat == "$,.0f", name
        assert all(t.hovertemplate == figures.MONEY_HOVER for t in fig.data if t.name != "blocked or refused")


def test_blocked_and_refused_sessions_are_shaded_on_every_time_chart(page):
    for name in TIME_CHARTS:
        shapes = [s for s in page.charts[name].layout.shapes if s.name in ("blocked sessions", "refused sessions")]
        assert sorted((s.name, s.x0, s.x1) for s in shapes) == [
            ("blocked sessions", "2020-05-31 12:00", "2020-06-02 12:00"),  # one run of two sessions
            ("refused sessions", "2020-03-03 12:00", "2020-03-04 12:00")], name
    assert "2 sessions blocked by a limit" in page.marks_line() and "1 refused" in page.marks_line()


def test_the_five_worst_drawdowns_are_shaded_on_the_underwater_chart(page):
    shaded = [s for s in page.charts["drawdown-chart"].layout.shapes if (s.name or "").startswith("drawdown ")]
    assert len(shaded) == 5
    assert shaded[0].x0 == f"{page.worst[0].peak - timedelta(days=1)} 12:00"


def test_the_allocation_has_one_view_per_strategy_each_in_distinct_colours(page):
    fig = page.charts["allocation-chart"]
    views = sorted({t.meta["view"] for t in fig.data})
    assert views == [0, 1, 2] and [t.meta["view"] == 0 for t in fig.data] == [t.visible for t in fig.data]
    for view in views:
        shown = [t for t in fig.data if t.meta["view"] == view]
        colors = [t.fillcolor for t in shown]
        assert len(set(colors)) == len(colors)  # no two symbols of a view share a colour
        carriers = [t for t in shown if t.meta["hover"]]
        assert len(carriers) == 1 and carriers[0].hovertemplate == "%{customdata}<extra></extra>"
    assert 'data-view="2">beta</button>' in page.body("Backtest")


def test_columns_are_written_once_and_figures_refer_to_them(page):
    data = page.data()
    equity = data["figures"]["equity-chart"]["data"]
    assert equity[0]["x"] == "@days" and equity[0]["y"] == "@equity" and equity[1]["y"] == "@bench_equity"
    text = json.dumps(data)
    assert text.count(page.doc["equity"][5]["trade_date"]) < 5  # the dates once, not once per trace


def test_runs_encode_only_when_shorter():
    assert figures.encoded([0.0] * 10 + [1.5] * 5) == {"runs": [0.0, 10, 1.5, 5]}
    assert figures.encoded([1.0, 2.0, 3.0]) == [1.0, 2.0, 3.0]


# ---------------------------------------------------------------------------------------- page


def test_the_page_is_self_contained_small_and_names_no_absolute_path(tmp_path):
    text = render_html(make_doc(n=2520), title="Backtest")
    assert len(text.encode()) <= 6_000_000
    assert not re.search(r"<(script|img|iframe)[^>]+src=", text) and "<link" not in text
    assert str(Path.cwd()) not in text and "alpha.clj" in text  # the strategy files, relative


def test_the_headline_shows_the_python_figures_before_the_script_runs():
    doc = make_doc()
    text = render_html(doc, title="Backtest")
    sharpe = f"{doc['metrics']['sharpe']:.2f}"
    assert f'data-metric="sharpe" data-format="num">{sharpe}</b>' in text


def test_an_account_page_counts_returns_from_its_first_recorded_day():
    from alchemiser.backtest.report import account_doc

    points = [(d, v) for d, v in zip(_days(4), (100_000, 101_000, 99_000, 100_500), strict=True)]
    from decimal import Decimal

    doc = account_doc([(d, Decimal(v)) for d, v in points], source="paper account, equity recorded locally")
    page = Page(doc, [], False)
    data = page.data()
    assert data["first"] == 1 and data["start"] == 100_000
    assert page.worst[0].peak == points[1][0] and page.worst[0].depth == pytest.approx(99 / 101 - 1)
    assert "rolling-chart" not in page.charts  # fewer sessions than the shortest window
