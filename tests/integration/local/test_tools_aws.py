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
    monkeypatch.setattr(aws, "client",
                        lambda service, *where: lam if service == "lambda" else real_client(service, *where))
    monkeypatch.setattr("alchemiser.commands.dlq.client", aws.client)
    with stub:
        assert cli.main(["dlq", "redrive", "--all", "--stage", "dev"]) == 0
    assert "2 accepted" in capsys.readouterr().out
    sqs = boto3.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=stage_dlq, AttributeNames=["ApproximateNumberOfMessages",
                                                                          "ApproximateNumberOfMessagesNotVisible"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_dlq_list_hides_nothing_from_the_next_command(stage_dlq, capsys):
    assert cli.main(["dlq", "list", "--stage", "dev", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)[0]["message_id"]
    assert cli.main(["dlq", "show", first, "--stage", "dev", "--json"]) == 0  # right after list: still visible
    assert json.loads(capsys.readouterr().out)[0]["message_id"] == first


def test_dlq_purge_on_a_stage_asks_first(stage_dlq, capsys):
    assert cli.main(["dlq", "purge", "--stage", "dev"]) == 1  # no terminal, no --yes
    assert "pass --yes" in capsys.readouterr().err
    assert cli.main(["dlq", "purge", "--stage", "dev", "--yes"]) == 0
    assert "deleted 2 message(s)" in capsys.readouterr().out
    assert cli.main(["dlq", "list", "--stage", "dev", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@mock_aws
def test_a_missing_queue_is_a_sentence_not_a_traceback(capsys):
    assert cli.main(["dlq", "list", "--stage", "dev"]) == 1
    err = capsys.readouterr().err
    assert "not found on stage dev" in err and "is the stage deployed in us-east-1?" in err


def test_no_region_says_how_to_set_one(monkeypatch, tmp_path, capsys):
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert cli.main(["dlq", "list", "--stage", "dev"]) == 1
    assert "no AWS region: set AWS_DEFAULT_REGION" in capsys.readouterr().err  # as docs/deploy.md says


def test_aws_region_is_honoured_as_well_as_aws_default_region(monkeypatch, capsys):
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with mock_aws():
        boto3.client("sqs", region_name="eu-west-1").create_queue(QueueName=NAMES["dlq"])
        assert cli.main(["dlq", "list", "--stage", "dev", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_no_credentials_says_how_to_configure_them(monkeypatch, tmp_path, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["send", "--stage", "dev", "--source", "alchemiser.strategy", "--detail-type", "SignalGenerated",
                     "--detail", str(TEST_EVENTS / "signal-generated.json")]) == 1
    assert "no AWS credentials" in capsys.readouterr().err


@mock_aws
def test_a_replay_name_already_used_is_a_sentence_and_rules_can_be_picked(capsys):
    events = boto3.client("events")
    bus = events.create_event_bus(Name=NAMES["bus"])["EventBusArn"]
    events.create_archive(ArchiveName=NAMES["archive"], EventSourceArn=bus, RetentionDays=365)
    rule = events.put_rule(Name="alchemiser-signal-generated-dev", EventBusName=NAMES["bus"],
                           EventPattern=json.dumps({"detail-type": ["SignalGenerated"]}))["RuleArn"]
    window = ["--from", "2026-11-25", "--to", "2026-11-25"]
    assert cli.main(["replay", "--stage", "dev", *window, "--name", "r1", "--rule", "SignalGeneratedRule"]) == 0
    out = capsys.readouterr()
    assert "replay r1:" in out.err  # progress, until it ends
    assert events.describe_replay(ReplayName="r1")["Destination"]["FilterArns"] == [rule]
    assert cli.main(["replay", "--stage", "dev", *window, "--name", "r1", "--no-follow"]) == 1
    assert "choose another --name" in capsys.readouterr().err
    assert cli.main(["replay", "--stage", "dev", *window, "--rule", "NoSuchRule"]) == 2
    assert "no rule 'NoSuchRule'" in capsys.readouterr().err
