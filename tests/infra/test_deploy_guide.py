"""The deploy guide names what the template deploys, so the two cannot drift apart."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PROJECT_ROOT, TEST_EVENTS
from tests.infra import cfn

GUIDE = (PROJECT_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
ORIGINAL_TEST_EVENTS = ("direct-trade-event.json", "eventbridge-scheduler-trade.json",
                        "eventbridge-error-notification.json")


def _names(stage: str) -> dict[str, str]:
    resolve = cfn.resolver({"Stage": stage}).resolve
    keys = {"AWS::Events::EventBus": "Name", "AWS::Events::Archive": "ArchiveName", "AWS::SQS::Queue": "QueueName",
            "AWS::SSM::Parameter": "Name", "AWS::Scheduler::Schedule": "Name",
            "AWS::Serverless::Function": "FunctionName", "AWS::CloudWatch::Dashboard": "DashboardName",
            "AWS::SNS::Topic": "TopicName", "AWS::DynamoDB::Table": "TableName"}
    return {lid: str(resolve(res["Properties"][key])) for kind, key in keys.items()
            for lid, res in cfn.resources(kind).items()}


@pytest.mark.parametrize("name", ORIGINAL_TEST_EVENTS)
def test_the_guide_walks_through_the_three_original_console_test_events(name):
    assert (TEST_EVENTS / name).is_file()
    assert f"test-events/{name}" in GUIDE


def test_the_guide_uses_the_names_the_template_gives_a_dev_stage():
    functions = "alchemiser-{" + ",".join(cfn.SERVICES) + "}-dev"
    for lid, name in _names("dev").items():
        if lid.endswith("Function"):
            assert functions in GUIDE, functions
        else:
            assert name in GUIDE, f"docs/deploy.md does not mention {lid} ({name})"


@pytest.mark.parametrize("step", [
    "sam build", "sam deploy --config-env dev", "create-secret", "Send events", "Start replay",
    "Dashboards", "TradingMode=live", "kill-switch", "put-parameter", "sam delete",
])
def test_the_guide_covers_each_step(step):
    assert step in GUIDE


def test_the_secret_layout_in_the_guide_is_the_one_the_code_reads():
    from shared.broker.credentials import parse_secret

    (example,) = re.findall(r"```json\n(\{\n  \"api_key\".*?\})\n```", GUIDE, re.DOTALL)
    credentials = parse_secret("alchemiser/dev/alpaca", example)
    assert credentials.paper_keys is not None and credentials.live_keys is not None


def test_the_readme_points_to_the_guide():
    assert "docs/deploy.md" in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
