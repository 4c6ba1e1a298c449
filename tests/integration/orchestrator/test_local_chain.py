"""The orchestrator on the local bus, routed by the template's own rules: TradeExecuted arrives twice
(TradeExecutedRule + AllEventsToOrchestratorRule), its own events come back, error requests are
delivered, and the chain goes quiet."""

from __future__ import annotations

import json

from alchemiser.local.runtime import LocalRuntime
from shared.runtime.published_facts import SqliteWorkflowFacts
from tests.conftest import load_test_event
from tests.fakes.facts import record_published
from tests.unit.orchestrator.support import T0


def entry(name: str, state_dir) -> dict:
    """The sample as its producer published it: recorded (published_facts.py), then put on the bus."""
    event = load_test_event(name)
    record_published(event, SqliteWorkflowFacts(state_dir / "state.sqlite"))
    return {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"]),
            "EventBusName": "alchemiser-trading-events-dev"}


def orchestrator_hops(hops):
    return [(h.trigger, h.rule, h.status, h.published) for h in hops if h.function == "orchestrator"]


def test_trade_executed_through_both_rules_completes_once_and_its_own_event_comes_back_quietly(state_dir):
    runtime = LocalRuntime(state_dir, as_of=T0)
    # SignalGenerated / RebalancePlanned also go to portfolio / execution: hand them to the orchestrator
    # directly, as the all-events rule would, so this test exercises the orchestrator alone.
    for name in ("workflow-started.json", "signal-generated.json", "rebalance-planned.json"):
        record_published(load_test_event(name), SqliteWorkflowFacts(state_dir / "state.sqlite"))
        runtime.invoke("orchestrator", load_test_event(name))
    runtime.put_events([entry("trade-executed.json", state_dir)])
    hops = runtime.run_until_quiet()
    executed = [(rule, status, published) for trigger, rule, status, published in orchestrator_hops(hops)
                if trigger == "TradeExecuted"]
    assert sorted(rule for rule, _, _ in executed) == ["AllEventsToOrchestratorRule", "TradeExecutedRule"]
    assert sorted((status, published) for _, status, published in executed) == [
        ("duplicate", []), ("success", ["WorkflowCompleted"])]
    assert [(t, s, p) for t, _, s, p in orchestrator_hops(hops) if t != "TradeExecuted"] == [
        ("WorkflowCompleted", "success", [])]
    assert all(h.error is None for h in hops)
    lines = (state_dir / "notifications.jsonl").read_text().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])["message"]
    assert "trend-switcher (50.00% of the portfolio) -> TQQQ 100.00%" in report
    assert "PLAN plan-7f3a9c2e1b4d5a60" in report


def test_a_service_failure_is_notified_once_through_the_bus_and_nothing_loops(state_dir):
    runtime = LocalRuntime(state_dir, as_of=T0)
    runtime.put_events([entry("workflow-failed.json", state_dir)])
    runtime.put_events([entry("workflow-failed.json", state_dir)])  # sent twice: at-least-once delivery
    hops = runtime.run_until_quiet()
    assert sorted(orchestrator_hops(hops)) == sorted([
        ("WorkflowFailed", "AllEventsToOrchestratorRule", "success", ["ErrorNotificationRequested"]),
        ("WorkflowFailed", "AllEventsToOrchestratorRule", "duplicate", []),
        ("ErrorNotificationRequested", "AllEventsToOrchestratorRule", "success", []),
    ])
    notes = [json.loads(line) for line in (state_dir / "notifications.jsonl").read_text().splitlines()]
    assert [n["subject"] for n in notes] == ["Alchemiser [paper] ERROR: AccountBlocked in run-2026-11-25-paper"]
    assert all(h.error is None for h in hops)
