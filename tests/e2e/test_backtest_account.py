"""The paper account beside the backtest: `pnl --html` draws its recorded equity as a tearsheet, and
`backtest --compare-account` overlays it on the backtest of the same days (which it equals, on the
simulated broker with the same fill model)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from alchemiser.local.day import DayOptions, run_day
from shared.runtime.clock import NEW_YORK
from tests.e2e.chromium import Chromium, find_chromium
from tests.e2e.conftest import alchemiser

TICKS = "[...document.querySelectorAll('#{chart} .{axis} text')].map(t => t.textContent)"

DAYS = [date(2026, 11, d) for d in (17, 18, 19, 20)]


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    state = tmp_path_factory.mktemp("account")
    for day in DAYS:
        result = run_day(DayOptions(state, datetime(day.year, day.month, day.day, 9, 35, tzinfo=NEW_YORK)))
        assert result.status == "completed", result.reason
    return state


def test_pnl_html_draws_the_recorded_equity(account, tmp_path):
    page = tmp_path / "account.html"
    result = alchemiser("pnl", "--state-dir", str(account), "--as-of", "2026-11-20T17:00:00-05:00",
                        "--html", str(page))
    assert result.returncode == 0, result.stderr
    text = page.read_text()
    assert 'id="equity-chart"' in text and 'id="drawdown-chart"' in text and 'id="metrics"' in text
    assert "2026-11-17 → 2026-11-20 · 4 recorded days" in text
    if find_chromium() is None:
        pytest.skip("NO CHROMIUM: the account page was not opened in a browser (apt-get install chromium)")
    with Chromium.launch() as browser:
        shown = browser.open(page, viewport=(1400, 900))
        shown.wait_until("window.tearsheet && window.tearsheet.ready", 60)
        x_ticks = shown.evaluate(TICKS.format(chart="equity-chart", axis="xaxislayer-above"))
        y_ticks = shown.evaluate(TICKS.format(chart="equity-chart", axis="yaxislayer-above"))
        assert shown.console_errors == []
    assert x_ticks == ["Nov 17", "Nov 18", "Nov 19", "Nov 20"]  # a tick per day, no 06:00/12:00/18:00
    assert len(y_ticks) >= 4 and len(set(y_ticks)) == len(y_ticks)  # never "$100k, $100k, $98k, $98k"
    assert all(re.fullmatch(r"\$\d{2,3},\d{3}", t) for t in y_ticks), y_ticks


def test_pnl_html_without_recorded_equity_says_so(tmp_path):
    result = alchemiser("pnl", "--state-dir", str(tmp_path), "--html", str(tmp_path / "x.html"))
    assert result.returncode == 1 and "no recorded equity" in result.stderr
    assert not (tmp_path / "x.html").exists()


def test_compare_account_overlays_the_paper_account_which_matches_the_backtest(account, tmp_path):
    page = tmp_path / "compare.html"
    result = alchemiser("backtest", "--from", DAYS[0].isoformat(), "--to", DAYS[-1].isoformat(),
                        "--slippage-bps", "5", "--compare-account", "--state-dir", str(account), "--json",
                        "--html", str(page))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    recorded = {row["trade_date"]: Decimal(row["equity"]) for row in doc["account_equity"]}
    assert sorted(recorded) == [d.isoformat() for d in DAYS]
    backtest = {row["trade_date"]: Decimal(row["equity"]) for row in doc["equity"]}
    for day, equity in recorded.items():
        assert abs(equity - backtest[day]) <= Decimal("0.05"), (day, equity, backtest[day])
    text = page.read_text()
    assert "paper account (recorded, rebased)" in text and 'id="account-gap-chart"' in text


def test_compare_account_states_the_comparison_in_the_text_summary(account):
    result = alchemiser("backtest", "--from", DAYS[0].isoformat(), "--to", DAYS[-1].isoformat(),
                        "--slippage-bps", "5", "--compare-account", "--state-dir", str(account), "--no-attribution")
    assert result.returncode == 0, result.stderr
    match = re.search(r"Paper account \(recorded\) on 4 of the backtest's sessions, rebased to the backtest's "
                      r"equity on 2026-11-17 .*\n  account ([+-][\d.]+)%, backtest ([+-][\d.]+)% since 2026-11-17; "
                      r"gap on 2026-11-20 ([+-])\$([\d,.]+) ", result.stdout)
    assert match, result.stdout
    assert abs(float(match[1]) - float(match[2])) <= 0.01 and float(match[4].replace(",", "")) <= 0.05
