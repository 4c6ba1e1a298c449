"""The workflow state machine (pure): every transition, out-of-order arrival, terminal states, stuck."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.orchestrator import transition
from services.orchestrator.effects import stored_event
from services.orchestrator.recorded_events import RecordedEvents
from services.orchestrator.state_machine import apply, fail_stuck
from services.orchestrator.transition import Options
from services.orchestrator.workflow_record import EquitySnapshot
from shared.events import (
    ErrorNotificationRequested,
    WorkflowCompleted,
    WorkflowFailed,
    deterministic_event_id,
)
from tests.conftest import load_test_event
from tests.unit.orchestrator.support import T0, sample

STARTED, SIGNALS, PLANNED, EXECUTED = (sample("WorkflowStarted"), sample("SignalGenerated"),
                                       sample("RebalancePlanned"), sample("TradeExecuted"))


def run(*events, now=T0, options=None):
    options = options or Options()
    record = None
    transition = None
    for event in events:
        transition = apply(record, event, now=now, options=options)
        record = transition.record or record
    return record, transition


def published(record):
    return [stored_event(e) for e in record.pending if e.kind == "publish"]


# ------------------------------------------------------------------ forward transitions


def test_workflow_started_opens_the_record_at_started():
    record, transition = run(STARTED)
    assert transition.kind == "recorded" and transition.created
    assert record.status == "started"
    assert record.trading_date == date(2026, 11, 25)
    assert record.applied == (STARTED.event_id,)
    assert record.pending == ()
    assert record.is_open


@pytest.mark.parametrize(("events", "status"), [
    ((STARTED,), "started"),
    ((STARTED, SIGNALS), "signals"),
    ((STARTED, SIGNALS, PLANNED), "planned"),
])
def test_each_progress_event_moves_the_status_forward(events, status):
    record, transition = run(*events)
    assert record.status == status
    assert not transition.ended
    assert record.steps[status] == events[-1].occurred_at


def test_signal_generated_records_the_explanations_and_weights_for_the_report():
    record, _ = run(STARTED, SIGNALS)
    signals = RecordedEvents(record).signals
    assert signals.strategies[0].explanation[0].startswith("if current-price(SPY)")
    assert signals.target_weights["TQQQ"] == Decimal("0.5")
    assert record.steps["signals"] == SIGNALS.occurred_at


def test_the_record_keeps_each_event_as_its_json_and_reads_it_back_as_the_same_event():
    record, _ = run(STARTED, SIGNALS, PLANNED)
    kept = {"started": STARTED, "signals": SIGNALS, "plan": PLANNED}
    for field, event in kept.items():
        assert getattr(record, field) == json.loads(event.model_dump_json())  # what the store has always held
    events = RecordedEvents(record)
    assert (events.signals, events.plan, events.execution) == (SIGNALS, PLANNED, None)
    done, _ = run(STARTED, SIGNALS, PLANNED, EXECUTED)
    assert done.execution == json.loads(EXECUTED.model_dump_json())
    assert RecordedEvents(done).execution == EXECUTED


def test_trade_executed_success_completes_and_owes_completed_event_snapshot_and_report():
    record, transition = run(STARTED, SIGNALS, PLANNED, EXECUTED)
    assert transition.kind == "completed"
    assert record.status == "completed" and record.terminal
    assert [e.kind for e in record.pending] == ["publish", "snapshot", "notify"]
    assert [e.detail_type for e in published(record)] == ["WorkflowCompleted"]
    assert record.pending[2].notification.key == f"report:{record.outcome_event_id}"


def test_workflow_completed_has_the_sample_id_causation_summary_and_times():
    record, _ = run(STARTED, SIGNALS, PLANNED, EXECUTED)
    (completed,) = published(record)
    expected = WorkflowCompleted.model_validate(load_test_event("workflow-completed.json")["detail"])
    assert completed.event_id == expected.event_id  # deterministic: caused by the TradeExecuted
    assert (completed.causation_id, completed.hop_count) == (EXECUTED.event_id, 4)
    assert completed.trading_date == expected.trading_date and completed.plan_id == expected.plan_id
    summary = completed.summary
    assert (summary.orders_at_broker, summary.orders_filled, summary.orders_failed) == (3, 3, 0)
    assert summary.turnover == Decimal("99000.00")
    assert (summary.equity_before, summary.equity_after) == (Decimal("100000.00"), Decimal("99995.10"))
    assert completed.started_at == STARTED.occurred_at
    assert completed.completed_at == T0
    assert summary.step_seconds == {"signals": 0.0, "planned": 1.0, "executed": 6.0, "completed": 3.0}


def test_the_snapshot_keeps_equity_fill_prices_strategy_weights_and_attribution():
    record, _ = run(STARTED, SIGNALS, PLANNED, EXECUTED)
    snapshot: EquitySnapshot = record.pending[1].snapshot
    assert (snapshot.trading_date, snapshot.equity_after) == (date(2026, 11, 25), Decimal("99995.10"))
    assert snapshot.prices == {"TQQQ": Decimal("82.41"), "TLT": Decimal("91.17"), "GLD": Decimal("241.05")}
    assert snapshot.strategies["risk-parity"].weights == {"TLT": Decimal("0.5"), "GLD": Decimal("0.5")}
    assert snapshot.attribution == {"trend-switcher": Decimal("49500.00"), "risk-parity": Decimal("49500.00")}


def test_without_notify_on_completion_no_report_is_owed():
    record, _ = run(STARTED, EXECUTED, options=Options(notify_on_completion=False))
    assert [e.kind for e in record.pending] == ["publish", "snapshot"]


def test_an_empty_plan_is_a_success_already_balanced():
    empty = sample("TradeExecuted", orders=[], status="empty",
                   totals={**load_test_event("trade-executed.json")["detail"]["totals"], "orders_planned": 0,
                           "orders_at_broker": 0, "orders_placed_now": 0, "orders_filled": 0, "turnover": "0",
                           "buy_value": "0"})
    record, transition = run(STARTED, empty)
    assert transition.kind == "completed" and record.status == "completed"


# ------------------------------------------------------------------ failures and skips


def test_a_failed_execution_fails_the_workflow_with_workflow_failed_then_one_error_request():
    failed_run = sample("TradeExecuted", success=False, status="failed", reason="broker refused 2 of 3 orders")
    record, transition = run(STARTED, PLANNED, failed_run)
    assert transition.kind == "failed" and record.status == "failed"
    assert (record.failure.step, record.failure.error_type) == ("execution", "ExecutionFailed")
    failed, notice = published(record)
    assert isinstance(failed, WorkflowFailed) and isinstance(notice, ErrorNotificationRequested)
    assert (failed.step, failed.reason, failed.failed_event_id) == ("execution", "broker refused 2 of 3 orders",
                                                                    failed_run.event_id)
    assert (failed.causation_id, failed.hop_count) == (failed_run.event_id, 4)
    assert (notice.causation_id, notice.hop_count) == (failed.event_id, 5)
    assert notice.error_message == (f"Workflow {failed_run.correlation_id} failed at execution: "
                                    "broker refused 2 of 3 orders")
    assert not any(e.kind == "notify" for e in record.pending)  # the notifier delivers the request when it returns


def test_market_closed_at_execution_skips_the_workflow_with_a_warning_notification():
    closed = sample("TradeExecuted", success=False, status="market_closed", reason="market closed (holiday)",
                    orders=[])
    record, transition = run(STARTED, PLANNED, closed)
    assert transition.kind == "skipped" and record.status == "skipped"
    (notice,) = published(record)
    assert isinstance(notice, ErrorNotificationRequested)
    assert (notice.severity, notice.error_type, notice.step) == ("warning", "MarketClosed", "execution")
    assert "skipped at execution: market closed (holiday)" in notice.error_message


def test_workflow_failed_from_a_service_fails_and_requests_exactly_the_sample_notification():
    failed = sample("WorkflowFailed")
    record, transition = run(STARTED, SIGNALS, failed)
    assert transition.kind == "failed"
    assert (record.failure.step, record.failure.error_type, record.failure.event_id) == (
        "portfolio", "AccountBlocked", failed.event_id)
    (notice,) = published(record)
    expected = json.loads(json.dumps(load_test_event("error-notification-requested.json")["detail"]))
    got = json.loads(notice.model_dump_json())
    got.pop("occurred_at"), expected.pop("occurred_at")
    assert got == expected


# ------------------------------------------------------------------ order, duplicates, finality


def test_signal_generated_after_rebalance_planned_is_recorded_without_moving_the_state_back():
    record, transition = run(STARTED, PLANNED, SIGNALS)
    assert transition.kind == "recorded"
    assert record.status == "planned"
    assert record.signals is not None and record.plan is not None


def test_trade_executed_before_rebalance_planned_still_completes_and_the_plan_arrives_late():
    record, transition = run(STARTED, SIGNALS, EXECUTED)
    assert transition.kind == "completed"
    late = apply(record, PLANNED, now=T0)
    assert late.kind == "late" and late.record is None
    assert "already completed" in late.message


def test_trade_executed_first_sight_completes_a_workflow_never_seen():
    record, transition = run(EXECUTED)
    assert transition.created and transition.kind == "completed"
    assert record.trading_date == date(2026, 11, 25)  # New York date of the execution
    (completed,) = published(record)
    assert completed.summary.step_seconds == {"completed": 3.0}
    assert completed.started_at is None


def test_an_event_already_applied_is_a_duplicate_with_no_change():
    record, _ = run(STARTED, SIGNALS)
    again = apply(record, SIGNALS, now=T0 + timedelta(minutes=5))
    assert again.kind == "duplicate" and again.record is None


@pytest.mark.parametrize("ending", [
    EXECUTED,
    sample("WorkflowFailed"),
    sample("TradeExecuted", success=False, status="market_closed", orders=[]),
])
@pytest.mark.parametrize("later", [sample("WorkflowStarted", event_id="a-second-start"), SIGNALS, PLANNED,
                                   sample("TradeExecuted", event_id="another-refusal", success=False,
                                          status="halted", orders=[]),
                                   sample("WorkflowFailed", event_id="another-failure")])
def test_terminal_states_are_final(ending, later):
    record, _ = run(STARTED, ending)
    outcome = apply(record, later, now=T0)
    assert outcome.kind == "late" and outcome.record is None


@pytest.mark.parametrize("ending", [
    EXECUTED,
    sample("WorkflowFailed"),
    sample("TradeExecuted", success=False, status="market_closed", orders=[]),
])
def test_orders_at_the_broker_for_a_terminal_workflow_keep_the_outcome_and_owe_a_critical_notice(ending):
    record, _ = run(STARTED, ending)
    outcome = apply(record, sample("TradeExecuted", event_id="another-execution"), now=T0)
    assert outcome.kind == "broker_disagrees" and outcome.record is not None
    assert outcome.record.status == record.status and outcome.record.outcome_event_id == record.outcome_event_id
    [effect] = outcome.record.pending[len(record.pending):]
    assert effect.detail_type == "ErrorNotificationRequested" and '"critical"' in effect.detail


def test_own_events_are_not_progress_events():
    with pytest.raises(ValueError, match="not a workflow progress event"):
        apply(None, sample("WorkflowCompleted"), now=T0)


# ------------------------------------------------------------------ stuck


@pytest.mark.parametrize(("events", "step"), [
    ((STARTED,), "strategy"),
    ((STARTED, SIGNALS), "portfolio"),
    ((STARTED, SIGNALS, PLANNED), "execution"),
])
def test_a_workflow_without_progress_past_the_threshold_fails_at_the_step_it_waits_on(events, step):
    record, _ = run(*events)
    outcome = fail_stuck(record, now=T0 + timedelta(minutes=31), after=timedelta(minutes=30))
    assert outcome is not None and outcome.kind == "failed"
    new = outcome.record
    assert new.status == "failed" and new.failure.step == step and new.failure.error_type == "WorkflowStuck"
    failed, notice = published(new)
    assert (failed.step, failed.error_type) == (step, "WorkflowStuck")
    assert "no progress for 31 minutes" in failed.reason
    assert failed.causation_id == record.last_event_id
    assert notice.causation_id == failed.event_id
    assert failed.event_id == deterministic_event_id("WorkflowFailed", record.correlation_id,
                                                     record.last_event_id, "stuck")


def test_a_workflow_within_the_threshold_or_finished_is_not_stuck():
    record, _ = run(STARTED, SIGNALS)
    assert fail_stuck(record, now=T0 + timedelta(minutes=30), after=timedelta(minutes=30)) is None
    done, _ = run(STARTED, EXECUTED)
    assert fail_stuck(done, now=T0 + timedelta(days=2), after=timedelta(minutes=30)) is None


def test_progress_is_measured_on_the_orchestrators_clock_at_each_event():
    record, _ = run(STARTED)
    later = apply(record, SIGNALS, now=T0 + timedelta(minutes=20)).record
    assert later.last_progress_at == T0 + timedelta(minutes=20)
    assert fail_stuck(later, now=T0 + timedelta(minutes=45), after=timedelta(minutes=30)) is None


def test_step_seconds_only_for_steps_whose_predecessor_was_seen():
    steps = {"started": T0, "planned": T0 + timedelta(seconds=2), "executed": T0 + timedelta(seconds=8.5)}
    assert transition.step_seconds(steps) == {"executed": 6.5}
