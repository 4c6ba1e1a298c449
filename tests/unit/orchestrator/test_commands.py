"""Commands to the orchestrator: the scheduled stuck check, the P&L report, and what it refuses."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.orchestrator.pnl import PnlUnavailable
from services.orchestrator.ports import EquityPoint
from services.orchestrator.workflow_record import EquitySnapshot, Lease
from shared.events.catalog import SOURCE_OF
from shared.events.envelope import InvalidEventError
from shared.runtime import metric_names as m
from tests.unit.orchestrator.support import CORRELATION, T0, FakeHistory, Harness, sample

STUCK_CHECK = {"action": "check_stuck_workflows"}


@pytest.fixture
def h(state_dir) -> Harness:
    """Fails a stuck workflow at once (stuck_fail_after_minutes = stuck_after_minutes): the one-stage check."""
    return Harness.create(state_dir, stuck_fail_after_minutes=30)


def test_by_default_a_stuck_workflow_is_warned_about_with_how_to_resume_and_stays_open(state_dir):
    h = Harness.create(state_dir)
    h.deliver(sample("WorkflowStarted"))
    h.deliver(sample("SignalGenerated"))
    h.deliver(sample("RebalancePlanned"))
    warned = h.at(T0 + timedelta(minutes=31)).command(STUCK_CHECK)
    assert (warned["warned"], warned["stuck"]) == ([CORRELATION], [])
    assert warned["published"] == ["ErrorNotificationRequested"]
    [notice] = h.publisher.events
    assert notice.severity == "warning" and notice.step == "execution"
    assert "dlq redrive" in notice.error_message and "alchemiser run --as-of 2026-11-25" in notice.error_message
    assert h.record().status == "planned" and h.metrics.total(m.WORKFLOWS_STUCK) == 1
    # once per stall
    assert h.at(T0 + timedelta(minutes=60)).command(STUCK_CHECK)["published"] == []
    # resumed (a redrive): the TradeExecuted completes the still-open workflow, no alarm
    done = h.at(T0 + timedelta(minutes=70)).deliver(sample("TradeExecuted"))
    assert h.record().status == "completed" and "disagree" not in done["message"]
    assert h.metrics.total(m.EXECUTIONS_AFTER_TERMINAL) == 0


def test_by_default_a_workflow_stuck_past_the_fail_threshold_is_failed_once(state_dir):
    h = Harness.create(state_dir)
    h.deliver(sample("WorkflowStarted"))
    h.at(T0 + timedelta(minutes=31)).command(STUCK_CHECK)
    failed = h.at(T0 + timedelta(minutes=241)).command(STUCK_CHECK)
    assert failed["stuck"] == [CORRELATION] and failed["published"] == ["WorkflowFailed", "ErrorNotificationRequested"]
    assert h.record().status == "failed" and h.metrics.total(m.WORKFLOWS_STUCK) == 1


# ------------------------------------------------------------------ stuck check


def test_a_workflow_without_progress_for_longer_than_the_setting_is_failed_at_its_step(h):
    h.deliver(sample("WorkflowStarted"))
    h.deliver(sample("SignalGenerated"))
    response = h.at(T0 + timedelta(minutes=31)).command(STUCK_CHECK)
    assert response["status"] == "success" and response["stuck"] == [CORRELATION]
    assert response["published"] == ["WorkflowFailed", "ErrorNotificationRequested"]
    failed, notice = h.publisher.events
    assert (failed.step, failed.error_type) == ("portfolio", "WorkflowStuck")
    assert notice.step == "portfolio" and "no progress for 31 minutes" in notice.error_message
    record = h.record()
    assert record.status == "failed" and record.failure.step == "portfolio"
    assert (h.metrics.total(m.WORKFLOWS_STUCK), h.metrics.total(m.WORKFLOWS_FAILED)) == (1, 1)


def test_the_stuck_check_leaves_young_and_finished_workflows_alone_and_fails_each_stuck_one_once(h):
    h.deliver(sample("WorkflowStarted"))
    h.deliver(sample("TradeExecuted", correlation_id="finished-run", event_id="exec-finished"))
    assert h.at(T0 + timedelta(minutes=29)).command(STUCK_CHECK)["stuck"] == []
    assert h.at(T0 + timedelta(minutes=40)).command(STUCK_CHECK)["stuck"] == [CORRELATION]
    again = h.at(T0 + timedelta(minutes=50)).command(STUCK_CHECK)
    assert (again["checked"], again["stuck"], again["published"]) == (0, [], [])
    assert h.published_types() == ["WorkflowCompleted", "WorkflowFailed", "ErrorNotificationRequested"]


def test_the_threshold_is_a_setting(state_dir):
    h = Harness.create(state_dir, stuck_after_minutes=5, stuck_fail_after_minutes=5)
    h.deliver(sample("WorkflowStarted"))
    assert h.at(T0 + timedelta(minutes=6)).command(STUCK_CHECK)["stuck"] == [CORRELATION]
    assert h.publisher.events[0].step == "strategy"


def test_a_late_event_after_the_stuck_failure_changes_nothing(h):
    h.deliver(sample("WorkflowStarted"))
    h.deliver(sample("SignalGenerated"))
    h.deliver(sample("RebalancePlanned"))
    h.at(T0 + timedelta(hours=2)).command(STUCK_CHECK)
    late = h.deliver(sample("WorkflowFailed", event_id="late-failure"))
    assert late["status"] == "skipped" and h.record().status == "failed"
    own = h.deliver(h.publisher.events[0], source=SOURCE_OF["orchestrator"])
    assert own["status"] == "success" and own["published"] == []


def test_orders_at_the_broker_after_the_stuck_failure_alarm_and_notify_once(h):
    h.deliver(sample("WorkflowStarted"))
    h.deliver(sample("SignalGenerated"))
    h.deliver(sample("RebalancePlanned"))
    h.at(T0 + timedelta(hours=2)).command(STUCK_CHECK)
    before = len(h.publisher.events)
    executed = sample("TradeExecuted")
    assert any(o.broker_order_id for o in executed.orders)
    late = h.deliver(executed)
    assert late["status"] == "failed" and "disagree" in late["message"]
    assert h.record().status == "failed"  # the outcome stays; the alarm and the notification say what happened
    [notice] = h.publisher.events[before:]
    assert (notice.detail_type, notice.severity, notice.error_type) == (
        "ErrorNotificationRequested", "critical", "ExecutionAfterTerminal")
    assert h.metrics.total("ExecutionsAfterTerminal") == 1
    again = h.deliver(executed)  # the second rule's copy, a redelivery: nothing more
    assert again["status"] == "duplicate" and len(h.publisher.events) == before + 1
    assert h.metrics.total("ExecutionsAfterTerminal") == 1


def test_a_refusal_reported_after_the_stuck_failure_changes_nothing(h):
    h.deliver(sample("WorkflowStarted"))
    h.at(T0 + timedelta(hours=2)).command(STUCK_CHECK)
    before = len(h.publisher.events)
    refused = sample("TradeExecuted", event_id="refusal", success=False, status="halted", orders=[],
                     reason="kill switch halted; nothing placed")
    assert h.deliver(refused)["status"] == "skipped"
    assert len(h.publisher.events) == before


def test_the_stuck_check_carries_out_effects_an_interrupted_invocation_left_behind(h):
    h.notifier.failures_left = 1
    with pytest.raises(ConnectionError):
        h.deliver(sample("TradeExecuted"))
    stored = h.store.load(CORRELATION)
    h.store.save(stored.record.model_copy(update={"lease": Lease(owner="dead", until=h.wall() + 30)}),
                 expected_version=stored.version)
    assert h.command(STUCK_CHECK)["recovered"] == []  # the lease is still live
    h.wall.now += 31
    response = h.command(STUCK_CHECK)
    assert response["recovered"] == [CORRELATION] and response["stuck"] == []
    assert len(h.notifier.sent) == 1 and h.record().pending == ()
    assert h.metrics.total(m.NOTIFICATIONS_SENT) == 1


# ------------------------------------------------------------------ refused commands


@pytest.mark.parametrize("payload", [{"mode": "trade"}, {"mode": "signal", "correlation_id": "x-1"}])
def test_a_command_without_an_orchestrator_action_is_refused_naming_the_strategy_function(h, payload):
    response = h.command(payload)
    assert response["status"] == "failed"
    assert "pnl_analysis" in response["message"] and "strategy function" in response["message"]
    assert h.publisher.events == []


# ------------------------------------------------------------------ P&L


def _snapshot(day: date, equity: str, correlation_id: str) -> EquitySnapshot:
    return EquitySnapshot(trading_mode="paper", trading_date=day, correlation_id=correlation_id,
                          recorded_at=T0, equity_after=Decimal(equity))


def test_pnl_analysis_reports_from_alpaca_history_and_flags_a_mismatch_with_our_snapshots(h):
    h.store.put_snapshot(_snapshot(date(2026, 11, 24), "101000", "run-a"))
    h.store.put_snapshot(_snapshot(date(2026, 11, 25), "90000", "run-b"))
    h.history = FakeHistory([EquityPoint(date(2026, 11, 23), Decimal("100000")),
                             EquityPoint(date(2026, 11, 24), Decimal("101000")),
                             EquityPoint(date(2026, 11, 25), Decimal("101300"))])
    response = h.command({"action": "pnl_analysis", "pnl_period": "1W", "pnl_detailed": True})
    assert response["status"] == "success"
    assert response["message"] == "P&L 1W (2026-11-18 to 2026-11-25): +$1,300.00 (+1.30%), equity $101,300.00"
    report = response["report"]
    assert (report["pnl"], report["return_pct"], report["source"]) == ("1300", "1.3000", "alpaca")
    assert report["cross_check"]["days_compared"] == 2
    assert [x["date"] for x in report["cross_check"]["mismatches"]] == ["2026-11-25"]
    assert "MISMATCH 2026-11-25: Alpaca $101,300.00, ours $90,000.00" in response["text"]
    assert h.history.calls == [("1W", date(2026, 11, 25))]


def test_pnl_analysis_with_weekly_buckets_by_pnl_type_and_periods(h):
    h.history = FakeHistory([EquityPoint(date(2026, 11, 2) + timedelta(days=d), Decimal(100000 + 100 * d))
                             for d in range(0, 23)])
    response = h.command({"action": "pnl_analysis", "pnl_type": "weekly", "pnl_periods": 2})
    assert response["report"]["period"] == "2W"
    assert [b["label"] for b in response["report"]["buckets"]] == ["2026-W47", "2026-W48"]


def test_pnl_analysis_from_local_snapshots(state_dir):
    h = Harness.create(state_dir, pnl_source="local")
    h.deliver(sample("TradeExecuted"))
    from services.orchestrator.dependencies import build_history

    h.history = build_history(h.settings, h.store)
    response = h.command({"action": "pnl_analysis"})
    assert response["report"]["source"] == "local"
    assert response["report"]["end_equity"] == "99995.10"
    assert "Cross-check: n/a" in response["text"]


def test_pnl_analysis_without_history_is_a_failed_response_saying_why(h):
    class Down:
        source = "alpaca"

        def daily_equity(self, *, period, end):
            raise PnlUnavailable("Alpaca portfolio history unavailable: 503")

    h.history = Down()
    response = h.command({"action": "pnl_analysis"})
    assert response["status"] == "failed"
    assert response["message"] == "P&L report unavailable: Alpaca portfolio history unavailable: 503"


def test_a_bad_pnl_period_is_rejected_before_the_handler(h):
    with pytest.raises(InvalidEventError, match="pnl_period"):
        h.command({"action": "pnl_analysis", "pnl_period": "1Y"})


def test_a_workflow_stopped_at_the_hop_limit_can_still_be_failed_and_notified(h):
    h.deliver(sample("WorkflowStarted", hop_count=7))
    h.at(T0 + timedelta(hours=2)).command(STUCK_CHECK)
    failed, notice = h.publisher.events
    assert (failed.detail_type, notice.detail_type) == ("WorkflowFailed", "ErrorNotificationRequested")
    assert notice.hop_count <= 8
    delivered = h.deliver(notice, source=SOURCE_OF["orchestrator"])
    assert delivered["status"] == "success" and h.notifier.sent
