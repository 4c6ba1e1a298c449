"""Event routing in the template: valid patterns, every published event type routed, and the rules
deliver the sample events in test-events/ where the route table says (local matcher and moto agree).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

import shared.events
from alchemiser.local.event_patterns import PatternError, compile_pattern
from alchemiser.local.template import load_template
from shared.events.base import DomainEvent
from shared.events.catalog import EVENT_TYPES, ROUTES
from tests.conftest import TEST_EVENTS
from tests.infra import cfn

TPL = load_template()
RULE_NAMES = {lid: str(cfn.resolver().resolve(res["Properties"]["Name"]))
              for lid, res in cfn.resources("AWS::Events::Rule").items()}


def _patterns() -> dict[str, Any]:
    found = {lid: res["Properties"]["EventPattern"] for lid, res in cfn.resources("AWS::Events::Rule").items()}
    found |= {lid: res["Properties"]["EventPattern"] for lid, res in cfn.resources("AWS::Events::Archive").items()}
    return found


@pytest.mark.parametrize("logical_id", sorted(_patterns()))
def test_every_rule_and_archive_pattern_uses_only_operators_eventbridge_knows(logical_id):
    compile_pattern(cfn.resolver().resolve(_patterns()[logical_id]))


def test_an_unknown_operator_in_a_modified_copy_is_refused():
    template = cfn.raw()
    template["Resources"]["AllEventsToOrchestratorRule"]["Properties"]["EventPattern"] = {
        "source": [{"prefixx": "alchemiser."}]}
    with pytest.raises(PatternError):
        compile_pattern(template["Resources"]["AllEventsToOrchestratorRule"]["Properties"]["EventPattern"])


def test_the_archive_keeps_every_alchemiser_event_for_365_days():
    (archive,) = cfn.resources("AWS::Events::Archive").values()
    props = archive["Properties"]
    assert props["RetentionDays"] == 365
    assert props["SourceArn"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    pattern = compile_pattern(props["EventPattern"])
    for route in ROUTES.values():
        for source in route.sources:
            assert pattern.matches({"source": source, "detail-type": route.detail_type, "detail": {}})


def _domain_event_classes() -> set[type[DomainEvent]]:
    for info in pkgutil.iter_modules(shared.events.__path__):
        importlib.import_module(f"shared.events.{info.name}")
    found: set[type[DomainEvent]] = set()
    stack = list(DomainEvent.__subclasses__())
    while stack:
        cls = stack.pop()
        found.add(cls)
        stack += cls.__subclasses__()
    return {cls for cls in found if "detail_type" in vars(cls)}


def test_every_event_type_the_code_can_publish_is_routed_by_a_rule_or_documented_as_terminal():
    classes = _domain_event_classes()
    assert classes == set(EVENT_TYPES), "a DomainEvent type is missing from shared/events/catalog.py ROUTES"
    rules = {r.logical_id for r in TPL.rules}
    for cls in classes:
        route = EVENT_TYPES[cls]
        assert route.detail_type == cls.detail_type
        assert set(route.rules) <= rules, (cls.detail_type, set(route.rules) - rules)
        assert route.rules or route.note.startswith("terminal"), cls.detail_type


def _samples() -> dict[str, dict[str, Any]]:
    """The domain events among test-events/ (EventBridge envelopes from an alchemiser.* source)."""
    samples = {}
    for path in sorted(TEST_EVENTS.glob("*.json")):
        event = json.loads(path.read_text())
        if isinstance(event, dict) and str(event.get("source", "")).startswith("alchemiser."):
            samples[path.name] = event
    return samples


def _key(event: dict[str, Any]) -> str:
    return json.dumps([event["detail-type"], event["source"], event["detail"]], sort_keys=True)


def test_there_is_a_sample_event_for_every_routed_event_type():
    assert {e["detail-type"] for e in _samples().values()} >= set(ROUTES)


def test_the_local_matcher_routes_each_sample_to_the_functions_the_route_table_names():
    for name, event in _samples().items():
        matched = [r for r in TPL.rules if compile_pattern(r.pattern).matches(event)]
        route = ROUTES[event["detail-type"]]
        assert {r.logical_id for r in matched} == set(route.rules), name
        services = {TPL.functions[t.function].service for r in matched for t in r.targets}
        assert services == set(route.consumers), name


@pytest.fixture(scope="module")
def delivered_by_moto() -> Iterator[dict[str, set[str]]]:
    """Rule logical id -> the samples moto's EventBridge delivered through it (targets swapped for SQS)."""
    with pytest.MonkeyPatch.context() as env:
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            env.delenv(key, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            events = boto3.client("events", region_name="us-east-1")
            sqs = boto3.client("sqs", region_name="us-east-1")
            events.create_event_bus(Name=TPL.bus_name)
            queues = {}
            for rule in TPL.rules:
                url = sqs.create_queue(QueueName=rule.logical_id)["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                events.put_rule(Name=RULE_NAMES[rule.logical_id], EventBusName=TPL.bus_name,
                                EventPattern=json.dumps(rule.pattern), State="ENABLED")
                events.put_targets(Rule=RULE_NAMES[rule.logical_id], EventBusName=TPL.bus_name,
                                   Targets=[{"Id": "queue", "Arn": arn}])
                queues[rule.logical_id] = url
            entries = [{"EventBusName": TPL.bus_name, "Source": e["source"], "DetailType": e["detail-type"],
                        "Detail": json.dumps(e["detail"]), "Resources": e["resources"]} for e in _samples().values()]
            for start in range(0, len(entries), 10):
                result = events.put_events(Entries=entries[start:start + 10])
                assert result["FailedEntryCount"] == 0, result
            by_key = {_key(e): name for name, e in _samples().items()}
            delivered: dict[str, set[str]] = {}
            for logical_id, url in queues.items():
                got: list[str] = []
                while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
                    got += [by_key[_key(json.loads(m["Body"]))] for m in messages]
                    sqs.delete_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
                assert len(got) == len(set(got)), (logical_id, got)
                delivered[logical_id] = set(got)
            yield delivered


def test_moto_delivers_each_sample_through_exactly_the_rules_the_local_matcher_picks(delivered_by_moto):
    for rule in TPL.rules:
        expected = {name for name, e in _samples().items() if compile_pattern(rule.pattern).matches(e)}
        assert delivered_by_moto[rule.logical_id] == expected, rule.logical_id
    assert delivered_by_moto["AllEventsToOrchestratorRule"] == set(_samples())


def test_every_rule_target_is_a_function_with_retries_a_dead_letter_queue_and_an_invoke_permission():
    permissions = {(p["Properties"]["SourceArn"]["Fn::GetAtt"][0], p["Properties"]["FunctionName"]["Ref"])
                   for p in cfn.resources("AWS::Lambda::Permission").values()}
    dlq_policy = cfn.resources("AWS::SQS::QueuePolicy")["EventDLQPolicy"]["Properties"]["PolicyDocument"]
    (allow,) = [s for s in dlq_policy["Statement"] if s["Effect"] == "Allow"]
    allowed_sources = {ref["Fn::GetAtt"][0] for ref in allow["Condition"]["ArnEquals"]["aws:SourceArn"]}
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    for lid, res in cfn.resources("AWS::Events::Rule").items():
        for target in res["Properties"]["Targets"]:
            assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}, lid
            assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["EventDLQ", "Arn"]}}, lid
            if lid in NOTIFYING_RULES:
                continue
            function = target["Arn"]["Fn::GetAtt"][0]
            assert (lid, function) in permissions, f"{lid}: no lambda:InvokeFunction permission for {function}"
        assert lid in allowed_sources, f"{lid} cannot dead-letter: not in the DLQ's queue policy"
        if lid not in NOTIFYING_RULES:
            assert res["Properties"]["EventBusName"] == {"Ref": "EventBus"}, lid


