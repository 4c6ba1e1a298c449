"""The orchestrator from the command line, as a user runs it: `alchemiser invoke orchestrator ...` and
`alchemiser pnl`, the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.runtime.published_facts import SqliteWorkflowFacts
from tests.conftest import PROJECT_ROOT, load_test_event
from tests.fakes.facts import record_published

ALCHEMISER = str(Path(sys.executable).parent / "alchemiser")


def alchemiser(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("ALCHEMISER_", "APCA_"))}
    full_env.update(env or {})
    return subprocess.run([ALCHEMISER, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                          env=full_env)


def published(state_dir: Path, *names: str) -> None:
    """Record sample events as their producer would have when publishing them (the orchestrator acts only
    on those: shared/runtime/published_facts.py)."""
    for name in names:
        record_published(load_test_event(name), SqliteWorkflowFacts(state_dir / "state.sqlite"))


def invoke_json(event: str, state_dir: Path, *extra: str) -> dict:
    result = alchemiser("invoke", "orchestrator", "--event", event, "--state-dir", str(state_dir), "--json", *extra)
    assert result.returncode == 0, result.stderr + result.stdout
    response: dict = json.loads(result.stdout)
    return response


def notifications(state_dir: Path) -> list[dict]:
    path = state_dir / "notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_invoking_trade_executed_completes_the_workflow_and_a_second_time_is_a_duplicate(state_dir):
    published(state_dir, "trade-executed.json")
    first = invoke_json("test-events/trade-executed.json", state_dir)
    assert first["status"] == "success" and first["published"] == ["WorkflowCompleted"]
    assert first["correlation_id"] == "run-2026-11-25-paper" and first["workflow_status"] == "completed"
    second = invoke_json("test-events/trade-executed.json", state_dir)
    assert second["status"] == "duplicate" and second["published"] == []
    (report,) = notifications(state_dir)
    assert report["subject"].startswith("Alchemiser [paper] 2026-11-25: completed")
    assert "daily report for 2026-11-25" in (state_dir / "notifications.log").read_text()


def test_invoking_a_hand_made_trade_executed_is_refused_and_changes_nothing(state_dir):
    result = alchemiser("invoke", "orchestrator", "--event", "test-events/trade-executed.json",
                        "--state-dir", str(state_dir), "--json")
    response = json.loads(result.stdout)
    assert result.returncode == 1 and response["status"] == "failed" and response["published"] == []
    assert "the execution function recorded no event for workflow run-2026-11-25-paper" in response["message"]
    assert notifications(state_dir) == []


def test_invoking_an_error_notification_delivers_it_once_and_publishes_nothing(state_dir):
    published(state_dir, "eventbridge-error-notification.json")
    first = invoke_json("test-events/eventbridge-error-notification.json", state_dir)
    second = invoke_json("test-events/eventbridge-error-notification.json", state_dir)
    assert (first["status"], first["published"]) == ("success", [])
    assert (second["status"], second["published"]) == ("duplicate", [])
    (note,) = notifications(state_dir)
    assert note["subject"] == "Alchemiser [n/a] ERROR: StrategyExecutionError in test-123"
    assert not (state_dir / "outbox").exists() or not any((state_dir / "outbox").iterdir())


def test_without_json_the_cli_prints_the_new_notification_on_the_console(state_dir):
    published(state_dir, "eventbridge-error-notification.json")
    result = alchemiser("invoke", "orchestrator", "--event", "test-events/eventbridge-error-notification.json",
                        "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stderr
    assert "notification: Alchemiser [n/a] ERROR: StrategyExecutionError in test-123" in result.stderr
    assert "  Test error" in result.stderr
    again = alchemiser("invoke", "orchestrator", "--event", "test-events/eventbridge-error-notification.json",
                       "--state-dir", str(state_dir))
    assert "notification:" not in again.stderr  # a duplicate sends nothing, so nothing new to print


def test_the_stuck_check_from_the_command_line(tmp_path, state_dir):
    check = tmp_path / "check.json"
    check.write_text(json.dumps({"action": "check_stuck_workflows"}))
    published(state_dir, "workflow-started.json")
    invoke_json("test-events/workflow-started.json", state_dir, "--as-of", "2026-11-25T09:35:00-05:00")
    response = invoke_json(str(check), state_dir, "--as-of", "2026-11-25T10:35:00-05:00")
    assert (response["warned"], response["stuck"]) == (["run-2026-11-25-paper"], [])  # still open: resumable
    assert response["published"] == ["ErrorNotificationRequested"]
    response = invoke_json(str(check), state_dir, "--as-of", "2026-11-25T13:36:00-05:00")
    assert response["stuck"] == ["run-2026-11-25-paper"]
    assert response["published"] == ["WorkflowFailed", "ErrorNotificationRequested"]


def test_a_trading_command_to_the_orchestrator_is_refused(state_dir):
    result = alchemiser("invoke", "orchestrator", "--event", "test-events/direct-trade-event.json",
                        "--state-dir", str(state_dir), "--json")
    assert result.returncode == 1
    assert "strategy function" in json.loads(result.stdout)["message"]


def test_alchemiser_pnl_reads_the_local_snapshots(state_dir):
    published(state_dir, "trade-executed.json")
    invoke_json("test-events/trade-executed.json", state_dir)
    result = alchemiser("pnl", "--state-dir", str(state_dir), "--as-of", "2026-11-26", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["source"], report["end_equity"], report["period"]) == ("local", "99995.10", "1M")
    text = alchemiser("pnl", "--state-dir", str(state_dir), "--as-of", "2026-11-26", "--detailed")
    assert "end equity     $99,995.10 (2026-11-25)" in text.stdout and "Per day" in text.stdout


def test_alchemiser_pnl_reads_alpaca_paper_and_cross_checks_with_local_snapshots(fake_alpaca, state_dir):
    published(state_dir, "trade-executed.json")
    invoke_json("test-events/trade-executed.json", state_dir)
    ny = ZoneInfo("America/New_York")
    days = [date(2026, 11, 24), date(2026, 11, 25)]
    fake_alpaca.set_portfolio_history(
        timestamp=[int(datetime(d.year, d.month, d.day, tzinfo=ny).timestamp()) for d in days],
        equity=[100000.0, 150000.0], profit_loss=[0.0, 0.0], profit_loss_pct=[0.0, 0.0], base_value=100000.0,
        timeframe="1D")
    env = {"APCA_API_KEY_ID": fake_alpaca.api_key, "APCA_API_SECRET_KEY": "fake-secret",
           "ALCHEMISER_ALPACA_TRADING_URL": fake_alpaca.url}
    result = alchemiser("pnl", "--source", "alpaca", "--period", "1W", "--state-dir", str(state_dir),
                        "--as-of", "2026-11-26", env=env)
    assert result.returncode == 0, result.stderr
    assert "P&L            +$50,000.00 (+50.00%)" in result.stdout
    assert "MISMATCH 2026-11-25: Alpaca $150,000.00, ours $99,995.10" in result.stdout


def test_alchemiser_pnl_from_alpaca_without_keys_says_which_variables(state_dir):
    result = alchemiser("pnl", "--source", "alpaca", "--state-dir", str(state_dir))
    assert result.returncode == 2
    assert "APCA_API_KEY_ID and APCA_API_SECRET_KEY" in result.stderr


def test_alchemiser_pnl_with_a_bad_period_is_a_usage_error(state_dir):
    result = alchemiser("pnl", "--period", "2Y", "--state-dir", str(state_dir))
    assert result.returncode == 2 and "2Y" in result.stderr and "Traceback" not in result.stderr
