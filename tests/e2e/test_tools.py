"""send, replay and dlq against the local runtime: what users do around the bus."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alchemiser.local.day import DayOptions, run_day
from alchemiser.local.runtime import LocalRuntime
from shared.runtime.published_facts import SqliteWorkflowFacts
from tests.conftest import TEST_EVENTS, load_test_event
from tests.e2e.conftest import alchemiser, alchemiser_json, broker_orders
from tests.fakes.facts import record_published

DAY = "2026-11-25T09:35:00-05:00"


def test_send_delivers_a_console_event_through_the_rules(state_dir):
    # The signal was published by the strategy (so recorded), then resent from the console.
    record_published(load_test_event("signal-generated.json"), SqliteWorkflowFacts(state_dir / "state.sqlite"))
    report = alchemiser_json("send", "--source", "alchemiser.strategy", "--detail-type", "SignalGenerated",
                             "--detail", str(TEST_EVENTS / "signal-generated.json"), "--as-of",
                             "2026-11-25T09:40:00-05:00", "--state-dir", str(state_dir))
    assert set(report["rules"]) == {"SignalGeneratedRule", "AllEventsToOrchestratorRule"}
    functions = [d["function"] for d in report["deliveries"]]
    assert {"portfolio", "execution", "orchestrator"} <= set(functions)
    assert all(d["error"] is None for d in report["deliveries"])
    assert broker_orders(state_dir)


def test_a_hand_made_signal_sent_from_the_console_is_planned_by_nobody(state_dir):
    report = alchemiser_json("send", "--source", "alchemiser.strategy", "--detail-type", "SignalGenerated",
                             "--detail", str(TEST_EVENTS / "signal-generated.json"), "--as-of",
                             "2026-11-25T09:40:00-05:00", "--state-dir", str(state_dir))
    [portfolio] = [d for d in report["deliveries"] if d["function"] == "portfolio"]
    assert "execution" not in {d["function"] for d in report["deliveries"]}
    assert (portfolio["status"], portfolio["published"]) == ("failed", [])
    assert broker_orders(state_dir) == []


def test_replaying_an_executed_day_places_nothing_and_publishes_nothing(state_dir):
    run_day(DayOptions(state_dir, datetime.fromisoformat(DAY)))
    before = len(broker_orders(state_dir))
    report = alchemiser_json("replay", "--state-dir", str(state_dir))
    assert report["events"] == 5 and report["published"] == 0
    assert "error" not in report["outcomes"]
    assert len(broker_orders(state_dir)) == before


def test_replaying_a_plan_that_never_executed_executes_it_once(state_dir):
    # The plan was published while execution was down: archived, never delivered.
    runtime = LocalRuntime(state_dir, as_of=datetime(2026, 11, 25, 15, 0, tzinfo=UTC))
    plan = load_test_event("rebalance-planned.json")
    record_published(plan, SqliteWorkflowFacts(state_dir / "state.sqlite"))  # the portfolio published it
    runtime.put_events([{"Source": plan["source"], "DetailType": plan["detail-type"],
                         "Detail": json.dumps(plan["detail"]), "EventBusName": runtime.template.bus_name}])
    runtime.queue.clear()
    assert broker_orders(state_dir) == []
    same_day = ("--as-of", "2026-11-25T10:05:00-05:00", "--broker", "sim", "--data", "offline")
    first = alchemiser_json("replay", *same_day, "--state-dir", str(state_dir))
    placed = len(broker_orders(state_dir))
    second = alchemiser_json("replay", *same_day, "--state-dir", str(state_dir))
    assert placed == 3 and len(broker_orders(state_dir)) == 3
    assert first["outcomes"].get("success", 0) >= 1 and "error" not in second["outcomes"]


def test_a_stale_plan_replayed_on_a_later_day_places_nothing(state_dir):
    runtime = LocalRuntime(state_dir, as_of=datetime(2026, 11, 25, 15, 0, tzinfo=UTC))
    plan = load_test_event("rebalance-planned.json")
    record_published(plan, SqliteWorkflowFacts(state_dir / "state.sqlite"))  # the portfolio published it
    runtime.put_events([{"Source": plan["source"], "DetailType": plan["detail-type"],
                         "Detail": json.dumps(plan["detail"]), "EventBusName": runtime.template.bus_name}])
    runtime.queue.clear()
    alchemiser_json("replay", "--as-of", "2026-11-27T10:05:00-05:00", "--broker", "sim", "--data", "offline",
                    "--state-dir", str(state_dir))
    assert broker_orders(state_dir) == []


def test_a_poison_event_reaches_the_dlq_and_can_be_listed_shown_and_redriven(state_dir, tmp_path):
    poison = tmp_path / "poison.json"
    poison.write_text(json.dumps({"correlation_id": "poison-1", "hop_count": 2}))
    sent = alchemiser("send", "--source", "alchemiser.portfolio", "--detail-type", "RebalancePlanned",
                      "--detail", str(poison), "--state-dir", str(state_dir))
    assert sent.returncode == 1  # every delivery failed
    listed = alchemiser_json("dlq", "list", "--state-dir", str(state_dir))
    assert sorted(m["target"] for m in listed) == ["ExecutionFunction", "OrchestratorFunction"]
    assert all(m["attempts"] == 3 and "missing field" in m["error"] for m in listed)  # Lambda: 1 + 2 retries
    shown = alchemiser_json("dlq", "show", listed[0]["message_id"], "--state-dir", str(state_dir))
    assert shown[0]["event"]["detail"]["correlation_id"] == "poison-1"
    # Still poison: redriving fails again and the messages stay dead-lettered (as new messages).
    redrive = alchemiser("dlq", "redrive", "--all", "--state-dir", str(state_dir))
    assert redrive.returncode == 1
    assert len(alchemiser_json("dlq", "list", "--state-dir", str(state_dir))) == 2
    assert broker_orders(state_dir) == []


def test_a_dead_lettered_event_whose_cause_is_fixed_is_redriven_once(state_dir):
    runtime = LocalRuntime(state_dir, as_of=datetime(2026, 11, 25, 14, 40, tzinfo=UTC))
    runtime.dlq.send(load_test_event("signal-generated.json"), rule="SignalGeneratedRule",
                     target="PortfolioFunction", error="BrokerUnavailable: timed out", attempts=4,
                     failed_at=datetime(2026, 11, 25, 14, 36, tzinfo=UTC))
    refused = alchemiser("dlq", "redrive", "--all", "--state-dir", str(state_dir))
    assert refused.returncode == 2 and "give both --broker and --data" in refused.stderr  # no run record
    result = alchemiser("dlq", "redrive", "--all", "--broker", "sim", "--data", "offline",
                        "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "using broker sim" in result.stdout
    assert "1 succeeded" in result.stdout
    assert alchemiser_json("dlq", "list", "--state-dir", str(state_dir)) == []
