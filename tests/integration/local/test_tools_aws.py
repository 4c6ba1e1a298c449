"""send, replay and dlq with --stage: the same commands against a deployed stage, on moto."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from alchemiser import cli
from alchemiser.commands import aws
from alchemiser.commands.aws import stage_names
from tests.conftest import TEST_EVENTS
from tests.fakes.aws_from_template import create_queue

NAMES = stage_names("dev")
EXECUTION_ARN = "arn:aws:lambda:us-east-1:1:function:alchemiser-execution-dev"


@mock_aws
def test_send_puts_the_event_on_the_stages_bus(capsys):
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=NAMES["bus"])
    url = sqs.create_queue(QueueName="capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName=NAMES["bus"], EventPattern=json.dumps({"source": ["alchemiser.strategy"]}))
    events.put_targets(Rule="all", EventBusName=NAMES["bus"], Targets=[{"Id": "q", "Arn": arn}])
    code = cli.main(["send", "--stage", "dev", "--source", "alchemiser.strategy", "--detail-type", "SignalGenerated",
                     "--detail", str(TEST_EVENTS / "signal-generated.json"), "--json"])
    assert code == 0 and "EventId" in json.loads(capsys.readouterr().out)
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(message["Body"])["detail"]["correlation_id"] == "run-2026-11-25-paper"


@mock_aws
def test_replay_starts_an_archive_replay_onto_the_stages_bus(capsys):
    events = boto3.client("events")
    bus = events.create_event_bus(Name=NAMES["bus"])["EventBusArn"]
    events.create_archive(ArchiveName=NAMES["archive"], EventSourceArn=bus, RetentionDays=365)
    code = cli.main(["replay", "--stage", "dev", "--from", "2026-11-25T00:00:00Z", "--to", "2026-11-26T00:00:00Z",
                     "--name", "r-test"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["replay_name"] == "r-test"
    assert events.describe_replay(ReplayName="r-test")["EventSourceArn"].endswith(NAMES["archive"])


def test_replay_on_a_stage_needs_a_window(capsys):
    assert cli.main(["replay", "--stage", "dev"]) == 2
    assert "--from and --to" in capsys.readouterr().err


@pytest.fixture
def stage_dlq():
    with mock_aws():
        url = create_queue("EventDLQ")
        sqs = boto3.client("sqs")
        event = json.loads((TEST_EVENTS / "rebalance-planned.json").read_text())
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event), MessageAttributes={
            "RULE_ARN": {"DataType": "String", "StringValue": "arn:aws:events:us-east-1:1:rule/x/RebalancePlanned"},
            "TARGET_ARN": {"DataType": "String", "StringValue": EXECUTION_ARN},
            "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"},
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": "Rate exceeded"}})
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
            "timestamp": "2026-11-25T14:36:00Z",
            "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:alchemiser-portfolio-dev:$LATEST",
                               "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": json.loads((TEST_EVENTS / "signal-generated.json").read_text()),
            "responsePayload": {"errorMessage": "BrokerUnavailable: timed out"}}))
        yield url


def test_dlq_list_reads_rule_and_lambda_destination_messages(stage_dlq, capsys):
    assert cli.main(["dlq", "list", "--stage", "dev", "--json"]) == 0
    rows = sorted(json.loads(capsys.readouterr().out), key=lambda r: r["detail_type"])
    assert [r["detail_type"] for r in rows] == ["RebalancePlanned", "SignalGenerated"]
    assert rows[0]["target"].endswith("alchemiser-execution-dev") and "Rate exceeded" in rows[0]["error"]
    assert rows[1]["target"].endswith("alchemiser-portfolio-dev") and "timed out" in rows[1]["error"]


def test_dlq_redrive_invokes_each_target_and_deletes_what_it_accepted(stage_dlq, monkeypatch, capsys):
    lam = boto3.client("lambda")
    stub = Stubber(lam)
    for _ in range(2):
        stub.add_response("invoke", {"StatusCode": 202})
    real_client = aws.client
    monkeypatch.setattr(aws, "client", lambda service: lam if service == "lambda" else real_client(service))
    monkeypatch.setattr("alchemiser.commands.dlq.client", aws.client)
    with stub:
        assert cli.main(["dlq", "redrive", "--all", "--stage", "dev"]) == 0
    assert "2 accepted" in capsys.readouterr().out
    sqs = boto3.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=stage_dlq, AttributeNames=["ApproximateNumberOfMessages",
                                                                          "ApproximateNumberOfMessagesNotVisible"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"
