"""What moto's CloudFormation created from infra/template.yaml, checked against the template itself.

Expected values come from the raw template resolved for the stage the way the CLI resolves it
(`alchemiser.local.template.Resolver`, with AWS ARNs), the actual ones from moto's service APIs:
so a rule whose pattern, target or dead-letter queue differs from the template fails here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from alchemiser.commands.aws import rule_names, stage_names
from alchemiser.commands.status import alarm_names, stage_table
from alchemiser.local.template import Resolver, parse_template_text
from tests.conftest import TEMPLATE
from tests.integration.deploy.stack import ACCOUNT, PLACEHOLDER, REGION, Deployment

pytestmark = pytest.mark.timeout(120)

ARN_OF = {
    "AWS::Serverless::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::Events::EventBus": "arn:aws:events:{region}:{account}:event-bus/{name}",
}


class AwsResolver(Resolver):
    """The CLI's resolver, but with the ARNs and Refs CloudFormation gives in this account."""

    def __init__(self, raw: dict[str, Any], overrides: dict[str, str]) -> None:
        super().__init__(raw, overrides)
        self.pseudo.update({"AWS::Region": REGION, "AWS::AccountId": ACCOUNT})

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        return ARN_OF[kind].format(region=REGION, account=ACCOUNT, name=self.name_of(logical_id))

    def ref(self, name: str) -> str:
        if self.resources.get(name, {}).get("Type") == "AWS::SNS::Topic":
            return self.arn(name)  # Ref of a topic is its ARN
        return super().ref(name)


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return parse_template_text(TEMPLATE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def resolver(raw: dict[str, Any], deployment: Deployment) -> AwsResolver:
    return AwsResolver(raw, deployment.parameters)


def of_type(raw: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in raw["Resources"].items() if r["Type"] == kind}


def test_the_stack_is_complete_with_every_resource_moto_can_create(deployment: Deployment) -> None:
    cloudformation = deployment.client("cloudformation")
    (stack,) = cloudformation.describe_stacks(StackName=deployment.stack_name)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert deployment.stack_name == f"alchemiser-{deployment.stage}"  # the guide's and the CLI's convention
    unconditional = {lid for lid, r in deployment.deployed["Resources"].items() if "Condition" not in r}
    assert unconditional - set(deployment.physical) == set()
    statuses = {s["ResourceStatus"] for page in cloudformation.get_paginator("list_stack_resources")
                .paginate(StackName=deployment.stack_name) for s in page["StackResourceSummaries"]}
    assert statuses == {"CREATE_COMPLETE"}
    # nothing left references what was taken out except through the recorded placeholder
    leftover = json.dumps(deployment.deployed)
    for logical_id in deployment.removed:
        assert f'"Ref": "{logical_id}"' not in leftover
        assert f'["{logical_id}", ' not in leftover


NAMED_IAM = {"AWS::IAM::Role": "RoleName", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
             "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName", "AWS::IAM::InstanceProfile":
             "InstanceProfileName"}


def test_the_samconfig_capabilities_suffice_no_iam_resource_has_a_custom_name(deployment: Deployment) -> None:
    """CloudFormation refuses a custom-named IAM resource without CAPABILITY_NAMED_IAM; moto does not check."""
    if "CAPABILITY_NAMED_IAM" in deployment.capabilities:
        return
    assert "CAPABILITY_IAM" in deployment.capabilities
    named = [lid for lid, r in deployment.template["Resources"].items()
             if NAMED_IAM.get(r["Type"]) in r.get("Properties", {})]
    assert named == [], f"{named} need CAPABILITY_NAMED_IAM in infra/samconfig.toml"


def test_the_stacks_outputs_name_what_the_cli_finds_by_the_templates_naming(deployment: Deployment) -> None:
    """The CLI does not read the stack: it names resources as the template does. The outputs agree."""
    from alchemiser.commands.kill_switch import parameter_name

    (stack,) = deployment.client("cloudformation").describe_stacks(StackName=deployment.stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    names = stage_names(deployment.stage)
    assert outputs["EventBusName"] == names["bus"]
    assert outputs["EventArchiveName"] == names["archive"]
    assert outputs["EventDLQUrl"].rsplit("/", 1)[1] == names["dlq"]
    assert outputs["KillSwitchParameterName"] == parameter_name(deployment.stage)
    assert outputs["AlpacaSecretName"] == f"alchemiser/{deployment.stage}/alpaca"  # what status reads by default


def test_the_bus_and_its_archive_are_deployed_as_the_cli_names_them(deployment: Deployment, raw: dict[str, Any],
                                                                    resolver: AwsResolver) -> None:
    events = deployment.client("events")
    names = stage_names(deployment.stage)
    bus = events.describe_event_bus(Name=names["bus"])
    assert deployment.physical["EventBus"] == names["bus"]
    assert bus["Arn"] == resolver.arn("EventBus")
    (archive_spec,) = of_type(raw, "AWS::Events::Archive").values()
    archive = events.describe_archive(ArchiveName=names["archive"])
    expected = resolver.resolve(archive_spec["Properties"])
    assert archive["EventSourceArn"] == bus["Arn"]
    assert json.loads(archive["EventPattern"]) == expected["EventPattern"]
    assert archive["RetentionDays"] == expected["RetentionDays"]
    assert archive["State"] == "ENABLED"


def test_every_rule_has_the_templates_pattern_targets_retries_and_dead_letter_queue(
        deployment: Deployment, raw: dict[str, Any], resolver: AwsResolver) -> None:
    events = deployment.client("events")
    rules = of_type(raw, "AWS::Events::Rule")
    assert rules and set(rule_names(deployment.stage)) == set(rules)
    dlq_arn = resolver.arn("EventDLQ")
    for logical_id, spec in rules.items():
        props = resolver.resolve(spec["Properties"])
        bus = props.get("EventBusName", "default")
        rule = events.describe_rule(Name=props["Name"], EventBusName=bus)
        assert json.loads(rule["EventPattern"]) == props["EventPattern"], logical_id
        assert rule["State"] == props["State"], logical_id
        targets = events.list_targets_by_rule(Rule=props["Name"], EventBusName=bus)["Targets"]
        assert sorted(targets, key=lambda t: t["Id"]) == sorted(props["Targets"], key=lambda t: t["Id"]), logical_id
        assert all(t["DeadLetterConfig"]["Arn"] == dlq_arn for t in targets), logical_id


def test_the_dead_letter_queue_keeps_messages_as_the_template_says(deployment: Deployment, raw: dict[str, Any],
                                                                  resolver: AwsResolver) -> None:
    sqs = deployment.client("sqs")
    url = sqs.get_queue_url(QueueName=stage_names(deployment.stage)["dlq"])["QueueUrl"]
    assert url.rsplit("/", 2)[-2:] == deployment.physical["EventDLQ"].rsplit("/", 2)[-2:]  # host: the endpoint
    props = resolver.resolve(raw["Resources"]["EventDLQ"]["Properties"])
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == resolver.arn("EventDLQ")
    assert int(attributes["MessageRetentionPeriod"]) == props["MessageRetentionPeriod"]


def test_the_tables_have_the_templates_keys_indexes_and_expiry(deployment: Deployment, raw: dict[str, Any],
                                                              resolver: AwsResolver) -> None:
    dynamodb = deployment.client("dynamodb")
    tables = of_type(raw, "AWS::DynamoDB::Table")
    assert "WorkflowTable" in tables and stage_table(deployment.stage) == deployment.physical["WorkflowTable"]
    for logical_id, spec in tables.items():
        props = resolver.resolve(spec["Properties"])
        table = dynamodb.describe_table(TableName=props["TableName"])["Table"]
        assert table["KeySchema"] == props["KeySchema"], logical_id
        assert (sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"])
                == sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"])), logical_id
        assert table["BillingModeSummary"]["BillingMode"] == props["BillingMode"], logical_id
        assert ({i["IndexName"]: i["KeySchema"] for i in table.get("GlobalSecondaryIndexes", [])}
                == {i["IndexName"]: i["KeySchema"] for i in props.get("GlobalSecondaryIndexes", [])}), logical_id
        # TimeToLiveSpecification and PointInTimeRecoverySpecification: moto's CloudFormation drops them
        # (MOTO_DROPS_PROPERTIES); test_unsupported_types.py checks them offline.


def test_the_topic_the_kill_switch_parameter_and_the_functions_exist(deployment: Deployment, raw: dict[str, Any],
                                                                    resolver: AwsResolver) -> None:
    topic_arn = resolver.arn("NotificationTopic")
    assert deployment.client("sns").get_topic_attributes(TopicArn=topic_arn)["Attributes"]["TopicArn"] == topic_arn
    (parameter_id,) = of_type(raw, "AWS::SSM::Parameter")
    props = resolver.resolve(raw["Resources"][parameter_id]["Properties"])
    parameter = deployment.client("ssm").get_parameter(Name=props["Name"])["Parameter"]
    assert (parameter["Value"], parameter["Type"]) == (props["Value"], props["Type"])
    lam = deployment.client("lambda")
    bus = stage_names(deployment.stage)["bus"]
    for logical_id in of_type(raw, "AWS::Serverless::Function"):
        config = lam.get_function(FunctionName=resolver.name_of(logical_id))["Configuration"]
        assert config["FunctionArn"] == resolver.arn(logical_id)
        assert config["Environment"]["Variables"]["ALCHEMISER_EVENT_BUS_NAME"] == bus, logical_id


def test_every_alarm_the_status_command_reads_exists_and_notifies_the_topic(deployment: Deployment) -> None:
    """The alarms (a type moto's CloudFormation lacks) put through CloudWatch with the template's properties."""
    names = alarm_names(deployment.stage)
    assert sorted(deployment.alarms_put) == names
    alarms = deployment.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == names
    topic = deployment.physical["NotificationTopic"]
    for alarm in alarms:
        assert alarm["AlarmActions"] == [topic], alarm["AlarmName"]
        assert PLACEHOLDER.split("{")[0] not in json.dumps(alarm, default=str), alarm["AlarmName"]
