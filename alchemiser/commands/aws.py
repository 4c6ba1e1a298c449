"""Names of a deployed stage's resources, resolved from infra/template.yaml with Stage set."""

from __future__ import annotations

from typing import Any

from alchemiser.local.template import _Resolver, load_template


def stage_names(stage: str) -> dict[str, str]:
    """Bus, DLQ, archive and function names for `stage`, as the template names them."""
    template = load_template(parameters={"Stage": stage})
    resolver = _Resolver(template.raw, {"Stage": stage})
    names = {"bus": template.bus_name}
    for logical_id, resource in template.raw["Resources"].items():
        kind = resource.get("Type")
        if kind == "AWS::SQS::Queue" and logical_id == "EventDLQ":
            names["dlq"] = resolver.name_of(logical_id)
        elif kind == "AWS::Events::Archive":
            names["archive"] = str(resolver.resolve(resource["Properties"].get("ArchiveName", logical_id)))
    return names


def client(service: str) -> Any:
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]
