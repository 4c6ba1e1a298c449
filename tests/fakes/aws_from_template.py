"""Build moto resources from infra/template.yaml itself, so tests and infrastructure cannot drift."""

from __future__ import annotations

from typing import Any

import boto3

from alchemiser.local.template import DEFAULT_TEMPLATE, Resolver, parse_template_text


def _resources() -> tuple[dict[str, Any], Resolver]:
    raw = parse_template_text(DEFAULT_TEMPLATE.read_text())
    return raw["Resources"], Resolver(raw, {})


def create_table(logical_id: str, client: Any = None) -> str:
    """Create the DynamoDB table `logical_id` as the template declares it; return its name."""
    resources, resolver = _resources()
    props = resolver.resolve(resources[logical_id]["Properties"])
    client = client or boto3.client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": props["TableName"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    client.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=props["TableName"], TimeToLiveSpecification=ttl)
    return str(props["TableName"])


def create_queue(logical_id: str, client: Any = None) -> str:
    """Create the SQS queue `logical_id` as the template declares it; return its URL."""
    resources, resolver = _resources()
    props = resolver.resolve(resources[logical_id]["Properties"])
    client = client or boto3.client("sqs")
    url: str = client.create_queue(QueueName=props["QueueName"])["QueueUrl"]
    return url
