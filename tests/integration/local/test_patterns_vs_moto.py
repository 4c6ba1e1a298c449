"""Our pattern matcher against moto's EventBridge, on the shared case table.

moto implements pattern operators in EventBridge -> SQS delivery (TestEventPattern it does not,
and Lambda targets break put_events), so each case gets its own bus with one rule targeting one
queue; all events are put in batches and every queue is drained once. Where the table records
that moto differs from AWS's documented behaviour, the difference itself is asserted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from alchemiser.local.event_patterns import compile_pattern, matches
from tests.cases.pattern_cases import (
    INVALID_PATTERNS,
    PATTERN_CASES,
    InvalidPattern,
    MotoPutRule,
    PatternCase,
)

REGION = "us-east-1"
PUT_EVENTS_LIMIT = 10
# PutEvents sets these; the rest of moto's envelope (id, time, account...) is its own.
SETTABLE_FIELDS = frozenset({"source", "detail-type", "resources", "detail"})
ABSENT_ON_BOTH_SIDES = frozenset({"replay-name"})


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[Any, Any]]:
    with pytest.MonkeyPatch.context() as env:
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            env.delenv(key, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        with mock_aws():
            yield boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)


def _route_to_queue(events: Any, sqs: Any, bus: str, pattern: dict[str, Any]) -> str:
    events.create_event_bus(Name=bus)
    url: str = sqs.create_queue(QueueName=bus)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="case", EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule="case", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def _entry(bus: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"EventBusName": bus, "Source": event["source"], "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]), "Resources": event["resources"]}


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    return bodies


@pytest.fixture(scope="module")
def delivered(aws: tuple[Any, Any]) -> dict[str, list[dict[str, Any]]]:
    """Case name -> the envelopes moto delivered for it (one, or none)."""
    events, sqs = aws
    queues: dict[str, str] = {}
    entries = []
    for index, case in enumerate(PATTERN_CASES):
        bus = f"pattern-case-{index:03d}"
        queues[case.name] = _route_to_queue(events, sqs, bus, case.pattern)
        entries.append(_entry(bus, case.event))
    for start in range(0, len(entries), PUT_EVENTS_LIMIT):
        response = events.put_events(Entries=entries[start:start + PUT_EVENTS_LIMIT])
        assert response["FailedEntryCount"] == 0, response["Entries"]
    return {name: _drain(sqs, url) for name, url in queues.items()}


def _top_level_fields(pattern: dict[str, Any]) -> set[str]:
    fields = set(pattern) - {"$or"}
    for alternative in pattern.get("$or", []):
        fields |= _top_level_fields(alternative)
    return fields


@pytest.mark.parametrize("case", PATTERN_CASES, ids=lambda c: c.name)
def test_case_only_uses_fields_moto_sees_as_we_do(case: PatternCase) -> None:
    assert _top_level_fields(case.pattern) <= SETTABLE_FIELDS | ABSENT_ON_BOTH_SIDES


@pytest.mark.parametrize("case", PATTERN_CASES, ids=lambda c: c.name)
def test_our_matcher_and_moto_agree_unless_moto_is_known_to_differ(
        case: PatternCase, delivered: dict[str, list[dict[str, Any]]]) -> None:
    moto_matched = len(delivered[case.name]) == 1
    assert len(delivered[case.name]) <= 1
    ours = matches(case.pattern, case.event)
    assert ours is case.expected_match
    if case.moto_differs:
        assert moto_matched is not case.expected_match, (
            f"moto now follows AWS here; drop moto_differs from {case.name!r}. AWS: {case.aws_says}")
    else:
        assert moto_matched is case.expected_match, f"moto delivered: {moto_matched}"


def test_our_matcher_matches_every_envelope_moto_delivered(
        delivered: dict[str, list[dict[str, Any]]]) -> None:
    agreed = [case for case in PATTERN_CASES if not case.moto_differs and case.expected_match]
    assert agreed
    for case in agreed:
        (envelope,) = delivered[case.name]
        assert compile_pattern(case.pattern).matches(envelope), case.name


@pytest.mark.parametrize("case", INVALID_PATTERNS, ids=lambda c: c.name)
def test_moto_validates_patterns_less_than_we_do(case: InvalidPattern, aws: tuple[Any, Any]) -> None:
    events, _ = aws
    text = case.pattern if isinstance(case.pattern, str) else json.dumps(case.pattern)
    bus = f"invalid-{case.name}"
    events.create_event_bus(Name=bus)
    outcome: MotoPutRule
    try:
        events.put_rule(Name="invalid", EventBusName=bus, EventPattern=text, State="ENABLED")
    except ClientError:
        outcome = "rejected"
    except Exception:  # moto's validator assumes a JSON object and raises from inside the mock
        outcome = "crashes"
    else:
        outcome = "accepted"
    assert outcome == case.in_moto
