"""The EventBridge publisher: batches of 10, size checks, partial failures, typed errors."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from shared.events import EventContext, WorkflowFailed
from shared.events.publisher import (
    MAX_ENTRY_BYTES,
    EventBridgePublisher,
    EventTooLargeError,
    OutboxPublisher,
    PublishError,
    entry_size,
    to_entry,
)
from tests.fakes.in_memory import InMemoryPublisher

BUS = "alchemiser-trading-events-dev"
SOURCE = "alchemiser.portfolio"


def failed_events(n: int, reason: str = "r") -> list[WorkflowFailed]:
    return [WorkflowFailed.create(EventContext(f"corr-{i}", "cause", "paper", 1), step="portfolio",
                                  reason=reason, error_type="E") for i in range(n)]


def ok_response(n: int) -> dict:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"id-{i}"} for i in range(n)]}


def test_publishes_in_batches_of_at_most_ten():
    client = boto3.client("events")
    stub = Stubber(client)
    events = failed_events(23)
    for size in (10, 10, 3):
        stub.add_response("put_events", ok_response(size))
    with stub:
        published = EventBridgePublisher(BUS, SOURCE, client, sleep=lambda s: None).publish(events)
    stub.assert_no_pending_responses()
    assert published == ["WorkflowFailed"] * 23


def test_retries_only_the_failed_entries_then_succeeds():
    client = boto3.client("events")
    stub = Stubber(client)
    events = failed_events(3)
    entries = [to_entry(e, source=SOURCE, bus_name=BUS) for e in events]
    stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": [
        {"EventId": "a"}, {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}, {"EventId": "c"}]},
        expected_params={"Entries": entries})
    stub.add_response("put_events", ok_response(1), expected_params={"Entries": [entries[1]]})
    sleeps: list[float] = []
    with stub:
        EventBridgePublisher(BUS, SOURCE, client, sleep=sleeps.append).publish(events)
    stub.assert_no_pending_responses()
    assert sleeps == [0.1]


def test_raises_a_typed_error_naming_what_was_not_delivered():
    client = boto3.client("events")
    stub = Stubber(client)
    events = failed_events(2)
    failing = {"FailedEntryCount": 1, "Entries": [{"EventId": "a"},
                                                   {"ErrorCode": "InternalFailure", "ErrorMessage": "boom"}]}
    stub.add_response("put_events", failing)
    for _ in range(3):
        stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "boom"}]})
    sleeps: list[float] = []
    with stub, pytest.raises(PublishError) as err:
        EventBridgePublisher(BUS, SOURCE, client, sleep=sleeps.append, max_attempts=4).publish(events)
    assert [u.event_id for u in err.value.undelivered] == [events[1].event_id]
    assert err.value.undelivered[0].error_code == "InternalFailure"
    assert events[1].event_id in str(err.value) and "InternalFailure" in str(err.value)
    assert sleeps == [0.1, 0.2, 0.4]


def test_oversize_entry_fails_before_anything_is_sent():
    client = boto3.client("events")
    stub = Stubber(client)  # no responses queued: any call would fail the test
    # A model caps its reason, so the oversize event is made without validation: the publisher must
    # refuse whatever it is handed, never send it.
    big = failed_events(1)[0].model_copy(update={"reason": "x" * MAX_ENTRY_BYTES})
    events = [*failed_events(1), big]
    with stub, pytest.raises(EventTooLargeError, match="EntryTooLarge"):
        EventBridgePublisher(BUS, SOURCE, client).publish(events)


def test_entry_size_counts_utf8_bytes_like_eventbridge():
    entry = {"Source": "s", "DetailType": "t", "Detail": "é", "Resources": ["ab"]}
    assert entry_size(entry) == 1 + 1 + 2 + 2
    assert entry_size({**entry, "Time": "2026-01-01"}) == 6 + 14


def test_a_producer_not_in_the_catalog_cannot_publish():
    with pytest.raises(ValueError, match=r"alchemiser\.execution is not a producer of SignalGenerated"):
        from shared.events import SignalGenerated
        from tests.conftest import load_test_event

        signal = SignalGenerated.model_validate(load_test_event("signal-generated.json")["detail"])
        to_entry(signal, source="alchemiser.execution", bus_name=BUS)


@mock_aws
def test_publishes_to_a_real_bus_in_moto_and_the_rule_delivers_the_detail():
    events_client = boto3.client("events")
    sqs = boto3.client("sqs")
    events_client.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="capture")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = json.dumps({"source": [{"prefix": "alchemiser."}]})
    events_client.put_rule(Name="all", EventBusName=BUS, EventPattern=pattern)
    events_client.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])

    events = failed_events(12)
    EventBridgePublisher(BUS, SOURCE, events_client).publish(events)

    bodies = []
    while len(bodies) < 12:
        msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            break
        bodies += [json.loads(m["Body"]) for m in msgs]
    assert sorted(b["detail"]["event_id"] for b in bodies) == sorted(e.event_id for e in events)
    assert {b["detail-type"] for b in bodies} == {"WorkflowFailed"}
    assert {b["source"] for b in bodies} == {SOURCE}


def test_outbox_publisher_appends_putevents_entries(tmp_path):
    path = tmp_path / "outbox" / "req.jsonl"
    OutboxPublisher(path, SOURCE, BUS).publish(failed_events(2))
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [line["DetailType"] for line in lines] == ["WorkflowFailed"] * 2
    assert lines[0]["EventBusName"] == BUS and lines[0]["Source"] == SOURCE


def test_in_memory_publisher_records_and_can_fail():
    pub = InMemoryPublisher(SOURCE)
    pub.publish(failed_events(1))
    assert len(pub.events) == 1
    with pytest.raises(RuntimeError):
        InMemoryPublisher(fail_with=RuntimeError("down")).publish(failed_events(1))


# ------------------------------------------------------------------ every publisher records what it publishes


class _Facts:
    """Records what was recorded, and when (against what the inner publisher had been given by then)."""

    def __init__(self, inner: InMemoryPublisher) -> None:
        self.inner, self.recorded = inner, []

    def record(self, kind, correlation_id, event_id, digest) -> None:
        self.recorded.append((kind, correlation_id, event_id, len(self.inner.events)))

    def members(self, kind, correlation_id):
        return frozenset()


def test_a_recording_publisher_records_each_event_before_any_is_sent():
    from shared.events.publisher import RecordingPublisher

    inner = InMemoryPublisher(SOURCE)
    facts = _Facts(inner)
    events = failed_events(3)
    assert RecordingPublisher(inner, facts, "portfolio", SOURCE).publish(events) == ["WorkflowFailed"] * 3
    assert facts.recorded == [("portfolio", e.correlation_id, e.event_id, 0) for e in events]  # all before sending
    assert inner.events == events


def test_a_batch_refused_before_sending_records_nothing():
    from shared.events.publisher import RecordingPublisher

    inner = InMemoryPublisher(SOURCE)
    facts = _Facts(inner)
    big = failed_events(1)[0].model_copy(update={"reason": "x" * MAX_ENTRY_BYTES})  # the model caps a reason
    with pytest.raises(EventTooLargeError):
        RecordingPublisher(inner, facts, "portfolio", SOURCE).publish([*failed_events(1), big])
    with pytest.raises(ValueError, match="not a producer of WorkflowFailed"):
        RecordingPublisher(inner, facts, "execution", "alchemiser.execution").publish(failed_events(1))
    assert facts.recorded == [] and inner.events == []


@pytest.mark.parametrize(("service", "name"), [("strategy", "workflow-started.json"),
                                               ("portfolio", "workflow-failed.json"),
                                               ("execution", "trade-executed.json"),
                                               ("orchestrator", "error-notification-requested.json")])
def test_every_functions_publisher_records_what_it_publishes_for_its_consumers(service, name, state_dir, monkeypatch):
    """Built by each service's own `build`: no path of any function can publish an event it did not record."""
    import importlib

    from shared.runtime.published_facts import event_digest, member
    from tests.conftest import load_test_event
    from tests.fakes.facts import as_event

    monkeypatch.setenv("ALCHEMISER_BACKEND", "local")
    monkeypatch.setenv("ALCHEMISER_STATE_DIR", str(state_dir))
    settings_module = importlib.import_module(f"services.{service}.settings")
    settings_type = next(v for k, v in vars(settings_module).items() if k.endswith("Settings") and k != "CommonSettings"
                         and k != "BrokerSettings")
    deps = importlib.import_module(f"services.{service}.dependencies").build(settings_type.from_env())
    event = as_event(load_test_event(name))
    deps.publisher_for("request-1").publish([event])
    assert deps.facts.members(service, event.correlation_id) == {member(event.event_id, event_digest(event))}
    [line] = (state_dir / "outbox" / "request-1.jsonl").read_text().splitlines()
    assert json.loads(line)["DetailType"] == event.detail_type
