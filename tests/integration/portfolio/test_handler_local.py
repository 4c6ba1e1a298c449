"""The portfolio handler in local mode: the simulated broker, the embedded idempotency store, the outbox."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from pydantic import ValidationError

from services.portfolio.handler import lambda_handler as _lambda_handler
from shared.events.envelope import InvalidEventError
from shared.events.rebalance_planned import RebalancePlanned
from tests.conftest import LambdaContextStub, load_test_event
from tests.fakes.facts import record_published
from tests.integration.portfolio.conftest import outbox_entries, published


def lambda_handler(event: Any, context: Any) -> Any:
    """The handler, given a signal the strategy recorded as published (tests/fakes/facts.py)."""
    with contextlib.suppress(ValidationError, KeyError):  # bad input: the handler refuses it anyway
        record_published(event)
    return _lambda_handler(event, context)



def test_the_sample_signal_is_planned_once_and_a_redelivery_is_a_duplicate(local_env):
    event = load_test_event("signal-generated.json")
    first = lambda_handler(copy.deepcopy(event), LambdaContextStub())
    again = lambda_handler(copy.deepcopy(event), LambdaContextStub())
    assert (first["status"], first["published"]) == ("success", ["RebalancePlanned"])
    assert (again["status"], again["published"]) == ("duplicate", [])
    entries = outbox_entries(local_env)
    assert [(e["DetailType"], e["Source"]) for e in entries] == [("RebalancePlanned", "alchemiser.portfolio")]
    plan = RebalancePlanned.model_validate_json(entries[0]["Detail"])
    assert plan.plan_id == first["plan_id"] == again["plan_id"]
    assert {o.symbol for o in plan.orders} == {"TQQQ", "TLT", "GLD"}
    # $100,000 of fresh cash less the 1% reserve
    assert sum(o.estimated_value for o in plan.orders if o.side == "buy") == 99000


def test_an_archive_replay_and_a_console_resend_of_the_same_signal_are_duplicates(local_env):
    event = load_test_event("signal-generated.json")
    lambda_handler(copy.deepcopy(event), LambdaContextStub())
    replay = dict(copy.deepcopy(event), **{"replay-name": "alchemiser-replay-1", "id": "another-envelope-id"})
    console = {"source": event["source"], "detail-type": event["detail-type"], "detail": event["detail"]}
    assert lambda_handler(replay, LambdaContextStub())["status"] == "duplicate"
    assert lambda_handler(console, LambdaContextStub())["status"] == "duplicate"
    assert len(published(local_env)) == 1


def test_a_simulated_clock_before_the_signal_fails_closed_with_a_stale_snapshot(local_env, monkeypatch):
    monkeypatch.setenv("ALCHEMISER_AS_OF", "2026-11-25T09:30:00-05:00")  # the signal is from 09:35:02
    response = lambda_handler(load_test_event("signal-generated.json"), LambdaContextStub())
    assert (response["status"], response["error_type"]) == ("failed", "StaleSnapshot")
    [failed] = published(local_env)
    assert failed["step"] == "portfolio" and failed["failed_event_id"] == "2586a97a-1528-5b23-94a2-f4c92ce77d8b"


def test_a_signal_from_the_wrong_source_never_reaches_the_planner(local_env):
    event = dict(load_test_event("signal-generated.json"), source="alchemiser.execution")
    with pytest.raises(InvalidEventError):
        lambda_handler(event, LambdaContextStub())
    assert outbox_entries(local_env) == []


def test_a_negative_weight_fails_the_workflow_closed_with_the_symbol_named(local_env):
    event = load_test_event("signal-generated.json")
    event["detail"]["target_weights"]["TLT"] = "-0.25"
    response = lambda_handler(event, LambdaContextStub())
    assert (response["status"], response["error_type"]) == ("failed", "InvalidWeights")
    [failed] = published(local_env)
    assert failed["step"] == "portfolio" and "TLT" in failed["reason"]
    assert [e["DetailType"] for e in outbox_entries(local_env)] == ["WorkflowFailed"]


def test_a_weight_that_is_not_a_number_is_bad_input_for_the_dlq(local_env):
    event = load_test_event("signal-generated.json")
    event["detail"]["target_weights"]["TLT"] = "NaN"
    with pytest.raises(InvalidEventError, match=r"target_weights\.TLT"):
        lambda_handler(event, LambdaContextStub())
    assert outbox_entries(local_env) == []
