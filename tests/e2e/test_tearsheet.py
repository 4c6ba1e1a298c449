"""`alchemiser backtest --html` in a real headless Chromium, driven as a person would: the page loads with no
console error and no network, every chart is drawn, the headline figures of "All" are the Python ones,
the range selector and a zoom rescale every chart and recompute the headline, hover shows the values,
the log scale has round dollar ticks, and blocked or refused sessions are shaded and counted."""

from __future__ import annotations

import json
import math
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from alchemiser.backtest.formats import num, pct
from tests.conftest import PROJECT_ROOT
from tests.e2e.chromium import Chromium, find_chromium
from tests.e2e.conftest import alchemiser

RANGE = ("--from", "2023-01-03", "--to", "2025-06-30")  # 2.5 years: 1Y offered, 3Y and 5Y not
VIEWPORT = (1500, 1000)
CHARTS = ("equity-chart", "drawdown-chart", "rolling-chart", "yearly-chart", "distribution-chart",
          "allocation-chart", "strategy-chart")
TIME_CHARTS = ("equity-chart", "drawdown-chart", "rolling-chart", "allocation-chart", "strategy-chart")
HEADLINE = {"total_return": pct, "cagr": pct, "volatility": pct, "sharpe": num, "sortino": num,
            "max_drawdown": pct, "calmar": num, "beta": num, "correlation": num}

pytestmark = pytest.mark.skipif(find_chromium() is None, reason=(
    "NO CHROMIUM: the browser tests of the tearsheet did NOT run. Install the distribution's package "
    "(apt-get install chromium; .ci/run does) to run them"))


@pytest.fixture(scope="module")
def backtest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tearsheet")
    html = folder / "tearsheet.html"
    result = alchemiser("backtest", *RANGE, "--json", "--html", str(html), "--log-scale")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), html


@pytest.fixture(scope="module")
def browser():
    with Chromium.launch() as chromium:
        yield chromium


def _open(browser, path: Path):
    page = browser.open(path, viewport=VIEWPORT)
    page.wait_until("window.tearsheet && window.tearsheet.ready", 60)
    return page


def _headline(page) -> dict[str, str]:
    return page.evaluate("""Object.fromEntries([...document.querySelectorAll('#headline [data-metric]')]
        .map(el => [el.dataset.metric, el.textContent]))""")


def _x_ranges(page) -> dict[str, list[str]]:
    return page.evaluate(f"""Object.fromEntries({json.dumps(TIME_CHARTS)}.map(id =>
        [id, document.getElementById(id).layout.xaxis.range]))""")


def _settle(page) -> None:
    time.sleep(0.4)  # plotly redraws after the event handlers return


CHART_CHECK = """(() => {
  const out = {};
  for (const id of CHART_IDS) {
    const el = document.getElementById(id);
    if (!el) { out[id] = null; continue; }
    const rect = el.getBoundingClientRect();
    const drawn = [...el.querySelectorAll(".scatterlayer path, .barlayer path")].filter(p => {
      const b = p.getBBox(); return b.width > 2 && b.height > 2; }).length;
    out[id] = {width: rect.width, height: rect.height, traces: (el.data || []).length, drawn};
  }
  for (const id of ["monthly-returns", "metrics", "drawdown-table", "strategy-table"]) {
    const el = document.getElementById(id);
    out[id] = el ? el.querySelectorAll("td").length : null;
  }
  return out;
})()""".replace("CHART_IDS", json.dumps(CHARTS))


def test_the_page_is_one_file_that_needs_no_network_and_names_no_local_path(backtest):
    _, html = backtest
    text = html.read_text()
    assert len(text.encode()) <= 6_000_000
    assert "<link" not in text and "<img" not in text and "<script src" not in text and "<iframe" not in text
    assert str(PROJECT_ROOT) not in text and "services/strategy/strategies/leveraged_trend.clj" in text


def test_every_chart_is_drawn_with_no_console_error_and_no_request(browser, backtest):
    _, html = backtest
    page = _open(browser, html)
    charts = page.evaluate(CHART_CHECK)
    assert page.console_errors == []
    assert [u for u in page.requests if not u.startswith(("file://", "data:", "about:"))] == []
    for name in CHARTS:
        chart = charts[name]
        assert chart is not None, name
        assert chart["width"] > 300 and chart["height"] > 150 and chart["traces"] > 0, (name, chart)
        assert chart["drawn"] > 0, (name, chart)
    assert all(charts[t] for t in ("monthly-returns", "metrics", "drawdown-table", "strategy-table"))


