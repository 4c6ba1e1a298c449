"""One contract for both WorkflowStore adapters (embedded SQLite, DynamoDB on moto with the template's
WorkflowTable), and for the exactly-once notification claims on both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from moto import mock_aws

from services.orchestrator.adapters.dynamodb_workflow_store import DynamoDBWorkflowStore
from services.orchestrator.adapters.embedded_workflow_store import EmbeddedWorkflowStore
from services.orchestrator.dependencies import CLAIMS_OPERATION
from services.orchestrator.notifications import NotificationDelivery
from services.orchestrator.state_machine import apply
from services.orchestrator.workflow_record import EquitySnapshot, EventEntry, Lease, Notification
from shared.runtime.idempotency import IdempotentOperation, SqlitePersistenceLayer
from tests.conftest import LambdaContextStub
from tests.fakes.aws_from_template import create_table
from tests.fakes.concurrency import all_at_once, named
from tests.unit.orchestrator.support import T0, FakeNotifier, sample


@pytest.fixture(params=["embedded", "dynamodb"])
def backend(request, tmp_path) -> Iterator[dict]:
    if request.param == "embedded":
        path = tmp_path / "state.sqlite"
        yield {"store": lambda: EmbeddedWorkflowStore(path), "claims": lambda: SqlitePersistenceLayer(path)}
        return
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    with mock_aws():
        name, claims = create_table("WorkflowTable"), create_table("IdempotencyTable")
        yield {"store": lambda: DynamoDBWorkflowStore(name, boto3.client("dynamodb")),
               "claims": lambda: DynamoDBPersistenceLayer(table_name=claims)}


@pytest.fixture
def store(backend):
    return backend["store"]()


def open_record(correlation_id="run-1"):
    return apply(None, sample("WorkflowStarted", correlation_id=correlation_id), now=T0).record


def completed_record(correlation_id="run-2"):
    return apply(None, sample("TradeExecuted", correlation_id=correlation_id), now=T0).record


# ------------------------------------------------------------------ records


def test_an_unknown_workflow_loads_as_none(store):
    assert store.load("never-seen") is None


def test_a_saved_record_round_trips_with_its_version(store):
    record = completed_record()
    assert store.save(record, expected_version=0)
    stored = store.load(record.correlation_id)
    assert stored.version == 1 and stored.record == record
    assert stored.record.pending[1].snapshot.equity_after == Decimal("99995.10")


def test_a_conditional_save_fails_when_someone_else_wrote_first(store):
    record = open_record()
    assert store.save(record, expected_version=0)
    assert not store.save(record, expected_version=0)  # already exists
    moved = record.model_copy(update={"status": "signals"})
    assert store.save(moved, expected_version=1)
    assert not store.save(record, expected_version=1)  # stale
    assert store.load(record.correlation_id).record.status == "signals"
    assert store.load(record.correlation_id).version == 2


def test_two_concurrent_creations_of_one_workflow_store_exactly_one(store, backend):
    record = open_record()
    results = all_at_once([lambda: backend["store"]().save(record, expected_version=0)] * 2)
    assert sorted(results) == [False, True]


def test_the_open_index_holds_unfinished_workflows_and_finished_ones_with_effects_owed(store):
    store.save(open_record("open-1"), expected_version=0)
    owed = completed_record("done-owing")
    store.save(owed, expected_version=0)
    settled = completed_record("done-settled").model_copy(update={"pending": (), "lease": None})
    store.save(settled, expected_version=0)
    assert sorted(r.correlation_id for r in store.open_workflows()) == ["done-owing", "open-1"]
    store.save(owed.model_copy(update={"pending": ()}), expected_version=1)  # effects done: leaves the index
    assert sorted(r.correlation_id for r in store.open_workflows()) == ["open-1"]


def test_the_lease_round_trips(store):
    record = completed_record().model_copy(update={"lease": Lease(owner="req-1", until=123.5)})
    store.save(record, expected_version=0)
    assert store.load(record.correlation_id).record.lease == Lease(owner="req-1", until=123.5)


# ------------------------------------------------------------------ event log


def entry(event_id="ev-1", replay=()):
    return EventEntry(correlation_id="run-1", event_id=event_id, detail_type="SignalGenerated",
                      source="alchemiser.strategy", occurred_at=T0, received_at=T0 + timedelta(seconds=1),
                      delivery="replay" if replay else "event", hop_count=1, envelope_id="env-1", replay_names=replay)


def test_each_event_is_recorded_once_and_replays_are_noted_on_it(store):
    assert store.record_event(entry()) is True
    assert store.record_event(entry()) is False
    assert store.record_event(entry(replay=("replay-a",))) is False
    assert store.record_event(entry(replay=("replay-b",))) is False
    got = store.event_entry("run-1", "ev-1")
    assert got.replay_names == ("replay-a", "replay-b")
    assert got.model_copy(update={"replay_names": ()}) == entry()
    assert store.event_entry("run-1", "other") is None


def test_a_first_sight_replay_is_recorded_with_its_name(store):
    assert store.record_event(entry("ev-2", replay=("replay-a",))) is True
    assert store.event_entry("run-1", "ev-2").replay_names == ("replay-a",)


# ------------------------------------------------------------------ snapshots


def snap(day: str, equity: str, mode="paper", correlation_id=None, hour=14) -> EquitySnapshot:
    return EquitySnapshot(trading_mode=mode, trading_date=date.fromisoformat(day),
                          correlation_id=correlation_id or f"run-{day}",
                          recorded_at=datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC),
                          equity_after=Decimal(equity), prices={"SPY": Decimal("601.20")})


def test_snapshots_by_mode_and_date_range_oldest_first(store):
    for s in (snap("2026-11-25", "3"), snap("2026-11-23", "1"), snap("2026-11-24", "2"),
              snap("2026-11-24", "9", mode="live"), snap("2026-10-01", "0")):
        store.put_snapshot(s)
    found = store.snapshots("paper", date(2026, 11, 23), date(2026, 11, 25))
    assert [s.equity_after for s in found] == [Decimal(1), Decimal(2), Decimal(3)]
    assert found[0].prices == {"SPY": Decimal("601.20")}
    assert [s.equity_after for s in store.snapshots("live", date(2026, 1, 1), date(2026, 12, 31))] == [Decimal(9)]


def test_a_snapshot_put_twice_is_stored_once_and_two_runs_a_day_are_both_kept(store):
    store.put_snapshot(snap("2026-11-25", "3"))
    store.put_snapshot(snap("2026-11-25", "3"))
    store.put_snapshot(snap("2026-11-25", "4", correlation_id="manual-second-run", hour=18))
    found = store.snapshots("paper", date(2026, 11, 25), date(2026, 11, 25))
    assert [s.equity_after for s in found] == [Decimal(3), Decimal(4)]


# ------------------------------------------------------------------ notification claims


NOTE = Notification(key="error:ev-1", kind="error", subject="s", message="m")


def delivery(backend, notifier):
    return NotificationDelivery(notifier, IdempotentOperation(CLAIMS_OPERATION, backend["claims"](),
                                                              expires_after_seconds=3600))


def test_a_notification_is_sent_once_per_key(backend):
    notifier = FakeNotifier()
    first = delivery(backend, notifier).deliver(NOTE, context=LambdaContextStub())
    second = delivery(backend, notifier).deliver(NOTE, context=LambdaContextStub())  # a new container
    assert (first.duplicate, second.duplicate) == (False, True)
    assert first.message_id == second.message_id == "msg-1"
    assert notifier.sent == [("s", "m")]


def test_a_failed_send_releases_the_claim_so_the_retry_sends(backend):
    notifier = FakeNotifier()
    notifier.failures_left = 1
    with pytest.raises(ConnectionError):
        delivery(backend, notifier).deliver(NOTE, context=LambdaContextStub())
    assert delivery(backend, notifier).deliver(NOTE, context=LambdaContextStub()).duplicate is False
    assert notifier.sent == [("s", "m")]


def test_claims_live_in_the_idempotency_table_under_the_orchestrators_prefix():
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    with mock_aws():
        name = create_table("IdempotencyTable")
        layer = DynamoDBPersistenceLayer(table_name=name)
        op = IdempotentOperation(CLAIMS_OPERATION, layer, expires_after_seconds=3600)
        NotificationDelivery(FakeNotifier(), op).deliver(NOTE, context=LambdaContextStub())
        items = boto3.client("dynamodb").scan(TableName=name)["Items"]
    assert [i["status"]["S"] for i in items] == ["COMPLETED"]
    assert items[0]["id"]["S"].startswith("orchestrator-notify#") and "expiration" in items[0]


def test_two_concurrent_deliveries_of_one_notification_send_it_once(backend):
    notifier = FakeNotifier(delay=0.2)
    results = all_at_once([lambda: delivery(backend, notifier).deliver(NOTE, context=LambdaContextStub())] * 2)
    outcomes = named(results, lambda r: "duplicate" if r.duplicate else "sent",
                     {IdempotencyAlreadyInProgressError: "in progress"})
    assert sorted(outcomes) in (["duplicate", "sent"], ["in progress", "sent"])
    assert len(notifier.sent) == 1


def test_a_record_larger_than_a_dynamodb_item_round_trips(store):
    lines = tuple(f"line {i}: if rsi(TQQQ, 10) {i}.5 > 79 -> else " + "x" * 900 for i in range(200))
    signals = sample("SignalGenerated")
    strategies = [s.model_copy(update={"name": f"s{n}", "explanation": lines, "allocation": Decimal("0.25")})
                  for n in range(4) for s in signals.strategies[:1]]
    big = sample("SignalGenerated", strategies=strategies)
    record = apply(open_record(), big, now=T0).record
    assert len(record.model_dump_json()) > 700_000  # beyond DynamoDB's 400 KB item limit, uncompressed
    assert store.save(record, expected_version=0)
    assert store.load(record.correlation_id).record == record
    assert [r.correlation_id for r in store.open_workflows()] == [record.correlation_id]
