"""`{"mode": "plan"}` through the deployed handler in AWS mode on moto (the template's idempotency
table, the bus delivering every event to a queue): the dry run leaves no trace. The same setup's
`{"mode": "trade"}` does publish and record, so the checks below can see an effect when there is one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from services.strategy.dependencies import clear_cache
from services.strategy.handler import lambda_handler
from tests.conftest import LambdaContextStub
from tests.fakes.aws_from_template import create_table
from tests.fakes.bus_probe import BusProbe

BUS = "alchemiser-trading-events-test"


class Deployed:
    def __init__(self, table: str, probe: BusProbe) -> None:
        self.table, self.delivered = table, probe.delivered

    def items(self) -> list[dict[str, Any]]:
        return boto3.client("dynamodb").scan(TableName=self.table)["Items"]


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch, state_dir: Any) -> Iterator[Deployed]:
    clear_cache()
    with mock_aws():
        table = create_table("IdempotencyTable")
        boto3.client("events").create_event_bus(Name=BUS)
        probe = BusProbe.on(BUS, {"source": [{"prefix": ""}]})
        for name, value in {"ALCHEMISER_BACKEND": "aws", "ALCHEMISER_STATE_DIR": str(state_dir),
                            "ALCHEMISER_IDEMPOTENCY_TABLE": table, "ALCHEMISER_EVENT_BUS_NAME": BUS,
                            "ALCHEMISER_MARKET_DATA": "offline", "ALCHEMISER_CALENDAR": "exchange",
                            "ALCHEMISER_AS_OF": "2026-11-25T09:35:00-05:00"}.items():
            monkeypatch.setenv(name, value)
        yield Deployed(table, probe)
    clear_cache()


def test_a_plan_invoke_publishes_nothing_and_writes_no_table_item(deployed):
    response = lambda_handler({"mode": "plan"}, LambdaContextStub())
    assert (response["status"], response["mode"], response["published"]) == ("success", "plan", [])
    assert response["would_start"] is True and response["weights"]
    assert deployed.delivered() == []
    assert deployed.items() == []

    trade = lambda_handler({"mode": "trade"}, LambdaContextStub())  # the run is still to start
    assert trade["status"] == "success", trade["message"]
    assert [e["detail-type"] for e in deployed.delivered()] == ["WorkflowStarted", "SignalGenerated"]
    assert deployed.items()  # the trade run's idempotency record and signal fact
    assert response["weights"] == trade["target_weights"]


def test_a_plan_in_an_eventbridge_envelope_is_as_dry(deployed):
    envelope = {"version": "0", "id": "console-plan-1", "detail-type": "Scheduled Event", "source": "aws.scheduler",
                "account": "123456789012", "time": "2026-11-25T14:35:00Z", "region": "us-east-1",
                "resources": [], "detail": {"mode": "plan"}}
    response = lambda_handler(envelope, LambdaContextStub())
    assert response["status"] == "success" and response["mode"] == "plan"
    assert deployed.delivered() == [] and deployed.items() == []
