"""The strategy handler as deployed: AWS mode on moto (the template's idempotency table, the bus
delivering to a queue, the Alpaca secret) with Alpaca's calendar served by the fake Alpaca server."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import boto3
import pytest
from moto import mock_aws

from services.strategy.dependencies import clear_cache
from services.strategy.handler import lambda_handler
from shared.events.catalog import route_for
from shared.runtime.published_facts import event_digest, member
from tests.conftest import LambdaContextStub, load_test_event
from tests.fakes.aws_from_template import create_table
from tests.fakes.bus_probe import BusProbe
from tests.fakes.fake_alpaca import FakeAlpaca

BUS = "alchemiser-trading-events-test"
SECRET = "alchemiser/test/alpaca"


@dataclass
class Aws:
    table: str
    probe: BusProbe

    def delivered(self) -> list[dict[str, Any]]:
        return self.probe.delivered()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, state_dir, fake_alpaca: FakeAlpaca) -> Iterator[Aws]:
    with mock_aws():
        table = create_table("IdempotencyTable")
        boto3.client("secretsmanager").create_secret(
            Name=SECRET, SecretString=json.dumps({"api_key": fake_alpaca.api_key, "secret_key": "fake-secret"}))
        boto3.client("events").create_event_bus(Name=BUS)
        probe = BusProbe.on(BUS, {"source": ["alchemiser.strategy"]})
        for name, value in {"ALCHEMISER_BACKEND": "aws", "ALCHEMISER_STATE_DIR": str(state_dir),
                            "ALCHEMISER_IDEMPOTENCY_TABLE": table, "ALCHEMISER_EVENT_BUS_NAME": BUS,
                            "ALCHEMISER_ALPACA_SECRET_NAME": SECRET,
                            "ALCHEMISER_ALPACA_TRADING_URL": fake_alpaca.url,
                            "ALCHEMISER_MARKET_DATA": "offline",  # bars: the offline history (no data server here)
                            "ALCHEMISER_AS_OF": "2026-11-25T09:35:00-05:00"}.items():
            monkeypatch.setenv(name, value)
        yield Aws(table, probe)


def test_a_scheduled_run_publishes_on_the_bus_and_a_cold_container_sees_it_as_a_duplicate(aws, fake_alpaca):
    event = load_test_event("eventbridge-scheduler-trade.json")
    first = lambda_handler(copy.deepcopy(event), LambdaContextStub())
    assert (first["status"], first["mode"], first["trading_mode"]) == ("success", "trade", "paper")
    envelopes = aws.delivered()
    assert [e["detail-type"] for e in envelopes] == ["WorkflowStarted", "SignalGenerated"]
    assert {e["source"] for e in envelopes} == {"alchemiser.strategy"}
    assert envelopes[1]["detail"]["data_as_of"] == "2026-11-24"
    assert fake_alpaca.requests_to("GET /v2/calendar")  # the trading day came from Alpaca's calendar

    items = boto3.client("dynamodb").scan(TableName=aws.table)["Items"]
    [fact] = [i for i in items if i["id"]["S"].startswith("strategy-workflow#")]  # for its consumers to check
    assert fact["id"]["S"] == "strategy-workflow#run-2026-11-25-paper"
    published = [member(e["detail"]["event_id"], event_digest(route_for(e["detail-type"]).model.model_validate(
        e["detail"]))) for e in envelopes]  # both: the orchestrator checks WorkflowStarted too
    assert sorted(fact["members"]["SS"]) == sorted(published)
    [item] = [i for i in items if i["id"]["S"].startswith("strategy-run#")]
    assert item["status"]["S"] == "COMPLETED"
    assert json.loads(item["data"]["S"])["correlation_id"] == "run-2026-11-25-paper"

    clear_cache()
    again = lambda_handler(load_test_event("direct-trade-event.json"), LambdaContextStub())
    assert again["status"] == "duplicate" and again["published"] == []
    assert aws.delivered() == []


def test_in_aws_a_holiday_on_alpacas_calendar_skips_the_run(aws, fake_alpaca):
    fake_alpaca.set_holiday(date(2026, 11, 25))  # a session for the offline calendar: Alpaca's answer wins
    response = lambda_handler(load_test_event("eventbridge-scheduler-trade.json"), LambdaContextStub())
    assert response["status"] == "skipped"
    assert response["message"].startswith("market closed on 2026-11-25 (Wednesday): holiday")
    assert aws.delivered() == []
