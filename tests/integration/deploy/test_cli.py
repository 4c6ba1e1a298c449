"""The operator's commands with `--stage dev` against the stack moto's CloudFormation created.

The real CLI runs in a subprocess with nothing but the environment an operator has: credentials, a
region and AWS_ENDPOINT_URL (botocore reads it natively), here pointing at the moto server. What
each command did is then read back from moto: a probe queue subscribed to the bus for `send` and
`replay` (moto runs no Lambda code, so the functions cannot report), the DLQ and the Lambda Invoke
calls moto received for `dlq redrive`, the deployed table, parameter, queue and alarms for `status`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from alchemiser.commands.aws import rule_names, stage_names
from alchemiser.commands.status import alarm_names
from services.orchestrator.adapters.dynamodb_workflow_store import DynamoDBWorkflowStore
from shared.runtime.clock import NEW_YORK
from tests.conftest import PROJECT_ROOT, TEST_EVENTS
from tests.fakes.fake_alpaca import running_fake_alpaca
from tests.integration.deploy.conftest import FAKE_AWS_ENV
from tests.integration.deploy.records import BROKER_DOWN, a_workflow_record
from tests.integration.deploy.stack import Deployment

pytestmark = pytest.mark.timeout(180)

SIGNAL = TEST_EVENTS / "signal-generated.json"


def alchemiser(deployment: Deployment, *argv: str, env: dict[str, str] | None = None,
               stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`alchemiser ARGV` as an operator runs it, against the moto server (no other test plumbing)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ALCHEMISER_"))}
    environment.update(FAKE_AWS_ENV)
    environment["AWS_ENDPOINT_URL"] = deployment.endpoint
    environment.update(env or {})
    script = Path(sys.executable).with_name("alchemiser")
    return subprocess.run([str(script), *argv], env=environment, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          input=stdin, timeout=120, check=False)


@pytest.fixture(scope="module")
def probe(deployment: Deployment) -> Iterator[str]:
    """A queue behind a rule that matches every alchemiser.* event on the stage's bus: what reached the bus."""
    sqs, events = deployment.client("sqs"), deployment.client("events")
    url = sqs.create_queue(QueueName="deploy-test-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stage_names(deployment.stage)["bus"]
    events.put_rule(Name="deploy-test-probe", EventBusName=bus,
                    EventPattern=json.dumps({"source": [{"prefix": "alchemiser."}]}))
    events.put_targets(Rule="deploy-test-probe", EventBusName=bus, Targets=[{"Id": "probe", "Arn": arn}])
    yield url
    events.remove_targets(Rule="deploy-test-probe", EventBusName=bus, Ids=["probe"])
    events.delete_rule(Name="deploy-test-probe", EventBusName=bus)


def drain(deployment: Deployment, url: str) -> list[dict[str, Any]]:
    sqs, bodies = deployment.client("sqs"), list[dict[str, Any]]()
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return bodies
        for message in batch:
            bodies.append(json.loads(message["Body"]) if message["Body"].startswith("{") else message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def dlq_url(deployment: Deployment) -> str:
    url: str = deployment.client("sqs").get_queue_url(QueueName=stage_names(deployment.stage)["dlq"])["QueueUrl"]
    return url


def dlq_depth(deployment: Deployment) -> int:
    attributes = deployment.client("sqs").get_queue_attributes(
        QueueUrl=dlq_url(deployment), AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def archived(deployment: Deployment) -> int:
    name = stage_names(deployment.stage)["archive"]
    return int(deployment.client("events").describe_archive(ArchiveName=name)["EventCount"])


def send_signal(deployment: Deployment, correlation_id: str) -> subprocess.CompletedProcess[str]:
    envelope = json.loads(SIGNAL.read_text(encoding="utf-8"))
    envelope["detail"]["correlation_id"] = correlation_id
    path = Path(f"/tmp/deploy-test-{correlation_id}.json")
    path.write_text(json.dumps(envelope), encoding="utf-8")
    try:
        return alchemiser(deployment, "send", "--stage", "dev", "--source", envelope["source"],
                          "--detail-type", envelope["detail-type"], "--detail", str(path), "--json")
    finally:
        path.unlink()


def function_arn(deployment: Deployment, name: str) -> str:
    arn: str = deployment.client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    return arn


def test_send_puts_the_event_on_the_stages_bus_where_the_archive_keeps_it_and_the_rules_route_it(
        deployment: Deployment, probe: str, lambda_invocations: list[dict[str, Any]]) -> None:
    drain(deployment, probe)
    lambda_invocations.clear()
    before = archived(deployment)
    correlation_id = f"run-send-{uuid.uuid4().hex[:8]}"
    result = send_signal(deployment, correlation_id)
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)
    assert entry["EventId"] and "ErrorCode" not in entry
    (delivered,) = drain(deployment, probe)
    assert delivered["id"] == entry["EventId"]
    assert (delivered["source"], delivered["detail-type"]) == ("alchemiser.strategy", "SignalGenerated")
    assert delivered["detail"]["correlation_id"] == correlation_id
    assert archived(deployment) == before + 1
    # SignalGeneratedRule -> portfolio, AllEventsToOrchestratorRule -> orchestrator, asynchronously
    routed = sorted((c["function"], c["type"]) for c in lambda_invocations
                    if json.loads(c["payload"])["id"] == entry["EventId"])
    assert routed == sorted([(function_arn(deployment, "alchemiser-portfolio-dev"), "Event"),
                             (function_arn(deployment, "alchemiser-orchestrator-dev"), "Event")])


def test_replay_starts_an_archive_replay_that_redelivers_to_the_bus_and_follows_it_to_completed(
        deployment: Deployment, probe: str, lambda_invocations: list[dict[str, Any]]) -> None:
    correlation_id = f"run-replay-{uuid.uuid4().hex[:8]}"
    envelope = json.loads(SIGNAL.read_text(encoding="utf-8"))
    envelope["detail"]["correlation_id"] = correlation_id
    put = deployment.client("events").put_events(Entries=[{
        "Source": envelope["source"], "DetailType": envelope["detail-type"], "Detail": json.dumps(envelope["detail"]),
        "EventBusName": stage_names(deployment.stage)["bus"]}])
    assert put["FailedEntryCount"] == 0
    drain(deployment, probe)
    lambda_invocations.clear()
    today = datetime.now(NEW_YORK).date().isoformat()
    name = f"deploy-test-{uuid.uuid4().hex[:6]}"
    result = alchemiser(deployment, "replay", "--stage", "dev", "--from", today, "--to", today, "--name", name)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["replay_name"] == name and summary["state"] == "COMPLETED"
    assert f"replay {name}: COMPLETED" in result.stderr
    replay = deployment.client("events").describe_replay(ReplayName=name)
    assert replay["EventSourceArn"].endswith(f"archive/{stage_names(deployment.stage)['archive']}")
    replayed = [e for e in drain(deployment, probe) if e.get("replay-name") == name]
    assert correlation_id in {e["detail"]["correlation_id"] for e in replayed}
    portfolio = function_arn(deployment, "alchemiser-portfolio-dev")
    to_portfolio = [json.loads(c["payload"]) for c in lambda_invocations if c["function"] == portfolio]
    assert correlation_id in {p["detail"]["correlation_id"] for p in to_portfolio if p.get("replay-name") == name}


def test_replay_to_a_rule_the_template_does_not_declare_is_refused_before_anything_starts(
        deployment: Deployment) -> None:
    today = datetime.now(NEW_YORK).date().isoformat()
    result = alchemiser(deployment, "replay", "--stage", "dev", "--from", today, "--to", today,
                        "--rule", "NoSuchRule", "--name", "deploy-test-refused")
    assert result.returncode != 0
    assert "no rule 'NoSuchRule' in the template" in result.stderr
    replays = deployment.client("events").list_replays(NamePrefix="deploy-test-refused")["Replays"]
    assert replays == []


def test_dlq_list_show_and_redrive_send_each_message_back_to_the_function_it_failed_in(
        deployment: Deployment, lambda_invocations: list[dict[str, Any]]) -> None:
    sqs, events, url = deployment.client("sqs"), deployment.client("events"), dlq_url(deployment)
    names = stage_names(deployment.stage)
    rule = rule_names(deployment.stage)["SignalGeneratedRule"]
    (target,) = events.list_targets_by_rule(Rule=rule, EventBusName=names["bus"])["Targets"]
    rule_arn = events.describe_rule(Name=rule, EventBusName=names["bus"])["Arn"]
    event = json.loads(SIGNAL.read_text(encoding="utf-8"))
    # as EventBridge dead-letters a rule target's failed delivery: the event, and why in attributes
    from_rule = sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event), MessageAttributes={
        "RULE_ARN": {"DataType": "String", "StringValue": rule_arn},
        "TARGET_ARN": {"DataType": "String", "StringValue": target["Arn"]},
        "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"},
        "ERROR_MESSAGE": {"DataType": "String", "StringValue": "Lambda throttled"},
        "RETRY_ATTEMPTS": {"DataType": "String", "StringValue": "3"}})["MessageId"]
    # as Lambda's on-failure destination records an async invocation that failed in the function
    execution = deployment.client("lambda").get_function(FunctionName="alchemiser-execution-dev")["Configuration"]
    planned = json.loads((TEST_EVENTS / "rebalance-planned.json").read_text(encoding="utf-8"))
    from_lambda = sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
        "version": "1.0", "timestamp": "2026-11-25T14:36:00.000Z",
        "requestContext": {"requestId": "r-1", "functionArn": execution["FunctionArn"] + ":$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": planned,
        "responsePayload": {"errorMessage": "BrokerUnavailable: timed out", "errorType": "BrokerUnavailable"}}))[
        "MessageId"]

    listed = alchemiser(deployment, "dlq", "list", "--stage", "dev", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["message_id"]: r for r in json.loads(listed.stdout)}
    assert set(rows) == {from_rule, from_lambda}
    assert rows[from_rule]["target"] == target["Arn"] and rows[from_rule]["rule"] == rule_arn
    assert rows[from_rule]["detail_type"] == "SignalGenerated"
    assert rows[from_rule]["error"] == "SDK_CLIENT_ERROR: Lambda throttled"
    assert rows[from_lambda]["target"] == execution["FunctionArn"]
    assert rows[from_lambda]["error"] == "BrokerUnavailable: timed out"

    shown = alchemiser(deployment, "dlq", "show", from_rule, "--stage", "dev")
    assert shown.returncode == 0, shown.stderr
    assert f"message {from_rule}" in shown.stdout and "Lambda throttled" in shown.stdout
    assert event["detail"]["correlation_id"] in shown.stdout
    assert dlq_depth(deployment) == 2  # reading hides nothing

    lambda_invocations.clear()
    redriven = alchemiser(deployment, "dlq", "redrive", "--all", "--stage", "dev")
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    assert "redrove 2 message(s): 2 accepted" in redriven.stdout
    assert dlq_depth(deployment) == 0
    calls = {(c["function"], c["type"]): json.loads(c["payload"]) for c in lambda_invocations}
    assert calls == {(target["Arn"], "Event"): event, (execution["FunctionArn"], "Event"): planned}


