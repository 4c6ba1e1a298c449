"""Read functions, rules and schedules from infra/template.yaml, so local routing cannot drift.

Only what the local runtime needs is resolved: each function's handler and environment, each
rule's pattern and targets (retry policy, dead-letter queue), each schedule's target and input.
Intrinsics are resolved against parameter defaults and resource names (`!Ref`, `!Sub`,
`!GetAtt`, `!Join`, and `!If` on the template's Conditions), which is enough for names and
ARNs used locally.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGED_TEMPLATE = Path(__file__).parent / "template.yaml"
"""The template shipped in the package: a symlink to infra/template.yaml in a checkout, a copy of it
in a wheel, so `pip install .` / `pipx install .` run the same routing as an editable checkout."""
CHECKOUT_TEMPLATE = PROJECT_ROOT / "infra" / "template.yaml"
DEFAULT_TEMPLATE = CHECKOUT_TEMPLATE if CHECKOUT_TEMPLATE.is_file() else PACKAGED_TEMPLATE
LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "us-east-1"


class TemplateError(ValueError):
    """The template lacks something the local runtime needs."""


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short tags into their long form."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def parse_template_text(text: str) -> dict[str, Any]:
    data = yaml.load(text, Loader=_CfnLoader)
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError("template has no Resources section")
    return data


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    service: str
    """Short name: from the handler path `services.<service>.handler.lambda_handler`, else the
    logical id without its `Function` suffix, lower-cased."""
    handler: str
    timeout: int
    memory: int
    environment: dict[str, str]
    physical_name: str
    async_retry_attempts: int = 2
    """EventInvokeConfig.MaximumRetryAttempts (Lambda's default: 2): retries of a function error."""


@dataclass(frozen=True)
class TargetSpec:
    function: str
    """Logical id of the target function."""
    retry_attempts: int
    max_event_age: int
    dead_letter_queue: str | None
    input: dict[str, Any] | None = None


@dataclass(frozen=True)
class RuleSpec:
    logical_id: str
    pattern: dict[str, Any]
    targets: tuple[TargetSpec, ...]
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleSpec:
    logical_id: str
    expression: str
    timezone: str
    target: TargetSpec


@dataclass(frozen=True)
class Template:
    raw: dict[str, Any] = field(repr=False)
    parameters: dict[str, str]
    functions: dict[str, FunctionSpec]
    rules: tuple[RuleSpec, ...]
    schedules: tuple[ScheduleSpec, ...]
    bus_name: str

    def function_for(self, service: str) -> FunctionSpec:
        for spec in self.functions.values():
            if service in (spec.service, spec.logical_id):
                return spec
        known = ", ".join(sorted(s.service for s in self.functions.values()))
        raise TemplateError(f"no function '{service}' in the template (known: {known})")


class Resolver:
    """Resolves intrinsic functions to local stand-ins."""

    def __init__(self, raw: dict[str, Any], overrides: dict[str, str]) -> None:
        self.resources: dict[str, Any] = raw.get("Resources", {})
        self.conditions: dict[str, Any] = raw.get("Conditions", {})
        self.params = {name: str(spec.get("Default", "")) for name, spec in raw.get("Parameters", {}).items()}
        self.params.update(overrides)
        self.pseudo = {"AWS::Region": LOCAL_REGION, "AWS::AccountId": LOCAL_ACCOUNT,
                       "AWS::Partition": "aws", "AWS::StackName": "alchemiser-local", "AWS::URLSuffix": ""}

    def name_of(self, logical_id: str) -> str:
        props = self.resources.get(logical_id, {}).get("Properties", {})
        for key in ("Name", "FunctionName", "TableName", "QueueName", "TopicName"):
            if key in props:
                return str(self.resolve(props[key]))
        return logical_id

    def ref(self, name: str) -> str:
        if name in self.params:
            return self.params[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.resources:
            return self.name_of(name)
        raise TemplateError(f"!Ref to unknown name '{name}'")

    def arn(self, logical_id: str) -> str:
        return f"arn:aws:local:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{logical_id}/{self.name_of(logical_id)}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attr = value["Fn::GetAtt"]
            return self.arn(logical_id) if attr == "Arn" else self.name_of(logical_id)
        if set(value) == {"Fn::Sub"}:
            text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            lookup = {k: str(self.resolve(v)) for k, v in variables.items()}
            return re.sub(r"\$\{([^}!]+)\}", lambda m: lookup.get(m.group(1)) or self._sub_name(m.group(1)), text)
        if set(value) == {"Fn::Join"}:
            sep, parts = value["Fn::Join"]
            return sep.join(str(self.resolve(p)) for p in parts)
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if self.condition(name) else when_false)
        if len(value) == 1 and next(iter(value)).startswith("Fn::"):
            return json.dumps(value)  # conditions etc.: not needed locally, kept visible
        return {k: self.resolve(v) for k, v in value.items()}

    def condition(self, name: str) -> bool:
        """The value of the template's condition `name` under the current parameters."""
        if name not in self.conditions:
            raise TemplateError(f"unknown condition '{name}'")
        return self._truth(self.conditions[name])

    def _truth(self, expr: Any) -> bool:
        if not isinstance(expr, dict) or len(expr) != 1:
            raise TemplateError(f"not a condition: {expr!r}")
        function, args = next(iter(expr.items()))
        if function == "Fn::Equals":
            left, right = args
            return str(self.resolve(left)) == str(self.resolve(right))
        if function == "Fn::Not":
            return not self._truth(args[0])
        if function == "Fn::And":
            return all(self._truth(a) for a in args)
        if function == "Fn::Or":
            return any(self._truth(a) for a in args)
        if function in ("Condition", "Fn::Condition"):
            return self.condition(args)
        raise TemplateError(f"condition function '{function}' is not supported locally")

    def _sub_name(self, name: str) -> str:
        if "." in name:
            logical_id, attr = name.split(".", 1)
            return self.arn(logical_id) if attr == "Arn" else self.name_of(logical_id)
        return self.ref(name)

    def target_logical_id(self, arn_value: Any) -> str | None:
        if isinstance(arn_value, dict) and "Fn::GetAtt" in arn_value:
            return str(arn_value["Fn::GetAtt"][0])
        if isinstance(arn_value, dict) and "Ref" in arn_value:
            return str(arn_value["Ref"])
        return None


def _target(resolver: Resolver, spec: dict[str, Any]) -> TargetSpec | None:
    function = resolver.target_logical_id(spec.get("Arn"))
    if function is None or resolver.resources.get(function, {}).get("Type") != "AWS::Serverless::Function":
        return None
    retry = spec.get("RetryPolicy", {})
    dlq = spec.get("DeadLetterConfig", {}).get("Arn")
    raw_input = spec.get("Input")
    return TargetSpec(
        function=function,
        retry_attempts=int(retry.get("MaximumRetryAttempts", 185)),
        max_event_age=int(retry.get("MaximumEventAgeInSeconds", 86400)),
        dead_letter_queue=resolver.target_logical_id(dlq) if dlq else None,
        input=json.loads(resolver.resolve(raw_input)) if isinstance(raw_input, str | dict) else None,
    )


def _functions(raw: dict[str, Any], resolver: Resolver) -> dict[str, FunctionSpec]:
    globals_fn = raw.get("Globals", {}).get("Function", {})
    out = {}
    for logical_id, res in raw["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.get("Properties", {})
        handler = props.get("Handler", globals_fn.get("Handler", ""))
        if "." not in handler:
            raise TemplateError(f"{logical_id}: handler '{handler}' is not a dotted module.function path")
        match = re.fullmatch(r"services\.(\w+)\.handler\.\w+", handler)
        service = match.group(1) if match else logical_id.removesuffix("Function").lower()
        env_raw = {**globals_fn.get("Environment", {}).get("Variables", {}),
                   **props.get("Environment", {}).get("Variables", {})}
        out[logical_id] = FunctionSpec(
            logical_id=logical_id,
            service=service,
            handler=handler,
            timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            memory=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
            environment={k: str(resolver.resolve(v)) for k, v in env_raw.items()},
            physical_name=str(resolver.resolve(props.get("FunctionName", logical_id))),
            async_retry_attempts=int({**globals_fn.get("EventInvokeConfig", {}),
                                      **props.get("EventInvokeConfig", {})}.get("MaximumRetryAttempts", 2)),
        )
    return out


def _rules(raw: dict[str, Any], resolver: Resolver) -> tuple[RuleSpec, ...]:
    rules = []
    for logical_id, res in raw["Resources"].items():
        if res.get("Type") != "AWS::Events::Rule" or "EventPattern" not in res.get("Properties", {}):
            continue
        props = res["Properties"]
        targets = tuple(t for t in (_target(resolver, s) for s in props.get("Targets", [])) if t is not None)
        rules.append(RuleSpec(logical_id, resolver.resolve(props["EventPattern"]), targets,
                              props.get("State", "ENABLED") == "ENABLED"))
    return tuple(rules)


def _schedules(raw: dict[str, Any], resolver: Resolver) -> tuple[ScheduleSpec, ...]:
    out = []
    for logical_id, res in raw["Resources"].items():
        if res.get("Type") != "AWS::Scheduler::Schedule":
            continue
        props = res["Properties"]
        target = _target(resolver, props.get("Target", {}))
        if target is None:
            continue
        out.append(ScheduleSpec(logical_id, str(resolver.resolve(props.get("ScheduleExpression", ""))),
                                str(resolver.resolve(props.get("ScheduleExpressionTimezone", "UTC"))), target))
    return tuple(out)


def load_template(path: Path = DEFAULT_TEMPLATE, parameters: dict[str, str] | None = None) -> Template:
    """Parse the SAM template at `path` with optional parameter overrides."""
    return _load(str(path), tuple(sorted((parameters or {}).items())))


@lru_cache(maxsize=8)
def _load(path: str, parameters: tuple[tuple[str, str], ...]) -> Template:
    raw = parse_template_text(Path(path).read_text(encoding="utf-8"))
    resolver = Resolver(raw, dict(parameters))
    buses = [lid for lid, r in raw["Resources"].items() if r.get("Type") == "AWS::Events::EventBus"]
    if len(buses) != 1:
        raise TemplateError(f"expected exactly one AWS::Events::EventBus, found {len(buses)}")
    return Template(raw, resolver.params, _functions(raw, resolver), _rules(raw, resolver),
                    _schedules(raw, resolver), resolver.name_of(buses[0]))
