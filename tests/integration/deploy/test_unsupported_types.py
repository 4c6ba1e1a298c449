"""What moto's CloudFormation cannot create, and where each of those is tested offline instead.

The list of types is not typed in by hand: the deployment takes out what moto has no model for, and
this test requires a mapping for exactly that set. A new resource type that moto lacks fails here
until it has an offline test; a type moto learns fails here until it is checked in test_stack.py.
Two types had no offline test before this deploy; they are tested at the bottom of this file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from alchemiser.local.template import Resolver, parse_template_text
from tests.conftest import PROJECT_ROOT, TEMPLATE
from tests.integration.deploy.stack import MOTO_DROPS_PROPERTIES, Deployment

THIS_FILE = "tests/integration/deploy/test_unsupported_types.py"

OFFLINE_TESTS = {
    "AWS::CloudWatch::Alarm": "tests/infra/test_observability.py",  # and put through CloudWatch by the deploy
    "AWS::Events::EventBusPolicy": "tests/infra/test_bus_policy.py",
    "AWS::Lambda::EventInvokeConfig": "tests/infra/test_iam.py",
    "AWS::SQS::QueuePolicy": "tests/infra/test_routing.py",
    "AWS::SNS::TopicPolicy": "tests/infra/test_routing.py",
    "AWS::Scheduler::Schedule": "tests/infra/test_schedules.py",
    "AWS::S3::BucketPolicy": THIS_FILE,
    "AWS::SNS::Subscription": THIS_FILE,
}

OFFLINE_PROPERTY_TESTS = {
    ("AWS::DynamoDB::Table", "TimeToLiveSpecification"): THIS_FILE,
    ("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification"): THIS_FILE,
}


def test_the_types_moto_cannot_create_are_exactly_the_mapped_ones(deployment: Deployment) -> None:
    assert deployment.removed_types() == set(OFFLINE_TESTS)


@pytest.mark.parametrize("kind", sorted(OFFLINE_TESTS))
def test_each_type_moto_cannot_create_has_an_offline_test_naming_it(deployment: Deployment, kind: str) -> None:
    path = PROJECT_ROOT / OFFLINE_TESTS[kind]
    assert path.is_file(), path
    text = path.read_text(encoding="utf-8")
    assert re.search(r"^def test_", text, re.MULTILINE), f"{path} has no test"
    logical_ids = [lid for lid, r in deployment.removed.items() if r["Type"] == kind]
    short = kind.rsplit("::", 1)[1]
    assert kind in text or short in text or any(lid in text for lid in logical_ids), (kind, path)


def test_the_dropped_properties_are_mapped_and_moto_still_drops_them(deployment: Deployment) -> None:
    assert set(MOTO_DROPS_PROPERTIES) == set(OFFLINE_PROPERTY_TESTS)
    dynamodb = deployment.client("dynamodb")
    tables = {lid: r for lid, r in deployment.template["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
    for logical_id in tables:
        name = deployment.physical[logical_id]
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "DISABLED", f"moto now sets {logical_id}'s TTL: check it in test_stack.py"
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED", logical_id


# ------------------------------------------------------------------------------------------ offline


def _raw() -> dict[str, Any]:
    return parse_template_text(Path(TEMPLATE).read_text(encoding="utf-8"))


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in _raw()["Resources"].items() if r["Type"] == kind}


def test_the_bars_bucket_policy_refuses_plain_http_for_the_bucket_and_its_objects() -> None:
    (policy,) = _of_type("AWS::S3::BucketPolicy").values()
    props = policy["Properties"]
    assert props["Bucket"] == {"Ref": "BarsBucket"}
    (deny,) = [s for s in props["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [{"Fn::GetAtt": ["BarsBucket", "Arn"]}, {"Fn::Sub": "${BarsBucket.Arn}/*"}]


def test_the_email_subscription_exists_only_when_an_address_is_given_and_goes_to_the_topic() -> None:
    (subscription,) = _of_type("AWS::SNS::Subscription").values()
    props = subscription["Properties"]
    assert props["TopicArn"] == {"Ref": "NotificationTopic"}
    assert props["Protocol"] == "email" and props["Endpoint"] == {"Ref": "NotificationEmail"}
    condition = subscription["Condition"]
    raw = _raw()
    assert not Resolver(raw, {"Stage": "dev"}).condition(condition)
    assert Resolver(raw, {"Stage": "dev", "NotificationEmail": "me@example.com"}).condition(condition)


def test_each_table_expires_items_on_the_attribute_its_writer_sets(deployment: Deployment) -> None:
    """moto ignores TimeToLiveSpecification: the attribute names are checked against the writers."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from services.orchestrator.adapters.dynamodb_workflow_store import DynamoDBWorkflowStore
    from tests.integration.deploy.records import a_workflow_record

    tables = _of_type("AWS::DynamoDB::Table")
    ttl = {lid: t["Properties"]["TimeToLiveSpecification"] for lid, t in tables.items()}
    assert set(ttl) == set(tables) and all(spec["Enabled"] is True for spec in ttl.values())
    dynamodb = deployment.client("dynamodb")
    persistence = DynamoDBPersistenceLayer(table_name=deployment.physical["IdempotencyTable"], boto3_client=dynamodb)
    assert ttl["IdempotencyTable"]["AttributeName"] == persistence.expiry_attr

    table = deployment.physical["WorkflowTable"]
    record = a_workflow_record(day=40)
    assert DynamoDBWorkflowStore(table, dynamodb, wall_clock=lambda: 1_000_000.0).save(record, expected_version=0)
    items = dynamodb.scan(TableName=table)["Items"]
    mine = [i for i in items if record.correlation_id in i["pk"]["S"]]
    assert mine and all(ttl["WorkflowTable"]["AttributeName"] in item for item in mine)
    for item in mine:  # leave the table as the other tests expect it
        dynamodb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})


def test_the_workflow_table_keeps_point_in_time_backups() -> None:
    """The workflow records are what a retried day is decided from; moto ignores the property."""
    spec = _of_type("AWS::DynamoDB::Table")["WorkflowTable"]["Properties"]
    assert spec["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_the_deploy_guide_lists_each_type_moto_cannot_create_with_its_offline_test() -> None:
    guide = (PROJECT_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = guide.split("## Testing a deploy without an account", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `AWS::")]
    for kind, path in OFFLINE_TESTS.items():
        assert any(f"`{kind}`" in row and f"`{path}`" in row for row in rows), kind
    listed = set(re.findall(r"`(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)`", "\n".join(row.split(" | ")[0] for row in rows)))
    assert listed == set(OFFLINE_TESTS)
