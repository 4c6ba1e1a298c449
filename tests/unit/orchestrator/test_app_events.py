"""The orchestrator's event handling through app.handle: duplicates, order, own events, replays, crashes."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from services.orchestrator.workflow_record import Lease
from shared.events import deterministic_event_id
from shared.events.catalog import SOURCE_OF
from shared.events.publisher import PublishError
from shared.runtime import metric_names as m
from tests.conftest import load_test_event
from tests.fakes.concurrency import all_at_once, named
from tests.fakes.in_memory import InMemoryPublisher
from tests.unit.orchestrator.support import CORRELATION, T0, FakeNotifier, Harness, sample

STARTED, SIGNALS, PLANNED, EXECUTED = (sample("WorkflowStarted"), sample("SignalGenerated"),
                                       sample("RebalancePlanned"), sample("TradeExecuted"))
COMPLETED_ID = deterministic_event_id("WorkflowCompleted", CORRELATION, EXECUTED.event_id)


@pytest.fixture
def h(state_dir) -> Harness:
    return Harness.create(state_dir)


class FlakyPublisher(InMemoryPublisher):
    """Fails its first `failures` calls (nothing delivered), then behaves."""

    def __init__(self, failures: int) -> None:
        super().__init__(SOURCE_OF["orchestrator"])
        self.failures = failures

    def publish(self, events):
        if self.failures:
            self.failures -= 1
            raise PublishError("PutEvents failed", [])
        return super().publish(events)


# ------------------------------------------------------------------ the day, duplicates


def test_a_full_day_completes_once_with_its_metrics(h):
    for event in (STARTED, SIGNALS, PLANNED):
        assert h.deliver(event)["status"] == "success"
    response = h.deliver(EXECUTED)
    assert response["status"] == "success" and response["published"] == ["WorkflowCompleted"]
    assert response["workflow_status"] == "completed"
    assert [e.event_id for e in h.publisher.events] == [COMPLETED_ID]
    assert len(h.notifier.sent) == 1 and "daily report for 2026-11-25" in h.notifier.sent[0][1]
    assert h.record().status == "completed" and h.record().pending == () and h.record().lease is None
    assert [s.equity_after for s in h.store.snapshots("paper", T0.date(), T0.date())] == [Decimal("99995.10")]
    totals = {name: h.metrics.total(name) for name in (
        m.WORKFLOWS_STARTED, m.WORKFLOWS_COMPLETED, m.TURNOVER, m.EQUITY, m.NOTIFICATIONS_SENT)}
    assert totals == {m.WORKFLOWS_STARTED: 1, m.WORKFLOWS_COMPLETED: 1, m.TURNOVER: 99000.0, m.EQUITY: 99995.1,
                      m.NOTIFICATIONS_SENT: 1}
    assert not {m.ORDERS_PLACED, m.ORDERS_FILLED, m.ORDERS_FAILED} & h.metrics.names()  # execution counts orders


def test_trade_executed_through_both_rules_completes_once_and_the_second_is_a_duplicate(h):
    delivered = load_test_event("trade-executed.json")  # both rules deliver the same envelope
    first = h.deliver(delivered)
    second = h.deliver(delivered)
    assert (first["status"], first["published"]) == ("success", ["WorkflowCompleted"])
    assert (second["status"], second["published"]) == ("duplicate", [])
    assert h.published_types() == ["WorkflowCompleted"]
    assert len(h.notifier.sent) == 1
    assert h.metrics.total(m.DUPLICATES_SUPPRESSED) == 1
    assert h.metrics.total(m.WORKFLOWS_COMPLETED) == 1 and h.metrics.total(m.TURNOVER) == 99000.0


def test_two_concurrent_deliveries_of_trade_executed_complete_the_workflow_once(state_dir):
    h = Harness.create(state_dir)
    h.notifier.delay = 0.05
    barrier = threading.Barrier(2)
    responses: list[dict] = []

    def deliver():
        barrier.wait()
        responses.append(h.deliver(load_test_event("trade-executed.json")))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["status"] for r in responses) == ["duplicate", "success"]
    assert h.published_types() == ["WorkflowCompleted"]
    assert len(h.notifier.sent) == 1


def test_a_repeated_progress_event_is_a_duplicate(h):
    h.deliver(STARTED)
    h.deliver(SIGNALS)
    again = h.deliver(SIGNALS)
    assert again["status"] == "duplicate" and h.metrics.total(m.DUPLICATES_SUPPRESSED) == 1
    assert h.metrics.total(m.WORKFLOWS_STARTED) == 1


# ------------------------------------------------------------------ out of order


def test_signal_generated_after_rebalance_planned_leaves_the_workflow_planned(h):
    h.deliver(STARTED)
    h.deliver(PLANNED)
    assert h.deliver(SIGNALS)["status"] == "success"
    assert h.record().status == "planned" and h.record().signals is not None


def test_trade_executed_before_rebalance_planned_completes_and_the_late_plan_changes_nothing(h):
    h.deliver(SIGNALS)
    assert h.deliver(EXECUTED)["published"] == ["WorkflowCompleted"]
    late = h.deliver(PLANNED)
    assert late["status"] == "skipped" and "already completed" in late["message"]
    assert h.record().plan is None and h.published_types() == ["WorkflowCompleted"]


# ------------------------------------------------------------------ failures


def test_a_service_failure_fails_the_workflow_and_requests_one_error_notification(h):
    h.deliver(STARTED)
    response = h.deliver(sample("WorkflowFailed"), source=SOURCE_OF["portfolio"])
    assert response["status"] == "success" and response["published"] == ["ErrorNotificationRequested"]
    assert h.record().status == "failed"
    again = h.deliver(sample("WorkflowFailed"), source=SOURCE_OF["portfolio"])
    assert again["status"] == "duplicate"
    assert h.published_types() == ["ErrorNotificationRequested"]
    assert h.metrics.total(m.WORKFLOWS_FAILED) == 1
    assert h.notifier.sent == []  # delivered when the request comes back to the notifier


def test_a_failed_execution_publishes_workflow_failed_then_the_error_request(h):
    failed = sample("TradeExecuted", success=False, status="rejected", reason="all orders rejected",
                    totals={**load_test_event("trade-executed.json")["detail"]["totals"], "orders_filled": 0,
                            "orders_failed": 3})
    response = h.deliver(failed)
    assert response["published"] == ["WorkflowFailed", "ErrorNotificationRequested"]
    assert h.record().failure.error_type == "ExecutionRejected"
    assert h.metrics.total(m.WORKFLOWS_FAILED) == 1 and h.metrics.total(m.WORKFLOWS_COMPLETED) == 0


def test_market_closed_skips_the_workflow_loudly(h):
    closed = sample("TradeExecuted", success=False, status="market_closed", reason="market closed", orders=[])
    response = h.deliver(closed)
    assert response["workflow_status"] == "skipped" and response["published"] == ["ErrorNotificationRequested"]
    assert h.metrics.total(m.WORKFLOWS_SKIPPED) == 1


# ------------------------------------------------------------------ own events, replays


@pytest.mark.parametrize("own", [sample("WorkflowCompleted"),
                                 sample("WorkflowFailed", event_id="stuck-failure", step="strategy",
                                        error_type="WorkflowStuck")])
def test_the_orchestrators_own_events_are_recorded_and_never_publish(h, own):
    h.deliver(STARTED)
    first = h.deliver(own, source=SOURCE_OF["orchestrator"])
    second = h.deliver(own, source=SOURCE_OF["orchestrator"])
    assert (first["status"], second["status"]) == ("success", "duplicate")
    assert "causes nothing further" in first["message"]
    assert h.publisher.events == [] and h.notifier.sent == []
    assert h.record().status == "started"  # our own event never moves the workflow
    assert h.store.event_entry(CORRELATION, own.event_id).source == "alchemiser.orchestration"


def test_a_replay_of_an_applied_event_is_recorded_as_a_replay_and_changes_nothing(h):
    h.deliver(EXECUTED)
    replay = h.deliver(EXECUTED, replay_name="recovery-2026-11-26")
    assert replay["status"] == "duplicate" and replay["replay"] is True
    assert h.store.event_entry(CORRELATION, EXECUTED.event_id).replay_names == ("recovery-2026-11-26",)
    assert h.published_types() == ["WorkflowCompleted"] and len(h.notifier.sent) == 1


def test_a_replayed_new_event_on_a_finished_workflow_is_recorded_without_effect(h):
    h.deliver(EXECUTED)
    late = h.deliver(sample("WorkflowFailed", event_id="replayed-failure"), source=SOURCE_OF["portfolio"],
                     replay_name="replay-1")
    assert late["status"] == "skipped" and late["replay"] is True
    assert h.record().status == "completed"
    assert h.store.event_entry(CORRELATION, "replayed-failure").replay_names == ("replay-1",)
    assert h.published_types() == ["WorkflowCompleted"]


def test_a_replay_recovers_an_open_workflow_whose_event_was_lost(h):
    h.deliver(STARTED)
    h.deliver(PLANNED)
    response = h.deliver(EXECUTED, replay_name="dlq-recovery")
    assert response["status"] == "success" and response["published"] == ["WorkflowCompleted"]


# ------------------------------------------------------------------ crashes and retries


def test_a_publish_failure_after_the_transition_is_republished_with_the_same_ids_on_retry(h):
    with pytest.raises(PublishError):
        h.deliver(EXECUTED, publisher=FlakyPublisher(failures=1))
    record = h.record()
    assert record.status == "completed" and [e.kind for e in record.pending] == ["publish", "snapshot", "notify"]
    assert record.lease is None  # released, so the retry does not wait
    retry = h.deliver(EXECUTED)
    assert retry["status"] == "success" and retry["published"] == ["WorkflowCompleted"]
    assert [e.event_id for e in h.publisher.events] == [COMPLETED_ID]
    assert len(h.notifier.sent) == 1 and h.record().pending == ()
    assert h.metrics.total(m.WORKFLOWS_COMPLETED) == 1  # counted at the transition, not again
    assert h.deliver(EXECUTED)["status"] == "duplicate"


def test_a_report_that_fails_to_send_raises_and_the_retry_sends_it_once_without_republishing(h):
    h.notifier.failures_left = 1
    with pytest.raises(ConnectionError):
        h.deliver(EXECUTED)
    assert h.published_types() == ["WorkflowCompleted"]
    assert [e.kind for e in h.record().pending] == ["notify"]
    retry = h.deliver(EXECUTED)
    assert retry["status"] == "success" and retry["published"] == []
    assert len(h.notifier.sent) == 1 and h.published_types() == ["WorkflowCompleted"]


def _crash_after_transition(h: Harness, owner: str, until: float) -> None:
    """The state a hard crash (timeout, OOM) leaves: transition saved, effects pending, lease held."""
    with pytest.raises(PublishError):
        h.deliver(EXECUTED, publisher=FlakyPublisher(failures=1))
    stored = h.store.load(CORRELATION)
    assert h.store.save(stored.record.model_copy(update={"lease": Lease(owner=owner, until=until)}),
                        expected_version=stored.version)


def test_while_a_live_invocation_holds_the_lease_another_delivery_publishes_nothing(h):
    _crash_after_transition(h, owner="other-invocation", until=h.wall() + 60)
    response = h.deliver(EXECUTED)
    assert response["status"] == "duplicate" and "another invocation" in response["message"]
    assert h.publisher.events == []


def test_after_the_lease_expires_a_delivery_takes_over_and_publishes_the_same_event(h):
    _crash_after_transition(h, owner="dead-invocation", until=h.wall() + 60)
    h.wall.now += 61
    response = h.deliver(EXECUTED)
    assert response["status"] == "success" and [e.event_id for e in h.publisher.events] == [COMPLETED_ID]


def test_the_retry_of_the_crashed_invocation_itself_takes_over_at_once(h):
    _crash_after_transition(h, owner="request-1", until=h.wall() + 60)
    response = h.deliver(EXECUTED, request_id="request-1")
    assert response["status"] == "success" and h.published_types() == ["WorkflowCompleted"]


# ------------------------------------------------------------------ error notifications


def test_an_error_notification_is_delivered_once_and_publishes_nothing(h):
    event = load_test_event("eventbridge-error-notification.json")
    first = h.deliver(event)
    second = h.deliver(event)
    assert (first["status"], second["status"]) == ("success", "duplicate")
    assert first["published"] == second["published"] == []
    assert h.publisher.events == []
    (subject, message), = h.notifier.sent
    assert subject == "Alchemiser [n/a] ERROR: StrategyExecutionError in test-123"
    assert "Test error" in message and "Event 12345-error-event" in message
    assert (h.metrics.total(m.NOTIFICATIONS_SENT), h.metrics.total(m.DUPLICATES_SUPPRESSED)) == (1, 1)


def test_when_the_notifier_fails_it_raises_publishes_nothing_and_a_retry_sends_exactly_once(h):
    event = load_test_event("error-notification-requested.json")
    h.notifier.failures_left = 1
    with pytest.raises(ConnectionError):
        h.deliver(event)
    assert h.publisher.events == [] and h.notifier.sent == []
    assert h.deliver(event)["status"] == "success"
    assert h.deliver(event)["status"] == "duplicate"
    assert len(h.notifier.sent) == 1 and h.notifier.attempts == 2
    assert h.publisher.events == []


def test_two_concurrent_deliveries_of_an_error_notification_send_it_once(state_dir):
    h = Harness.create(state_dir)
    h.notifier = FakeNotifier(delay=0.2)
    results = all_at_once([lambda: h.deliver(load_test_event("eventbridge-error-notification.json"))] * 2)
    outcomes = named(results, lambda r: r["status"], {IdempotencyAlreadyInProgressError: "in progress: retried later"})
    assert len(h.notifier.sent) == 1
    assert "success" in outcomes and len(outcomes) == 2
    assert h.deliver(load_test_event("eventbridge-error-notification.json"))["status"] == "duplicate"
    assert h.publisher.events == []


def test_a_replayed_error_notification_already_delivered_is_not_sent_again(h):
    event = load_test_event("error-notification-requested.json")
    h.deliver(event)
    replay = h.deliver({**event, "replay-name": "archive-replay"})
    assert replay["status"] == "duplicate" and len(h.notifier.sent) == 1


def test_no_daily_report_when_notify_on_completion_is_off(state_dir):
    h = Harness.create(state_dir, notify_on_completion=False)
    assert h.deliver(EXECUTED)["published"] == ["WorkflowCompleted"]
    assert h.notifier.sent == []


def test_the_next_days_report_carries_the_day_pnl_from_the_previous_snapshot(h):
    h.deliver(EXECUTED)
    next_day = sample("TradeExecuted", event_id="exec-2026-11-26", correlation_id="run-2026-11-26-paper",
                      started_at=EXECUTED.started_at + timedelta(days=1),
                      account_after={"equity": "101995.10", "cash": "1000", "buying_power": "1000"})
    h.at(T0 + timedelta(days=1)).deliver(next_day)
    assert "day P&L          +$2,000.00 (+2.00%) since $99,995.10 on 2026-11-25" in h.notifier.sent[-1][1]
