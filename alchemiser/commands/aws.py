"""Names of a deployed stage's resources (resolved from infra/template.yaml with Stage set), boto3
clients in the stage's region, and AWS errors as plain sentences.

The stage's region is the one `alchemiser init` wrote into infra/samconfig.toml (`[<stage>.global.parameters]
region`, where `sam deploy --config-env <stage>` reads it), else AWS_REGION, else AWS_DEFAULT_REGION, else
the profile's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alchemiser.local.template import Resolver, load_template

DEFAULT_SAMCONFIG = Path(__file__).resolve().parents[2] / "infra" / "samconfig.toml"
"""Where `alchemiser init` writes the stages' deploy settings and `sam deploy` reads them."""


class AwsProblem(Exception):
    """An AWS call failed for a reason the user can fix; the message says how (exit code 1)."""


def stage_names(stage: str) -> dict[str, str]:
    """Bus, DLQ, archive, rule and function names for `stage`, as the template names them."""
    template = load_template(parameters={"Stage": stage})
    resolver = Resolver(template.raw, {"Stage": stage})
    names = {"bus": template.bus_name}
    for logical_id, resource in template.raw["Resources"].items():
        kind = resource.get("Type")
        if kind == "AWS::SQS::Queue" and logical_id == "EventDLQ":
            names["dlq"] = resolver.name_of(logical_id)
        elif kind == "AWS::Events::Archive":
            names["archive"] = str(resolver.resolve(resource["Properties"].get("ArchiveName", logical_id)))
    return names


def rule_names(stage: str) -> dict[str, str]:
    """Logical id -> deployed name of each rule on the stage's bus that has an explicit Name."""
    template = load_template(parameters={"Stage": stage})
    resolver = Resolver(template.raw, {"Stage": stage})
    return {logical_id: resolver.name_of(logical_id) for logical_id, resource in template.raw["Resources"].items()
            if resource.get("Type") == "AWS::Events::Rule"}


def samconfig_region(stage: str, samconfig: Path | None = None) -> str | None:
    """The region `alchemiser init` recorded for the stage (or a `region` among its deploy parameters)."""
    import tomllib

    path = samconfig or DEFAULT_SAMCONFIG
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    section = config.get(stage, {})
    for command in ("global", "deploy"):
        value = section.get(command, {}).get("parameters", {}).get("region")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def region(stage: str | None = None, samconfig: Path | None = None) -> str | None:
    """The stage's region (samconfig.toml), else the environment's; None: boto3's own (the profile's)."""
    found = samconfig_region(stage, samconfig) if stage else None
    return found or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def client(service: str, stage: str | None = None, samconfig: Path | None = None) -> Any:
    """A client of a fresh session (credentials and region read now), in the stage's region."""
    import boto3

    return boto3.session.Session(region_name=region(stage, samconfig)).client(service)  # type: ignore[call-overload]


@contextmanager
def aws_errors(stage: str) -> Iterator[None]:
    """Turn botocore's exceptions into AwsProblem with a sentence that says what to do."""
    try:
        yield
    except Exception as exc:
        problem = describe(exc, stage)
        if problem is None:
            raise
        raise AwsProblem(problem) from exc


def describe(exc: Exception, stage: str) -> str | None:
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoRegionError):
        return ("no AWS region: set AWS_DEFAULT_REGION (export AWS_DEFAULT_REGION=us-east-1, as docs/deploy.md "
                f"says: sam and boto3 read it), or record the stage's with alchemiser init --stage {stage} --region "
                "us-east-1 (infra/samconfig.toml)")
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return ("no AWS credentials: configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY)")
    if isinstance(exc, bx.EndpointConnectionError):
        return f"cannot reach AWS ({exc}); check the region and the network"
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", ""))
        if code in ("ResourceAlreadyExistsException",):
            return f"{message or 'it already exists'} (choose another --name)"
        if code in ("ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            where = region(stage) or "this region"
            return f"not found on stage {stage}: {message or code} (is the stage deployed in {where}?)"
        if code in ("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
                    "AccessDeniedException", "AccessDenied"):
            return f"AWS refused the credentials: {code}: {message}"
        return f"AWS error: {code}: {message}"
    return None
