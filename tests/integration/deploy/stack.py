"""Deploy infra/template.yaml into moto's CloudFormation, as `sam deploy --config-env <stage>` would.

The SAM template is transformed offline (samtranslator, no network), its code and layer point at a
tiny zip in moto's S3 (what `sam package` uploads), the stage's parameter overrides and
capabilities come from infra/samconfig.toml, and `create_stack` runs against a moto *server*, so
the CLI can reach the deployment over HTTP from another process (AWS_ENDPOINT_URL).

moto's CloudFormation does not implement every resource type the template uses. Those resources
are taken out before `create_stack` (references to them become a placeholder ARN) and listed in
`Deployment.removed`; each type is tested offline instead (test_unsupported_types.py maps type ->
test file). The CloudWatch alarms are then put through CloudWatch's own API with the properties
moto's CloudFormation resolves for them, because `alchemiser status --stage` reads them.

Two gaps of moto 5.2.5's CloudFormation are closed in place (MOTO_SHIMS), each towards what
CloudFormation documents, never towards what the tests want:
- `Ref` of an AWS::Events::EventBus or AWS::Events::Archive is its name (moto hands the rule, or
  the stack output, its Python object);
- an AWS::Events::Archive's EventPattern may be a JSON object (moto's archive only takes a string:
  it is passed as the same JSON text, which CloudFormation accepts as well).
And one gap of moto's EventBridge: a rule delivers to a Lambda target with an asynchronous Invoke
(moto raises NotImplementedError, so any put_events that matches such a rule fails with a 500).
With Lambda in moto's no-Docker mode the Invoke runs no code; conftest records each one.
"""

from __future__ import annotations

import copy
import io
import json
import re
import tomllib
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from alchemiser.commands.aws import DEFAULT_SAMCONFIG
from alchemiser.commands.init import parse_overrides
from alchemiser.local.template import DEFAULT_TEMPLATE, parse_template_text

ACCOUNT = "123456789012"
REGION = "us-east-1"
CODE_BUCKET = "alchemiser-deploy-artifacts"
CODE_KEY = "code.zip"
LAYER_KEY = "layer.zip"
PLACEHOLDER = "arn:aws:moto-cannot-create:us-east-1:123456789012:{logical_id}"

MOTO_SHIMS = (
    "Ref of AWS::Events::EventBus and AWS::Events::Archive returns the name (moto 5.2.5: its model object)",
    "AWS::Events::Archive EventPattern passed as JSON text (moto 5.2.5 cannot parse the object form)",
    "EventBridge rules invoke Lambda targets asynchronously (moto 5.2.5 raises NotImplementedError)",
)

# Properties moto's CloudFormation accepts and then drops (nothing is set): checked offline, and
# test_unsupported_types.py asserts moto still drops them (so a moto that learns them fails it).
MOTO_DROPS_PROPERTIES = (
    ("AWS::DynamoDB::Table", "TimeToLiveSpecification"),
    ("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification"),
)

# Template properties that CloudWatch's PutMetricAlarm takes as integers or numbers; a `!Ref` of a
# Number parameter resolves to text in CloudFormation and CloudFormation converts it, as done here.
_ALARM_INTS = ("EvaluationPeriods", "DatapointsToAlarm", "Period")


def samconfig(stage: str) -> tuple[dict[str, str], list[str], str]:
    """The stage's parameter overrides, capabilities and stack name from infra/samconfig.toml."""
    config = tomllib.loads(DEFAULT_SAMCONFIG.read_text(encoding="utf-8"))
    deploy = config[stage]["deploy"]["parameters"]
    overrides = parse_overrides(str(deploy.get("parameter_overrides", "")))
    capabilities = str(deploy.get("capabilities", "")).split()
    return overrides, capabilities, str(deploy["stack_name"])