def test_dlq_show_of_an_unknown_id_says_so_and_changes_nothing(deployment: Deployment) -> None:
    result = alchemiser(deployment, "dlq", "show", "no-such-id", "--stage", "dev")
    assert result.returncode == 1
    assert "no such message: no-such-id" in result.stderr


def test_status_reads_the_deployed_table_switch_queue_alarms_and_the_stages_alpaca_account(
        deployment: Deployment) -> None:
    dynamodb, table = deployment.client("dynamodb"), deployment.physical["WorkflowTable"]
    store = DynamoDBWorkflowStore(table, dynamodb)
    saved = [a_workflow_record(day=0), a_workflow_record(day=1, status="failed", failure=BROKER_DOWN)]
    for record in saved:
        assert store.save(record, expected_version=0)
    # the guide's "Create the Alpaca secret" step; the stack reads the secret, never creates it
    deployment.client("secretsmanager").create_secret(
        Name="alchemiser/dev/alpaca", SecretString=json.dumps({"api_key": "PKFAKEKEY", "secret_key": "fake-secret"}))
    names = alarm_names(deployment.stage)
    deployment.client("cloudwatch").set_alarm_state(AlarmName="alchemiser-dev-workflow-failed", StateValue="ALARM",
                                                    StateReason="1 workflow failed")
    deployment.client("sqs").send_message(QueueUrl=dlq_url(deployment), MessageBody="{}")
    try:
        with running_fake_alpaca() as fake:
            fake.set_price("SPY", "400")
            fake.set_position("SPY", "10", avg_entry_price="390")
            env = {"ALCHEMISER_ALPACA_TRADING_URL": fake.url}
            result = alchemiser(deployment, "status", "--stage", "dev", "--json", env=env)
            text = alchemiser(deployment, "status", "--stage", "dev", env=env)
    finally:
        drain(deployment, dlq_url(deployment))  # PurgeQueue: once a minute only
    assert result.returncode == 0, result.stdout + result.stderr
    status = json.loads(result.stdout)
    assert status["where"] == "stage dev" and "problems" not in status
    assert [w["correlation_id"] for w in status["workflows"]] == [r.correlation_id for r in reversed(saved)]
    assert status["workflows"][0]["failure"] == "execution: BrokerUnavailable: timed out"
    default_switch = deployment.template["Parameters"]["KillSwitch"]["Default"]
    assert status["kill_switch"]["state"] == deployment.parameters.get("KillSwitch", default_switch)
    assert status["dlq_depth"] == 1
    assert status["alarms"]["declared"] == status["alarms"]["found"] == len(names)
    assert status["alarms"]["missing"] == []
    assert [a["name"] for a in status["alarms"]["in_alarm"]] == ["alchemiser-dev-workflow-failed"]
    assert [(p["symbol"], p["qty"]) for p in status["account"]["positions"]] == [("SPY", "10")]
    assert status["account"]["source"] == "Alpaca paper (secret alchemiser/dev/alpaca)"
    assert text.returncode == 0, text.stdout
    assert f"Alarms: 1 in ALARM of {len(names)} deployed" in text.stdout
    assert "fake-secret" not in text.stdout + text.stderr + result.stdout + result.stderr


