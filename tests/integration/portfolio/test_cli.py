"""The issue's "done when", as a user types it: `alchemiser invoke portfolio ... --json`, twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from shared.runtime.published_facts import SqliteWorkflowFacts
from tests.conftest import PROJECT_ROOT, load_test_event
from tests.fakes.facts import record_published

ALCHEMISER = str(Path(sys.executable).parent / "alchemiser")


def invoke_portfolio(state_dir: Path) -> subprocess.CompletedProcess[str]:
    state_dir.mkdir(parents=True, exist_ok=True)  # as the strategy records the signal it publishes
    record_published(load_test_event("signal-generated.json"), SqliteWorkflowFacts(state_dir / "state.sqlite"))
    return subprocess.run(
        [ALCHEMISER, "invoke", "portfolio", "--event", "test-events/signal-generated.json", "--state-dir",
         str(state_dir), "--json"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )


def archived(state_dir: Path) -> list[dict]:
    path = state_dir / "archive" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_invoking_portfolio_plans_the_sample_signal_and_the_same_command_again_is_a_duplicate(tmp_path):
    state_dir = tmp_path / "state"
    first = invoke_portfolio(state_dir)
    assert first.returncode == 0, first.stderr
    response = json.loads(first.stdout)
    assert response["status"] == "success"
    assert response["published"] == ["RebalancePlanned"]

    again = invoke_portfolio(state_dir)
    assert again.returncode == 0, again.stderr
    duplicate = json.loads(again.stdout)
    assert duplicate["status"] == "duplicate"
    assert duplicate["published"] == []
    assert duplicate["plan_id"] == response["plan_id"]

    [plan] = archived(state_dir)  # the local bus received exactly one event in all
    assert plan["detail-type"] == "RebalancePlanned" and plan["detail"]["plan_id"] == response["plan_id"]
