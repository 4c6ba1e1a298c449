"""The issue's done-when, as a user runs it: `alchemiser invoke execution ...` twice on one state dir."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from shared.runtime.published_facts import SqliteWorkflowFacts
from shared.runtime.sqlite_store import SqliteTable
from tests.conftest import PROJECT_ROOT, load_test_event
from tests.fakes.execution_support import coid
from tests.fakes.facts import as_event, record_published

ALCHEMISER = str(Path(sys.executable).parent / "alchemiser")
SAMPLE = as_event(load_test_event("rebalance-planned.json"))
EXPECTED = sorted(coid(s, "buy", trading_date=date(2026, 11, 25), correlation_id=SAMPLE.correlation_id)
                  for s in ("GLD", "TLT", "TQQQ"))


def invoke(state_dir: Path, *extra: str, recorded: bool = True) -> subprocess.CompletedProcess[str]:
    if recorded:  # as the portfolio would have when it published the sample plan
        record_published(SAMPLE, SqliteWorkflowFacts(state_dir / "state.sqlite"))
    return subprocess.run(
        [ALCHEMISER, "invoke", "execution", "--event", "test-events/rebalance-planned.json",
         "--as-of", "2026-11-25T10:00:00-05:00", "--state-dir", str(state_dir), "--json", *extra],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def simulated_orders(state_dir: Path) -> dict[str, int]:
    """client order id -> how many orders the simulated broker holds with it."""
    path = state_dir / "broker" / "simulated.sqlite3"
    doc = SqliteTable(path, "simulated_accounts").get("account:paper") if path.exists() else None
    counts: dict[str, int] = {}
    for order in (doc or {"orders": {}})["orders"].values():
        counts[order["client_order_id"]] = counts.get(order["client_order_id"], 0) + 1
    return counts


def test_invoke_places_the_plan_once_and_a_second_invoke_is_a_duplicate(tmp_path):
    first = invoke(tmp_path)
    assert first.returncode == 0, first.stderr
    response = json.loads(first.stdout)
    assert response["status"] == "success" and response["published"] == ["TradeExecuted"]
    assert response["execution_status"] == "executed"
    assert simulated_orders(tmp_path) == dict.fromkeys(EXPECTED, 1)

    second = invoke(tmp_path)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["status"] == "duplicate" and again["published"] == []
    assert simulated_orders(tmp_path) == dict.fromkeys(EXPECTED, 1)  # no new order


def test_a_halted_kill_switch_file_stops_the_plan_from_the_command_line(tmp_path):
    (tmp_path / "kill-switch").write_text("halted\n")
    result = invoke(tmp_path)
    assert result.returncode == 1
    response = json.loads(result.stdout)
    assert (response["status"], response["execution_status"], response["published"]) == (
        "failed", "halted", ["TradeExecuted"])
    assert simulated_orders(tmp_path) == {}


def test_a_hand_made_plan_the_portfolio_never_published_is_refused_from_the_command_line(tmp_path):
    result = invoke(tmp_path, recorded=False)
    response = json.loads(result.stdout)
    assert result.returncode == 1 and response["status"] == "failed"
    assert "portfolio function recorded no event" in response["message"]
    assert simulated_orders(tmp_path) == {}
