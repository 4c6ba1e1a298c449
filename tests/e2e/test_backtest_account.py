"""The paper account beside the backtest: `pnl --html` draws its recorded equity as a tearsheet, and
`backtest --compare-account` overlays it on the backtest of the same days (which it equals, on the
simulated broker with the same fill model)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from alchemiser.local.day import DayOptions, run_day
from shared.runtime.clock import NEW_YORK
from tests.e2e.conftest import alchemiser

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
    assert "<script" not in text


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
    assert "paper account (recorded)" in page.read_text()
