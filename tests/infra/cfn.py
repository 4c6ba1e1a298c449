"""The template as data for the infra tests: raw, after the SAM transform, and intrinsics as text."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any

from alchemiser.local.template import Resolver, parse_template_text
from tests.conftest import TEMPLATE

SERVICES = ("strategy", "portfolio", "execution", "orchestrator")


@cache
def _raw() -> dict[str, Any]:
    return parse_template_text(TEMPLATE.read_text(encoding="utf-8"))


def raw() -> dict[str, Any]:
    """A fresh copy of the parsed template (short tags in long form)."""
    return copy.deepcopy(_raw())


def resources(of_type: str, template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    tpl = template or _raw()
    return {lid: res for lid, res in tpl["Resources"].items() if res.get("Type") == of_type}


def function_of(service: str, template: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    for lid, res in resources("AWS::Serverless::Function", template).items():
        if res["Properties"]["Handler"] == f"services.{service}.handler.lambda_handler":
            return lid, res
    raise KeyError(service)


@cache
def _transformed() -> dict[str, Any]:
    """The template after the SAM transform (what CloudFormation deploys), offline."""
    from samtranslator.translator.transform import transform

    class _NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    tpl = raw()
    for res in resources("AWS::Serverless::Function", tpl).values():
        res["Properties"]["CodeUri"] = "s3://bucket/key"  # what `sam package` puts there
    for res in resources("AWS::Serverless::LayerVersion", tpl).values():
        res["Properties"]["ContentUri"] = "s3://bucket/layer"  # likewise for the layer
    result: dict[str, Any] = transform(tpl, {"AWS::Region": "us-east-1"}, _NoManagedPolicies())
    return result


def transformed() -> dict[str, Any]:
    return copy.deepcopy(_transformed())


def text(value: Any) -> str:
    """An intrinsic as readable text, the way `!Sub` writes it: `${EventBus.Arn}`, `${Stage}`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return f"${{{arg}}}"
        if key == "Fn::GetAtt":
            return "${" + ".".join(arg if isinstance(arg, list) else [arg]) + "}"
        if key == "Fn::Sub":
            body, variables = (arg, {}) if isinstance(arg, str) else arg
            return re.sub(r"\$\{([^}!]+)\}", lambda m: text(variables[m.group(1)]) if m.group(1) in variables
                          else m.group(0), body)
        if key == "Fn::If":
            cond, yes, no = arg
            return f"If({cond}, {text(yes)}, {text(no)})"
        if key == "Fn::Join":
            sep, parts = arg
            return sep.join(text(p) for p in parts)
    return json.dumps(value, sort_keys=True)


def refs_in(value: Any) -> set[str]:
    """Logical ids and parameter names an intrinsic value refers to."""
    return set(re.findall(r"\$\{([A-Za-z0-9]+)", text(value)))


def resolver(parameters: dict[str, str] | None = None, template: dict[str, Any] | None = None) -> Resolver:
    return Resolver(template or _raw(), parameters or {})