def transformed(parameters: dict[str, str]) -> dict[str, Any]:
    """The SAM template as plain CloudFormation, code and layer in CODE_BUCKET (offline)."""
    from samtranslator.translator.transform import transform

    class _ManagedPolicies:
        """No IAM call: the template names no managed policy by its short name (SAM would look it up)."""

        def load(self) -> dict[str, str]:
            return {}

    template = parse_template_text(DEFAULT_TEMPLATE.read_text(encoding="utf-8"))
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{CODE_BUCKET}/{CODE_KEY}"
        elif resource.get("Type") == "AWS::Serverless::LayerVersion":
            resource["Properties"]["ContentUri"] = f"s3://{CODE_BUCKET}/{LAYER_KEY}"
    result: dict[str, Any] = transform(template, {**parameters, "AWS::Region": REGION}, _ManagedPolicies())
    return result


def unsupported_types(template: dict[str, Any]) -> set[str]:
    """The template's resource types moto's CloudFormation has no model for."""
    from moto.cloudformation.parsing import get_model_map

    models = get_model_map()
    return {r["Type"] for r in template["Resources"].values() if r["Type"] not in models}


def _refers_to(value: Any, logical_id: str) -> bool:
    return logical_id in _references(value)


def _references(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add((arg if isinstance(arg, list) else str(arg).split("."))[0])
            elif key == "Fn::Sub":
                body = arg if isinstance(arg, str) else arg[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", body)}
            found |= _references(arg)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _placeholder(value: Any, removed: set[str]) -> Any:
    """`value` with every Ref / GetAtt / ${...} of a removed resource replaced by a placeholder ARN."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref" and arg in removed:
                return PLACEHOLDER.format(logical_id=arg)
            if key == "Fn::GetAtt":
                target = (arg if isinstance(arg, list) else str(arg).split("."))[0]
                if target in removed:
                    return PLACEHOLDER.format(logical_id=target)
            if key == "Fn::Sub":
                body, variables = (arg, None) if isinstance(arg, str) else (arg[0], arg[1])

                def swap(match: re.Match[str]) -> str:
                    name = match.group(1)
                    target = name.split(".")[0]
                    if target in removed and (variables is None or name not in variables):
                        return PLACEHOLDER.format(logical_id=target)
                    return match.group(0)

                body = re.sub(r"\$\{([^}!]+)\}", swap, body)
                return {"Fn::Sub": body if variables is None else [body, _placeholder(variables, removed)]}
        return {k: _placeholder(v, removed) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholder(item, removed) for item in value]
    return value


def for_moto(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(what moto's CloudFormation can create, the resources taken out by logical id)."""
    template = copy.deepcopy(template)
    kinds = unsupported_types(template)
    removed = {lid: r for lid, r in template["Resources"].items() if r["Type"] in kinds}
    kept = {lid: r for lid, r in template["Resources"].items() if lid not in removed}
    for resource in kept.values():
        depends = resource.get("DependsOn")
        if depends is not None:
            depends = [depends] if isinstance(depends, str) else depends
            resource["DependsOn"] = [d for d in depends if d not in removed]
            if not resource["DependsOn"]:
                del resource["DependsOn"]
        if "Properties" in resource:
            resource["Properties"] = _placeholder(resource["Properties"], set(removed))
        if resource["Type"] == "AWS::Events::Archive" and isinstance(
                resource.get("Properties", {}).get("EventPattern"), dict):
            resource["Properties"]["EventPattern"] = json.dumps(resource["Properties"]["EventPattern"])
    template["Resources"] = kept
    if "Outputs" in template:
        template["Outputs"] = {k: v for k, v in template["Outputs"].items()
                               if not (_references(v.get("Value")) & set(removed))}
    return template, removed


@contextmanager
def moto_shims() -> Iterator[None]:
    """Close the gaps in MOTO_SHIMS in this process (where the moto server runs), for the duration."""
    from moto.events.models import Archive, EventBus, Rule

    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    for model in (EventBus, Archive):
        if not hasattr(model, "physical_resource_id"):
            patch(model, "physical_resource_id", property(lambda self: self.name))
    patch(Rule, "send_to_targets", _delivering_to_lambda_targets(Rule.send_to_targets))
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)


_MISSING = object()


def _delivering_to_lambda_targets(original: Any) -> Any:
    """Rule.send_to_targets with Lambda targets invoked as EventBridge does (InvocationType Event, the
    event, or its InputTransformer's output, as the payload); moto's own code for every other target."""
    import threading

    from moto.awslambda.utils import get_backend
    from moto.events.models import EventTemplateParser  # type: ignore[attr-defined]
    from moto.utilities.arns import parse_arn

    lock = threading.Lock()

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        lambdas = [t for t in self.targets if parse_arn(t["Arn"]).service == "lambda"]
        if lambdas and self.event_pattern.matches_event(original_event):
            for target in lambdas:
                event = original_event.copy()
                if transform_input and target.get("InputTransformer"):
                    transformer = target["InputTransformer"]
                    event = EventTemplateParser.parse(input_template=transformer.get("InputTemplate"),
                                                      input_paths_map=transformer.get("InputPathsMap", {}),
                                                      event=original_event)
                arn = parse_arn(target["Arn"])
                backend = get_backend(arn.account, arn.region)
                backend.get_function(target["Arn"])  # a target that does not exist fails, as in AWS
                backend.invoke(target["Arn"], None, json.dumps(event, default=str),
                               {"X-Amz-Invocation-Type": "Event"}, {})
        if not lambdas:
            original(self, original_event, transform_input)
            return
        with lock:
            targets = self.targets
            self.targets = [t for t in targets if t not in lambdas]
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = targets

    return send_to_targets


def tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@dataclass
class Deployment:
    endpoint: str
    stage: str
    stack_name: str
    parameters: dict[str, str]
    capabilities: list[str]
    template: dict[str, Any]  # the transformed template, before anything was taken out
    deployed: dict[str, Any]  # what create_stack received
    removed: dict[str, dict[str, Any]]  # logical id -> resource, the types moto cannot create
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> physical id, from the stack
    alarms_put: list[str] = field(default_factory=list)

    def client(self, service: str) -> Any:
        import boto3

        return boto3.session.Session(region_name=REGION, aws_access_key_id="testing",
                                     aws_secret_access_key="testing").client(  # type: ignore[call-overload]
            service, endpoint_url=self.endpoint)

    def removed_types(self) -> set[str]:
        return {r["Type"] for r in self.removed.values()}


def deploy(endpoint: str, stage: str = "dev") -> Deployment:
    """Transform, upload the code, create the stack, put the alarms; wait for CREATE_COMPLETE.
    Inside `moto_shims()`, in the process that runs the moto server."""
    overrides, capabilities, stack_name = samconfig(stage)
    template = transformed(overrides)
    deployed, removed = for_moto(template)
    deployment = Deployment(endpoint, stage, stack_name, overrides, capabilities, template, deployed, removed)
    s3 = deployment.client("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    for key in (CODE_KEY, LAYER_KEY):
        s3.put_object(Bucket=CODE_BUCKET, Key=key, Body=tiny_zip())
    cloudformation = deployment.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack_name, TemplateBody=json.dumps(deployed), Capabilities=capabilities,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in overrides.items()])
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary["LogicalResourceId"]:  # moto lists a resource it skipped as a blank row
                deployment.physical[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
    deployment.alarms_put = put_alarms(deployment)
    return deployment


def put_alarms(deployment: Deployment) -> list[str]:
    """The template's alarms through PutMetricAlarm, their properties resolved by moto's CloudFormation
    against the deployed stack (the same Ref / GetAtt / Sub / If it would use if it had the type)."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.cloudformation.parsing import clean_json

    backend = cloudformation_backends[ACCOUNT][REGION]
    (stack,) = [s for s in backend.stacks.values() if s.name == deployment.stack_name]
    cloudwatch = deployment.client("cloudwatch")
    names = []
    for resource in deployment.removed.values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = clean_json(copy.deepcopy(resource["Properties"]), stack.resource_map)
        for key in _ALARM_INTS:
            if key in props:
                props[key] = int(props[key])
        for query in props.get("Metrics", []):
            if "MetricStat" in query:
                query["MetricStat"]["Period"] = int(query["MetricStat"]["Period"])
        if "Threshold" in props:
            props["Threshold"] = float(props["Threshold"])
        cloudwatch.put_metric_alarm(**props)
        names.append(str(props["AlarmName"]))
    return names