NOTIFYING_RULES = {"KillSwitchChangedRule"}
"""Rules on the account's default bus (AWS services' events) whose target is the notification topic."""


def test_a_kill_switch_change_reaches_the_topic_and_only_that_parameters_changes_match():
    rule = cfn.resources("AWS::Events::Rule")["KillSwitchChangedRule"]["Properties"]
    assert "EventBusName" not in rule, "Parameter Store's events arrive on the default bus"
    assert rule["EventPattern"] == {"source": ["aws.ssm"], "detail-type": ["Parameter Store Change"],
                                    "detail": {"name": [{"Ref": "KillSwitchParameter"}]}}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": "NotificationTopic"}
    template = target["InputTransformer"]["InputTemplate"]
    assert set(re.findall(r"<(\w+)>", cfn.text(template))) == set(target["InputTransformer"]["InputPathsMap"])
    topic_policy = cfn.resources("AWS::SNS::TopicPolicy")["NotificationTopicPolicy"]["Properties"]["PolicyDocument"]
    (allow,) = [s for s in topic_policy["Statement"] if s.get("Sid") == "AllowTheKillSwitchChangeRule"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["KillSwitchChangedRule", "Arn"]}}}
    name = cfn.resolver({"Stage": "prod"}).resolve({"Ref": "KillSwitchParameter"})
    change = {"source": "aws.ssm", "detail-type": "Parameter Store Change",
              "detail": {"name": name, "operation": "Update", "type": "String"}}
    pattern = cfn.resolver({"Stage": "prod"}).resolve(rule["EventPattern"])
    assert compile_pattern(pattern).matches(change)
    assert not compile_pattern(pattern).matches({**change, "detail": {**change["detail"], "name": "/other"}})


def test_the_dead_letter_queue_is_named_per_stage():
    queue = cfn.resources("AWS::SQS::Queue")["EventDLQ"]["Properties"]["QueueName"]
    assert cfn.resolver({"Stage": "prod"}).resolve(queue) == "alchemiser-event-dlq-prod"
