"""Every envelope shape the functions meet in practice is recognised and unwrapped."""

from __future__ import annotations

import json

import pytest

from shared.events.envelope import MAX_EVENT_BYTES, InvalidEventError, open_envelope
from tests.conftest import load_test_event


def test_direct_payload_is_taken_as_is():
    delivery = open_envelope({"mode": "trade"})
    assert (delivery.kind, delivery.detail, delivery.detail_type) == ("direct", {"mode": "trade"}, None)


def test_scheduler_envelope_is_unwrapped():
    delivery = open_envelope(load_test_event("eventbridge-scheduler-trade.json"))
    assert delivery.kind == "scheduler"
    assert delivery.detail == {"mode": "trade"}
    assert delivery.source == "aws.scheduler"
    assert delivery.envelope_id == "12345-test-event"


def test_rule_delivery_is_unwrapped_with_its_metadata():
    delivery = open_envelope(load_test_event("signal-generated.json"))
    assert delivery.kind == "event"
    assert delivery.detail_type == "SignalGenerated"
    assert delivery.source == "alchemiser.strategy"
    assert delivery.detail["correlation_id"] == "run-2026-11-25-paper"
    assert not delivery.is_replay


def test_archive_replay_is_recognised_by_replay_name():
    event = dict(load_test_event("signal-generated.json"), **{"replay-name": "replay-2026-11-25"})
    delivery = open_envelope(event)
    assert delivery.kind == "replay" and delivery.is_replay and delivery.replay_name == "replay-2026-11-25"


def test_console_send_events_delivery_without_account_is_accepted():
    # The console's "Send events" reaches the function through a rule; moto-delivered envelopes
    # even lack `account`. Neither matters to unwrapping.
    event = load_test_event("trade-executed.json")
    del event["account"]
    assert open_envelope(event).detail_type == "TradeExecuted"


def test_detail_given_as_a_json_string_is_parsed():
    event = load_test_event("workflow-failed.json")
    event["detail"] = json.dumps(event["detail"])
    assert open_envelope(event).detail["step"] == "portfolio"


def test_a_json_string_event_is_parsed():
    assert open_envelope('{"mode": "signal"}').detail == {"mode": "signal"}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "must be a JSON object, got list"),
        ({"detail-type": "SignalGenerated"}, "without 'detail'"),
        ({"detail": {}}, "without 'detail-type'"),
        ({"detail-type": "", "detail": {}}, "non-empty string"),
        ({"detail-type": "X", "source": "s", "detail": "[1"}, "'detail' is not valid JSON"),
        ({"detail-type": "X", "source": "s", "detail": [1]}, "must be a JSON object, got list"),
    ],
)
def test_malformed_events_get_a_clear_reason(event, message):
    with pytest.raises(InvalidEventError, match=message):
        open_envelope(event)


def test_oversize_event_is_rejected_with_its_size():
    event = {"mode": "trade", "padding": "x" * MAX_EVENT_BYTES}
    with pytest.raises(InvalidEventError, match=r"bytes; the EventBridge limit is 262144"):
        open_envelope(event)


def test_a_delivered_envelope_is_not_reserialised_for_size():
    # PutEvents and the Scheduler refuse anything over 256 KB, so a delivered envelope cannot exceed
    # it; only direct payloads, which nothing upstream bounds at 256 KB, are measured.
    event = load_test_event("signal-generated.json")
    event["detail"]["symbols"] = ["SPY"] * (MAX_EVENT_BYTES // 4)
    assert open_envelope(event).detail_type == "SignalGenerated"