def test_a_browser_check_that_finds_a_missing_chart_fails(browser, tmp_path):
    page_file = tmp_path / "empty.html"
    page_file.write_text("<!DOCTYPE html><html><body><div id='equity-chart'></div>"
                         "<script>console.error('boom'); window.tearsheet = {ready: true}</script></body></html>")
    page = _open(browser, page_file)
    charts = page.evaluate(CHART_CHECK)
    assert page.console_errors == ["boom"]
    assert charts["drawdown-chart"] is None and charts["equity-chart"]["drawn"] == 0


def test_the_headline_figures_of_all_are_the_python_metrics(browser, backtest):
    doc, html = backtest
    page = _open(browser, html)
    n = doc["range"]["sessions"]
    figures = page.evaluate(f"window.tearsheet.metricsFor(0, {n - 1})")
    for side, python in (("portfolio", doc["metrics"]), ("benchmark", doc["benchmark"])):
        for key, value in figures[side].items():
            assert python[key] is not None and value == pytest.approx(python[key], rel=1e-9, abs=1e-12), (side, key)
    shown = _headline(page)
    assert shown == {key: fmt(doc["metrics"][key]) for key, fmt in HEADLINE.items()}


def test_clicking_1y_rescales_every_chart_and_recomputes_the_headline(browser, backtest):
    doc, html = backtest
    page = _open(browser, html)
    before, ranges_before = _headline(page), _x_ranges(page)
    assert page.evaluate("[...document.querySelectorAll('#range-selector button')].map(b => b.hidden)") == \
        [False, True, True, False]  # 2.5 years: no 3Y or 5Y
    page.click(*page.center_of("#range-1Y"))
    _settle(page)
    days = [row["trade_date"] for row in doc["equity"]]
    end = date.fromisoformat(days[-1])
    first = next(i for i, d in enumerate(days) if d >= (end.replace(year=end.year - 1) + timedelta(days=1)).isoformat())
    assert page.evaluate("window.tearsheet.range()") == [first, len(days) - 1]
    after = _headline(page)
    assert after != before
    expected = page.evaluate(f"window.tearsheet.metricsFor({first}, {len(days) - 1})")["portfolio"]
    assert after == {key: fmt(expected[key]) for key, fmt in HEADLINE.items()}
    ranges = _x_ranges(page)
    for name in TIME_CHARTS:
        assert ranges[name] != ranges_before[name] and ranges[name][0].startswith(
            (date.fromisoformat(days[first]) - timedelta(days=1)).isoformat()), (name, ranges[name])
    assert page.evaluate("document.getElementById('yearly-chart').layout.xaxis.range") == [0.5, 2.5]  # 2024, 2025
    histogram = page.evaluate("document.getElementById('distribution-chart').data[0].x.length")
    assert histogram == len(days) - first
    page.click(*page.center_of("#range-All"))
    _settle(page)
    assert _headline(page) == before


def test_a_zoom_on_one_chart_is_the_range_of_every_chart(browser, backtest):
    doc, html = backtest
    page = _open(browser, html)
    before = _headline(page)
    page.evaluate("document.querySelector('#rolling-chart').scrollIntoView({block: 'center'})")
    box = page.evaluate("""(() => { const r = document.querySelector('#rolling-chart .nsewdrag')
        .getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()""")
    y = box[1] + box[3] / 2
    page.mouse("mouseMoved", box[0] + box[2] * 0.3, y)
    page.mouse("mousePressed", box[0] + box[2] * 0.3, y)
    for step in range(1, 11):
        page.mouse("mouseMoved", box[0] + box[2] * (0.3 + 0.04 * step), y)
    page.mouse("mouseReleased", box[0] + box[2] * 0.7, y)
    _settle(page)
    days = [row["trade_date"] for row in doc["equity"]]
    i, j = page.evaluate("window.tearsheet.range()")
    assert 0 < i < j < len(days) - 1  # the dragged part of the rolling chart
    assert _headline(page) != before
    for name in TIME_CHARTS:  # every other chart shows the same sessions
        shown = page.evaluate(f"document.getElementById('{name}').layout.xaxis.range")
        assert shown[0][:10] < days[i] and shown[1][:10] == days[j], (name, shown)  # noon before to noon after