def test_status_of_a_stage_that_is_not_deployed_says_what_it_could_not_read(deployment: Deployment) -> None:
    result = alchemiser(deployment, "status", "--stage", "prod", "--json")
    assert result.returncode == 1
    status = json.loads(result.stdout)
    problems = "\n".join(status["problems"])
    assert "workflows: not found on stage prod" in problems
    assert "dlq_depth: not found on stage prod" in problems
    assert status["alarms"]["found"] == 0 and len(status["alarms"]["missing"]) == status["alarms"]["declared"]


def test_dlq_redrive_to_a_function_that_is_not_deployed_fails_closed_and_keeps_the_message(
        deployment: Deployment, lambda_invocations: list[dict[str, Any]]) -> None:
    sqs, url = deployment.client("sqs"), dlq_url(deployment)
    drain(deployment, url)
    gone = "arn:aws:lambda:us-east-1:123456789012:function:alchemiser-portfolio-prod"
    message_id = sqs.send_message(QueueUrl=url, MessageBody=SIGNAL.read_text(encoding="utf-8"), MessageAttributes={
        "TARGET_ARN": {"DataType": "String", "StringValue": gone}})["MessageId"]
    lambda_invocations.clear()
    result = alchemiser(deployment, "dlq", "redrive", message_id, "--stage", "dev")
    assert result.returncode == 1
    assert "not found on stage dev" in result.stderr and "alchemiser-portfolio-prod" in result.stderr
    assert lambda_invocations == []
    kept = alchemiser(deployment, "dlq", "list", "--stage", "dev", "--json")
    assert [r["message_id"] for r in json.loads(kept.stdout)] == [message_id]
    drain(deployment, url)
