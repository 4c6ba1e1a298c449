"""The done-when commands, as a user types them: the installed `alchemiser` in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from alchemiser.local.storage import Archive
from shared.runtime.clock import NEW_YORK
from tests.conftest import PROJECT_ROOT

ALCHEMISER = str(Path(sys.executable).parent / "alchemiser")
WEDNESDAY = "2026-11-25T09:35:00-05:00"
THANKSGIVING = "2026-11-26T09:35:00-05:00"
SATURDAY = "2026-11-28T09:35:00-05:00"
DIRECT = "test-events/direct-trade-event.json"
SCHEDULER = "test-events/eventbridge-scheduler-trade.json"


def alchemiser(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ALCHEMISER, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def invoke(event: str, as_of: str, state_dir: Path, env: dict[str, str] | None = None) -> dict:
    result = alchemiser("invoke", "strategy", "--event", event, "--as-of", as_of, "--state-dir", str(state_dir),
                        "--json", env=env)
    assert "Traceback" not in result.stderr, result.stderr
    response: dict = json.loads(result.stdout)
    response["_exit"] = result.returncode
    return response


def published(state_dir: Path) -> list[str]:
    return [e["detail-type"] for e in Archive(state_dir).events()]


@pytest.mark.parametrize("event", [DIRECT, SCHEDULER])
def test_the_console_payloads_start_a_paper_trading_workflow_on_a_trading_day(event, tmp_path):
    response = invoke(event, WEDNESDAY, tmp_path)
    assert (response["status"], response["mode"], response["trading_mode"]) == ("success", "trade", "paper")
    assert response["_exit"] == 0
    assert response["correlation_id"] == "run-2026-11-25-paper"
    assert response["request_id"] and response["message"].startswith("Paper trading workflow run-2026-11-25-paper")
    assert published(tmp_path) == ["WorkflowStarted", "SignalGenerated"]


@pytest.mark.parametrize(("event", "as_of", "why"), [(DIRECT, THANKSGIVING, "(Thursday): holiday"),
                                                     (SCHEDULER, THANKSGIVING, "(Thursday): holiday"),
                                                     (SCHEDULER, SATURDAY, "(Saturday): weekend")])
def test_on_a_market_holiday_or_weekend_the_run_is_skipped_and_nothing_is_published(event, as_of, why, tmp_path):
    response = invoke(event, as_of, tmp_path)
    assert (response["status"], response["mode"], response["trading_mode"]) == ("skipped", "trade", "paper")
    assert why in response["message"] and response["_exit"] == 0
    assert published(tmp_path) == []


# ------------------------------------------------------------------------------------ alchemiser signals


def test_signals_prints_the_weights_and_the_explanation_tree():
    result = alchemiser("signals", "--as-of", WEDNESDAY)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "data through 2026-11-24 close" in out and "Net target weights:" in out
    assert "SYNTHETIC" in out
    assert "if current-price(SPY) = " in out and "moving-average-price(SPY, 200) = " in out
    assert "filter cumulative-return(60) select-top 2" in out
    assert "leveraged-trend — allocation 40.00%" in out


def test_signals_json_has_weights_strategies_and_as_of():
    result = alchemiser("signals", "--as-of", WEDNESDAY, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert {"weights", "strategies", "as_of"} <= set(body)
    assert body["as_of"] == "2026-11-24"
    assert sum(Decimal(w) for w in body["weights"].values()) == 1
    assert set(body["strategies"]) == {"leveraged-trend", "momentum-rotation", "risk-parity"}
    assert body["strategies"]["risk-parity"]["explanation"][1].lstrip().startswith("if stdev-price(SPY, 20) = ")


def test_signals_without_as_of_answers_on_any_day_from_the_latest_session():
    result = alchemiser("signals", "--json")
    assert result.returncode == 0, result.stderr
    today_in_new_york = datetime.now(NEW_YORK).date()
    assert date.fromisoformat(json.loads(result.stdout)["as_of"]) <= today_in_new_york


def test_signals_on_given_files_splits_equally_and_says_so(tmp_path):
    (tmp_path / "spy.clj").write_text('(defsymphony "spy" {} (asset "SPY"))\n')
    (tmp_path / "bonds.clj").write_text('(defsymphony "bonds" {} (weight-equal [(asset "TLT") (asset "IEF")]))\n')
    result = alchemiser("signals", "--strategy", str(tmp_path / "spy.clj"), "--strategy", str(tmp_path / "bonds.clj"),
                        "--as-of", WEDNESDAY)
    assert result.returncode == 0, result.stderr
    assert "Equal allocation across the 2 given strategy files" in result.stdout
    assert re.search(r"^  SPY +50.00%", result.stdout, re.MULTILINE)
    assert re.search(r"^  TLT +25.00%", result.stdout, re.MULTILINE)


def test_signals_reports_a_strategy_error_as_path_line_column_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.clj"
    bad.write_text('(defsymphony "bad" {}\n  (asset "SPY")\n  (asset "QQQ")))\n')
    result = alchemiser("signals", "--strategy", str(bad), "--as-of", WEDNESDAY)
    assert result.returncode == 1
    assert result.stderr.startswith(f"strategy 'bad': {bad}:3:17:")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_signals_reports_every_strategys_error_beside_the_others_results(tmp_path):
    good = tmp_path / "spy.clj"
    good.write_text('(defsymphony "spy" {} (asset "SPY"))\n')
    syntax = tmp_path / "syntax.clj"
    syntax.write_text('(defsymphony "bad" {}\n  (asset "SPY")))\n')
    invalid = tmp_path / "invalid.clj"
    invalid.write_text('(defsymphony "t" {}\n  (asset "BRK/B/C"))\n')
    result = alchemiser("signals", "--strategy", str(good), "--strategy", str(syntax), "--strategy", str(invalid),
                        "--as-of", WEDNESDAY)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "spy — allocation" in result.stdout and "holds: SPY 100.00%" in result.stdout
    assert f"strategy 'syntax': {syntax}:2:17:" in result.stderr
    assert f"strategy 'invalid': {invalid}:2:10: invalid ticker 'BRK/B/C'" in result.stderr
    assert "No net target weights: 2 of 3 strategies failed" in result.stdout


def test_signals_as_of_after_the_close_reads_that_days_closes():
    result = alchemiser("signals", "--as-of", "2026-11-24T16:00:00-05:00", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["as_of"] == "2026-11-24" and body["data_day"] == "2026-11-24"
    assert body["data_through"].startswith("data through 2026-11-24 close") and body["synthetic"] is True
    morning = json.loads(alchemiser("signals", "--as-of", "2026-11-24T09:35:00-05:00", "--json").stdout)
    assert morning["as_of"] == "2026-11-23"


def test_signals_runs_a_symphony_of_tickers_outside_the_offline_universe(tmp_path):
    strategy = tmp_path / "stocks.clj"
    strategy.write_text('(defsymphony "stocks" {:rebalance-frequency :monthly}\n'
                        '  (filter (rsi {:window 10}) (select-top 1)\n'
                        '    [(asset "AAPL") (asset "BRK/B") (asset "MSFT")]))\n')
    result = alchemiser("signals", "--strategy", str(strategy), "--as-of", WEDNESDAY)
    assert result.returncode == 0, result.stderr
    assert "SYNTHETIC" in result.stdout
    assert "targets decided on 2026-11-02" in result.stdout


def test_signals_near_close_timing_takes_todays_latest_trades():
    result = alchemiser("signals", "--as-of", "2026-11-25T15:50:00-05:00", "--timing", "near-close", "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["as_of"] == "2026-11-25"
    assert body["data_through"].startswith("data through 2026-11-25 15:50 New York (latest trades as today's bar)")
    plain = json.loads(alchemiser("signals", "--as-of", "2026-11-25T15:50:00-05:00", "--json").stdout)
    assert plain["as_of"] == "2026-11-24"
