"""Recorded facts: the embedded and DynamoDB stores share one contract; `verify` tells real from forged.

The DynamoDB side runs on moto with the IdempotencyTable built from infra/template.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from shared.runtime.published_facts import (
    DynamoDBWorkflowFacts,
    SqliteWorkflowFacts,
    event_digest,
    fact_key,
    member,
    verify,
)
from tests.conftest import load_test_event
from tests.fakes.aws_from_template import create_table
from tests.fakes.clock import WallClock
from tests.fakes.concurrency import all_at_once, raised
from tests.fakes.facts import as_event


@pytest.fixture(params=["embedded", "dynamodb"])
def facts(request, tmp_path) -> Iterator:
    clock = WallClock()
    if request.param == "embedded":
        yield SqliteWorkflowFacts(tmp_path / "state.sqlite", wall_clock=clock), clock
        return
    with mock_aws():
        yield DynamoDBWorkflowFacts(create_table("IdempotencyTable"), wall_clock=clock), clock


def test_members_accumulate_and_a_repeat_adds_nothing(facts):
    store, _ = facts
    assert store.members("strategy", "wf-1") == frozenset()
    store.record("strategy", "wf-1", "e1", "d1")
    store.record("strategy", "wf-1", "e1", "d1")
    store.record("strategy", "wf-1", "e2", "d2")
    assert store.members("strategy", "wf-1") == {member("e1", "d1"), member("e2", "d2")}
    assert store.members("portfolio", "wf-1") == frozenset() and store.members("strategy", "wf-2") == frozenset()


def test_concurrent_writers_never_lose_a_member(facts):
    store, _ = facts
    results = all_at_once([lambda n=n: store.record("portfolio", "wf-1", f"e{n}", "d") for n in range(8)])
    assert raised(results) == []
    assert len(store.members("portfolio", "wf-1")) == 8


def test_facts_expire_after_the_retention(facts):
    store, clock = facts
    store.record("strategy", "wf-1", "e1", "d1")
    clock.now += 401 * 86_400
    assert store.members("strategy", "wf-1") == frozenset()


def test_verify_accepts_the_recorded_event_and_names_what_is_wrong_with_any_other(facts):
    store, _ = facts
    signal = as_event(load_test_event("signal-generated.json"))
    assert "recorded no event" in verify(store, "strategy", signal, signal.event_id, signal.correlation_id)
    store.record("strategy", signal.correlation_id, signal.event_id, event_digest(signal))
    resent = signal.model_validate_json(signal.model_dump_json())  # a console resend, an archive replay
    assert verify(store, "strategy", resent, resent.event_id, resent.correlation_id) is None
    edited = signal.model_copy(update={"hop_count": signal.hop_count + 1})
    assert "differs" in verify(store, "strategy", edited, edited.event_id, edited.correlation_id)
    other = signal.model_copy(update={"event_id": "hand-made"})
    assert "not one the strategy function published" in verify(store, "strategy", other, "hand-made",
                                                               other.correlation_id)


def test_fact_keys_are_per_producer_prefix():
    assert fact_key("strategy", "run-1") == "strategy-workflow#run-1"
    assert fact_key("portfolio", "run-1") == "portfolio-workflow#run-1"


def test_the_digest_ignores_the_order_of_keys_a_delivery_may_change():
    detail = load_test_event("signal-generated.json")["detail"]
    reordered = dict(reversed(list(detail.items())))
    reordered["target_weights"] = dict(reversed(list(detail["target_weights"].items())))
    assert event_digest(as_event(detail)) == event_digest(as_event(reordered))
    changed = {**detail, "target_weights": {**detail["target_weights"], "SPY": "0"}}
    assert event_digest(as_event(detail)) != event_digest(as_event(changed))
