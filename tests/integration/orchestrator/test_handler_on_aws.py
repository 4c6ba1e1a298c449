"""The orchestrator handler in AWS mode on moto: WorkflowTable from the template, SNS, EventBridge.

Published events are caught by a rule on the bus that targets an SQS queue; notifications by an
SQS queue subscribed to the topic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from services.orchestrator.adapters.sns_notifier import SnsNotifier
from services.orchestrator.dependencies import clear_cache
from tests.conftest import load_test_event
from tests.fakes.aws_from_template import create_table
from tests.fakes.facts import record_published
from tests.unit.orchestrator.support import T0, sample

BUS = "alchemiser-trading-events-dev"


@dataclass
class Aws:
    table: str
    topic_arn: str
    events_queue: str
    notes_queue: str

    def drain(self, url: str) -> list[dict[str, Any]]:
        sqs, out = boto3.client("sqs"), []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return out
            for message in batch:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def published(self) -> list[tuple[str, str]]:
        return [(e["detail-type"], e["detail"]["event_id"]) for e in self.drain(self.events_queue)]

    def notifications(self) -> list[tuple[str, str]]:
        return [(n["Subject"], n["Message"]) for n in self.drain(self.notes_queue)]


@pytest.fixture
def aws(monkeypatch) -> Iterator[Aws]:
    clear_cache()
    with mock_aws():
        table, claims = create_table("WorkflowTable"), create_table("IdempotencyTable")
        sqs, sns, events = boto3.client("sqs"), boto3.client("sns"), boto3.client("events")
        events_queue = sqs.create_queue(QueueName="published")["QueueUrl"]
        notes_queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]

        def arn(url: str) -> str:
            return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        topic_arn = sns.create_topic(Name="alchemiser-notifications-dev")["TopicArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn(notes_queue))
        events.create_event_bus(Name=BUS)
        pattern = json.dumps({"source": [{"prefix": "alchemiser."}]})
        events.put_rule(Name="catch-all", EventBusName=BUS, EventPattern=pattern)
        events.put_targets(Rule="catch-all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn(events_queue)}])
        for name, value in {"ALCHEMISER_WORKFLOW_TABLE": table, "ALCHEMISER_NOTIFICATION_TOPIC_ARN": topic_arn,
                            "ALCHEMISER_EVENT_BUS_NAME": BUS, "ALCHEMISER_BACKEND": "aws",
                            "ALCHEMISER_IDEMPOTENCY_TABLE": claims}.items():
            monkeypatch.setenv(name, value)
        yield Aws(table, topic_arn, events_queue, notes_queue)
    clear_cache()


def published(name: str, **detail: Any) -> dict[str, Any]:
    """A sample event as its producer published it: recorded in the IdempotencyTable (moto) first."""
    event = load_test_event(name)
    event["detail"].update(detail)
    record_published(event)
    return event


def test_trade_executed_twice_completes_once_publishes_once_and_reports_once(aws, lambda_context):
    from services.orchestrator.handler import lambda_handler

    first = lambda_handler(published("trade-executed.json"), lambda_context)
    second = lambda_handler(load_test_event("trade-executed.json"), lambda_context)
    assert (first["status"], second["status"]) == ("success", "duplicate")
    assert aws.published() == [("WorkflowCompleted", "15bc2664-d09e-53b4-be7f-43d12a3a6bda")]
    (subject, message), = aws.notifications()
    assert subject.startswith("Alchemiser [paper] 2026-11-25: completed")
    assert "ORDERS AND FILLS" in message
    facts = boto3.client("dynamodb").get_item(TableName=os.environ["ALCHEMISER_IDEMPOTENCY_TABLE"], Key={
        "id": {"S": "orchestrator-published#run-2026-11-25-paper"}})["Item"]["members"]["SS"]
    assert [m.split("=")[0] for m in facts] == ["15bc2664-d09e-53b4-be7f-43d12a3a6bda"]  # what it published


def test_a_hand_made_trade_executed_is_refused_through_the_dynamodb_facts(aws, lambda_context):
    from services.orchestrator.handler import lambda_handler

    refused = lambda_handler(load_test_event("trade-executed.json"), lambda_context)
    assert (refused["status"], refused["error_type"], refused["published"]) == ("failed", "UnverifiedEvent", [])
    assert aws.published() == [] and aws.notifications() == []


def test_an_error_notification_reaches_the_topic_once_and_publishes_nothing(aws, lambda_context):
    from services.orchestrator.handler import lambda_handler

    event = published("eventbridge-error-notification.json")
    assert lambda_handler(event, lambda_context)["status"] == "success"
    assert lambda_handler(event, lambda_context)["status"] == "duplicate"
    (subject, message), = aws.notifications()
    assert subject == "Alchemiser [n/a] ERROR: StrategyExecutionError in test-123" and "Test error" in message
    assert aws.published() == []


def test_the_stuck_check_finds_open_workflows_through_the_sparse_index(aws, lambda_context, monkeypatch):
    from services.orchestrator.handler import lambda_handler

    monkeypatch.setenv("ALCHEMISER_AS_OF", T0.isoformat())
    lambda_handler(published("workflow-started.json"), lambda_context)
    lambda_handler(published("trade-executed.json", correlation_id="other-run"), lambda_context)
    aws.published(), aws.notifications()
    monkeypatch.setenv("ALCHEMISER_AS_OF", (T0 + timedelta(minutes=45)).isoformat())
    warned = lambda_handler({"action": "check_stuck_workflows"}, lambda_context)
    assert warned["checked"] == 1 and warned["warned"] == ["run-2026-11-25-paper"] and warned["stuck"] == []
    assert [t for t, _ in aws.published()] == ["ErrorNotificationRequested"]
    monkeypatch.setenv("ALCHEMISER_AS_OF", (T0 + timedelta(minutes=245)).isoformat())
    response = lambda_handler({"action": "check_stuck_workflows"}, lambda_context)
    assert response["checked"] == 1 and response["stuck"] == ["run-2026-11-25-paper"]
    assert [t for t, _ in aws.published()] == ["WorkflowFailed", "ErrorNotificationRequested"]
    again = lambda_handler({"action": "check_stuck_workflows"}, lambda_context)
    assert (again["checked"], again["stuck"]) == (0, [])


def test_a_service_failure_publishes_one_error_request_on_the_bus(aws, lambda_context):
    from services.orchestrator.handler import lambda_handler

    lambda_handler(published("workflow-failed.json"), lambda_context)
    lambda_handler(published("workflow-failed.json"), lambda_context)
    assert aws.published() == [("ErrorNotificationRequested", sample("ErrorNotificationRequested").event_id)]


def test_sns_refusing_the_message_raises_from_the_notifier(aws):
    notifier = SnsNotifier(aws.topic_arn.replace("alchemiser-notifications-dev", "deleted-topic"))
    with pytest.raises(Exception, match=r"NotFound|does not exist"):
        notifier.send("subject", "message")


def test_the_sns_subject_is_cut_to_100_ascii_characters(aws):
    SnsNotifier(aws.topic_arn).send("\u26a0 " + "x" * 150, "body")
    (subject, message), = aws.notifications()
    assert len(subject) == 100 and subject.isascii() and message == "body"
