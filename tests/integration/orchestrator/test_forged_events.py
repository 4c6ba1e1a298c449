"""Forged events never end a workflow or notify anyone: the orchestrator acts only on what a producer
recorded as published (shared/runtime/published_facts.py), through the real handlers and the template's
rules. The attacker: anyone who may put events on the bus (a role the bus policy lets through, the
operator, a console "Send events"), before the real run, after it, replaying the real events, or
spoofing the source.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from alchemiser.local.day import DayOptions, run_day
from alchemiser.local.runtime import LocalRuntime
from services.orchestrator.adapters.embedded_workflow_store import EmbeddedWorkflowStore
from shared.runtime.published_facts import SqliteWorkflowFacts
from tests.conftest import load_test_event
from tests.fakes.facts import record_published

DAY = datetime.fromisoformat("2026-11-25T09:35:00-05:00")
BEFORE = datetime.fromisoformat("2026-11-25T09:31:00-05:00")
AFTER = datetime.fromisoformat("2026-11-25T10:05:00-05:00")
WORKFLOW = "run-2026-11-25-paper"


def _entry(name: str, *, source: str | None = None, **changes: object) -> dict:
    event = load_test_event(name)
    detail = {**event["detail"], **changes}
    return {"Source": source or event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(detail),
            "EventBusName": "alchemiser-trading-events-dev"}


def _send(state_dir: Path, at: datetime, *entries: dict) -> list:
    runtime = LocalRuntime(state_dir, as_of=at)
    runtime.put_events(list(entries))
    return [h for h in runtime.run_until_quiet() if h.function == "orchestrator"]


def _notifications(state_dir: Path) -> list[dict]:
    path = state_dir / "notifications.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _status(state_dir: Path) -> str | None:
    stored = EmbeddedWorkflowStore(state_dir / "state.sqlite").load(WORKFLOW)
    return None if stored is None else stored.record.status


def _orchestrator_published(hops: list) -> list[str]:
    return [p for h in hops for p in h.published]


def test_a_forged_workflow_failed_before_the_run_fails_nothing_notifies_nobody_and_the_day_trades(state_dir):
    hops = _send(state_dir, BEFORE, _entry("workflow-failed.json"))
    assert [h.status for h in hops] == ["failed"]  # refused, unverified
    assert _orchestrator_published(hops) == [] and _notifications(state_dir) == []
    assert _status(state_dir) is None
    result = run_day(DayOptions(state_dir, DAY))
    assert result.status == "completed", result.reason
    assert result.orders_at_broker > 0
    assert [n["subject"] for n in _notifications(state_dir)] == [
        n["subject"] for n in _notifications(state_dir) if "ERROR" not in n["subject"]]


def test_a_forged_trade_executed_before_the_run_completes_nothing_and_the_real_day_is_not_after_terminal(
        state_dir):
    hops = _send(state_dir, BEFORE, _entry("trade-executed.json"))
    assert {h.status for h in hops} == {"failed"}
    assert _orchestrator_published(hops) == [] and _status(state_dir) is None
    result = run_day(DayOptions(state_dir, DAY))
    assert result.status == "completed", result.reason
    assert "ExecutionAfterTerminal" not in json.dumps(result.events)
    [report] = [n for n in _notifications(state_dir)]  # the real day's report, no critical alarm
    assert "CRITICAL" not in report["subject"]


@pytest.mark.parametrize("name", ["workflow-failed.json", "trade-executed.json", "error-notification-requested.json",
                                  "workflow-completed.json"])
def test_a_forged_event_after_the_day_changes_nothing_and_notifies_nobody(state_dir, name):
    assert run_day(DayOptions(state_dir, DAY)).status == "completed"
    notified = len(_notifications(state_dir))
    hops = _send(state_dir, AFTER, _entry(name))
    assert hops and {h.status for h in hops} == {"failed"}
    assert _orchestrator_published(hops) == [] and len(_notifications(state_dir)) == notified
    assert _status(state_dir) == "completed"


def test_the_real_events_replayed_after_the_day_are_duplicates_that_publish_and_notify_nothing(state_dir):
    result = run_day(DayOptions(state_dir, DAY))
    assert result.status == "completed"
    notified = len(_notifications(state_dir))
    real = [e for e in result.events if e["detail-type"] in ("TradeExecuted", "WorkflowStarted", "SignalGenerated",
                                                              "RebalancePlanned", "WorkflowCompleted")]
    runtime = LocalRuntime(state_dir, as_of=AFTER)
    for envelope in real:
        runtime.route(envelope, replay_name="alchemiser-replay")
    hops = [h for h in runtime.run_until_quiet() if h.function == "orchestrator"]
    assert hops and {h.status for h in hops} <= {"duplicate", "skipped"}
    assert _orchestrator_published(hops) == [] and len(_notifications(state_dir)) == notified


def test_a_recorded_failure_put_on_the_bus_under_another_producers_source_is_refused(state_dir):
    # The portfolio recorded this WorkflowFailed as published; sent as the strategy's it matches no record of
    # the strategy's, so nothing happens. Under its real source it is applied (a resend of a real event).
    failed = load_test_event("workflow-failed.json")
    record_published(failed, SqliteWorkflowFacts(state_dir / "state.sqlite"))
    spoofed = _send(state_dir, BEFORE, _entry("workflow-failed.json", source="alchemiser.strategy"))
    assert {h.status for h in spoofed} == {"failed"} and _status(state_dir) is None
    assert _notifications(state_dir) == []
    real = _send(state_dir, BEFORE, _entry("workflow-failed.json"))
    assert "ErrorNotificationRequested" in _orchestrator_published(real) and _status(state_dir) == "failed"


def test_a_rerun_neither_redelivers_forged_events_nor_dates_itself_after_them(state_dir):
    # Archived for the day's workflow, but published by no function: no part of the workflow to resume,
    # and its time (a week later) must not move the rerun's clock.
    _send(state_dir, BEFORE, _entry("workflow-failed.json"),
          _entry("trade-executed.json", occurred_at="2026-12-02T15:00:00Z", finished_at="2026-12-02T15:00:00Z"))
    result = run_day(DayOptions(state_dir, DAY))
    assert result.status == "completed", result.reason
    assert result.redelivered == [] and not result.resumed
    [started] = [e["detail"] for e in result.events if e["detail-type"] == "WorkflowStarted"]
    assert started["occurred_at"].startswith("2026-11-25T14:35")
