"""The portfolio handler as in AWS: Powertools idempotency on DynamoDB (moto, the template's table) and
EventBridge (moto, a rule on the bus delivering to a queue, so every published event is counted)."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from services.portfolio.dependencies import clear_cache
from services.portfolio.handler import lambda_handler as _lambda_handler
from tests.conftest import LambdaContextStub, load_test_event
from tests.fakes.aws_from_template import create_table
from tests.fakes.bus_probe import BusProbe
from tests.fakes.facts import record_published

BUS = "alchemiser-trading-events-test"

def lambda_handler(event: Any, context: Any) -> Any:
    """The handler, given a signal the strategy recorded as published (tests/fakes/facts.py)."""
    with contextlib.suppress(ValidationError, KeyError):  # bad input: the handler refuses it anyway
        record_published(event)
    return _lambda_handler(event, context)



@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, state_dir) -> Iterator[dict[str, Any]]:
    with mock_aws():
        table = create_table("IdempotencyTable")
        boto3.client("events").create_event_bus(Name=BUS)
        probe = BusProbe.on(BUS, {"source": ["alchemiser.portfolio"]})
        monkeypatch.setenv("ALCHEMISER_BACKEND", "aws")
        monkeypatch.setenv("ALCHEMISER_BROKER", "sim")  # the simulated broker keeps its account in state_dir
        monkeypatch.setenv("ALCHEMISER_MARKET_DATA", "offline")
        monkeypatch.setenv("ALCHEMISER_STATE_DIR", str(state_dir))
        monkeypatch.setenv("ALCHEMISER_IDEMPOTENCY_TABLE", table)
        monkeypatch.setenv("ALCHEMISER_EVENT_BUS_NAME", BUS)
        yield {"table": table, "probe": probe}


def delivered(aws: dict[str, Any]) -> list[dict[str, Any]]:
    return aws["probe"].delivered()


def test_a_signal_delivered_twice_gives_one_rebalance_planned_with_dynamodb_idempotency(aws):
    event = load_test_event("signal-generated.json")
    first = lambda_handler(copy.deepcopy(event), LambdaContextStub())
    again = lambda_handler(copy.deepcopy(event), LambdaContextStub())
    assert first["status"] == "success" and again["status"] == "duplicate" and again["published"] == []
    [envelope] = delivered(aws)
    assert envelope["detail-type"] == "RebalancePlanned"
    assert envelope["detail"]["plan_id"] == first["plan_id"]


def test_the_idempotency_record_is_in_the_templates_table_and_expires_after_the_configured_days(aws):
    lambda_handler(load_test_event("signal-generated.json"), LambdaContextStub())
    items = boto3.client("dynamodb").scan(TableName=aws["table"])["Items"]
    facts = sorted(i["id"]["S"].split("#")[0] for i in items if i["id"]["S"].endswith("#run-2026-11-25-paper"))
    assert facts == ["portfolio-workflow", "strategy-workflow"]  # the signal checked, the plan recorded
    [record] = [i for i in items if i["id"]["S"].startswith("portfolio-positions#")]  # the system's positions
    assert "pending" in json.loads(record["record"]["S"])
    [item] = [i for i in items if not i["id"]["S"].endswith("#run-2026-11-25-paper") and i is not record]
    assert item["id"]["S"].startswith("portfolio-plan#") and item["status"]["S"] == "COMPLETED"
    created = json.loads(item["data"]["S"])
    assert created["status"] == "success"
    import time

    days = (int(item["expiration"]["N"]) - time.time()) / 86_400
    assert 399 < days <= 400


def test_a_cold_container_sees_the_dynamodb_record_and_publishes_nothing(aws):
    event = load_test_event("signal-generated.json")
    lambda_handler(copy.deepcopy(event), LambdaContextStub())
    clear_cache()
    assert lambda_handler(copy.deepcopy(event), LambdaContextStub())["status"] == "duplicate"
    assert len(delivered(aws)) == 1


def test_a_fail_closed_signal_is_remembered_in_dynamodb_too(aws):
    event = load_test_event("signal-generated.json")
    event["detail"]["target_weights"]["GLD"] = "0.2"  # sums to 0.95
    first = lambda_handler(copy.deepcopy(event), LambdaContextStub())
    again = lambda_handler(copy.deepcopy(event), LambdaContextStub())
    assert (first["status"], first["error_type"], again["status"]) == ("failed", "WeightsDoNotSumToOne", "duplicate")
    assert [e["detail-type"] for e in delivered(aws)] == ["WorkflowFailed"]
