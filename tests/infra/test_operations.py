"""Operating switches in the template: reserved concurrency on execution and optional tracing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra import cfn


def _deployed_function(service: str) -> dict[str, Any]:
    for res in cfn.transformed()["Resources"].values():
        if res["Type"] == "AWS::Lambda::Function" and res["Properties"]["Handler"].startswith(f"services.{service}."):
            props: dict[str, Any] = res["Properties"]
            return props
    raise KeyError(service)


def _chosen(value: Any, parameters: dict[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        name, yes, no = value["Fn::If"]
        return _chosen(yes if cfn.resolver(parameters).condition(name) else no, parameters)
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] != "AWS::NoValue":
        return cfn.resolver(parameters).resolve(value)
    return value


@pytest.mark.parametrize(("value", "expected"), [("0", {"Ref": "AWS::NoValue"}), ("1", "1"), ("5", "5")])
def test_execution_reserved_concurrency_is_off_by_default_and_a_parameter(value, expected):
    parameter = cfn.raw()["Parameters"]["ExecutionReservedConcurrency"]
    assert str(parameter["Default"]) == "0" and parameter["MinValue"] == 0
    props = _deployed_function("execution")
    assert str(_chosen(props["ReservedConcurrentExecutions"], {"ExecutionReservedConcurrency": value})) == str(expected)
    for service in ("strategy", "portfolio", "orchestrator"):
        assert "ReservedConcurrentExecutions" not in _deployed_function(service), service


@pytest.mark.parametrize(("tracing", "mode", "disabled"), [("Disabled", "PassThrough", "true"),
                                                             ("Active", "Active", "false")])
def test_tracing_turns_on_xray_and_powertools_tracer_together_and_is_off_by_default(tracing, mode, disabled):
    assert cfn.raw()["Parameters"]["Tracing"]["Default"] == "Disabled"
    for service in cfn.SERVICES:
        props = _deployed_function(service)
        assert _chosen(props["TracingConfig"]["Mode"], {"Tracing": tracing}) == mode, service
        env = props["Environment"]["Variables"]
        assert _chosen(env["POWERTOOLS_TRACE_DISABLED"], {"Tracing": tracing}) == disabled, service