def test_hover_shows_the_dollar_values_and_the_days_full_weights(browser, backtest):
    doc, html = backtest
    page = _open(browser, html)
    page.mouse("mouseMoved", *page.center_of("#equity-chart .nsewdrag"))
    _settle(page)
    label = page.evaluate("document.querySelector('#equity-chart .hoverlayer').textContent")
    assert "portfolio : $" in label and "SPY (buy and hold) : $" in label
    page.mouse("mouseMoved", *page.center_of("#allocation-chart .nsewdrag"))
    _settle(page)
    label = page.evaluate("document.querySelector('#allocation-chart .hoverlayer').textContent")
    day = label[4:14]  # "Wed 2024-03-27..."
    weights = next(row["weights"] for row in doc["allocations"] if row["trade_date"] == day)
    listed = {s for s in weights if float(weights[s]) >= 0.0005}
    assert all(f"{s} " in label for s in listed), (label, weights)  # every symbol held, "other" included
    assert len(listed) > 0


def test_the_view_buttons_switch_the_allocation_to_a_strategys_own_weights(browser, backtest):
    doc, html = backtest
    page = _open(browser, html)
    names = page.evaluate("[...document.querySelectorAll('#allocation-views button')].map(b => b.textContent)")
    assert names == ["portfolio (netted)", *doc["strategies"]]
    page.click(*page.center_of('#allocation-views button[data-view="1"]'))
    _settle(page)
    shown = page.evaluate("""document.getElementById('allocation-chart').data
        .filter(t => t.visible === true).map(t => t.name)""")
    held = {s for row in doc["allocations"] for s in row["strategies"]["leveraged-trend"]}
    assert shown and set(shown) - {"other"} <= held
    page.mouse("mouseMoved", *page.center_of("#allocation-chart .nsewdrag"))
    _settle(page)
    label = page.evaluate("document.querySelector('#allocation-chart .hoverlayer').textContent")
    day = label[4:14]
    weights = next(row["strategies"]["leveraged-trend"] for row in doc["allocations"] if row["trade_date"] == day)
    assert all(f"{s} " in label for s in weights if float(weights[s]) >= 0.0005), (label, weights)


def test_the_log_scale_has_round_dollar_ticks_and_the_box_switches_it(browser, backtest):
    _, html = backtest
    page = _open(browser, html)
    ticks_js = "[...document.querySelectorAll('#equity-chart .yaxislayer-above text')].map(t => t.textContent)"
    assert page.evaluate("document.getElementById('equity-chart').layout.yaxis.type") == "log"
    ticks = page.evaluate(ticks_js)
    assert len(ticks) >= 4 and len(set(ticks)) == len(ticks) and all(t.startswith("$") for t in ticks), ticks
    page.click(*page.center_of("#log-scale"))
    _settle(page)
    assert page.evaluate("document.getElementById('equity-chart').layout.yaxis.type") == "linear"
    linear = page.evaluate(ticks_js)
    assert len(linear) >= 4 and len(set(linear)) == len(linear) and all(t.startswith("$") for t in linear)


def test_blocked_and_refused_sessions_are_shaded_on_every_chart_and_counted(browser, backtest, tmp_path):
    from alchemiser.backtest import tearsheet

    doc, _ = backtest
    days = [row["trade_date"] for row in doc["equity"]]
    doc = {**doc, "notes": [*doc["notes"], {"trade_date": days[300], "note": "plan failed closed (PlanInvalid): x"}]}
    path = tmp_path / "blocked.html"
    tearsheet.write_html(doc, path, title="Backtest", blocked=[(date.fromisoformat(days[100]), "max order notional"),
                                                               (date.fromisoformat(days[101]), "max order notional")])
    page = _open(browser, path)
    assert page.console_errors == []
    count = page.evaluate("document.getElementById('blocked-count').textContent")
    assert "2 sessions blocked by a limit" in count and "1 refused" in count
    for name in TIME_CHARTS:
        drawn = page.evaluate(f"""(() => {{ const el = document.getElementById('{name}');
            const named = el.layout.shapes.filter(s => /^(blocked|refused) sessions$/.test(s.name)).length;
            return [named, el.querySelectorAll('.shapelayer path').length]; }})()""")
        assert drawn[0] == 2 and drawn[1] >= 2, (name, drawn)
    assert math.isfinite(page.evaluate("window.tearsheet.metricsFor(0, 10).portfolio.sharpe"))


def test_the_pages_log_ticks_are_the_pngs(browser, backtest):
    from alchemiser.backtest.tearsheet.png import log_ticks

    _, html = backtest
    page = _open(browser, html)
    for lo, hi in ((98_000, 101_000), (100_000, 140_000), (90_000, 420_000), (50_000, 9_000_000), (99_990, 100_010)):
        assert page.evaluate(f"window.tearsheet.logTicks({lo}, {hi})") == pytest.approx(log_ticks(lo, hi)), (lo, hi)
