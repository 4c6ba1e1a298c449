"""The event bus's resource policy: only this stack's functions, each with its own source and only
the detail-types it produces (shared/events/catalog.py), and the optional operator (alchemiser.*
sources only) may put events on the bus; AWS services (archive replays) are not affected.

The policy is a set of Deny statements (AWS::Events::EventBusPolicy resources): in one account an
identity policy alone grants PutEvents, so only a Deny keeps everyone else off the bus. The small
evaluator below applies the statements' conditions to a request the way IAM does for the
operators they use, so the tests check what the policy decides, not how it is spelled.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from shared.events.catalog import ROUTES, SOURCE_OF, SOURCE_PREFIX
from tests.infra import cfn

POLICY = "AWS::Events::EventBusPolicy"
OPERATOR = "arn:aws:iam::123456789012:role/alchemiser-operator"
ROLE_OF = {"strategy": "StrategyRole", "portfolio": "PortfolioRole", "execution": "ExecutionRole",
           "orchestrator": "OrchestratorRole"}


def _role_arn(logical_id: str) -> str:
    return f"arn:aws:iam::123456789012:role/{logical_id}"


class _Values:
    """Resolve the intrinsics the statements use, with role ARNs standing in for !GetAtt Role.Arn."""

    def __init__(self, parameters: dict[str, str]) -> None:
        self.resolver = cfn.resolver(parameters)
        self.parameters = parameters

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            resolved = [self(v) for v in value]
            return [v for v in resolved if v is not _NO_VALUE]
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            assert attribute == "Arn"
            return _role_arn(logical_id) if logical_id in ROLE_OF.values() else f"arn:bus:{logical_id}"
        if isinstance(value, dict) and set(value) == {"Fn::If"}:
            name, yes, no = value["Fn::If"]
            return self(yes if self.resolver.condition(name) else no)
        if value == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return self.resolver.resolve(value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value


_NO_VALUE = object()


def _statements(parameters: dict[str, str]) -> list[dict[str, Any]]:
    values = _Values(parameters)
    out = []
    for lid, res in cfn.resources(POLICY).items():
        if "Condition" in res and not values.resolver.condition(res["Condition"]):
            continue
        assert res["Properties"]["EventBusName"] == {"Ref": "EventBus"}, lid
        out.append(values(res["Properties"]["Statement"]))
    return out


def _holds(operator: str, key: str, wanted: Any, request: dict[str, Any]) -> bool:
    wanted = wanted if isinstance(wanted, list) else [wanted]
    actual = request.get(key)
    if operator in ("ArnEquals", "StringEquals"):
        return actual in wanted
    if operator in ("ArnNotEquals", "StringNotEquals"):
        return actual not in wanted  # a missing key also "does not equal"
    if operator == "StringNotLike":
        return not any(fnmatch.fnmatchcase(str(actual), w) for w in wanted)
    if operator == "Bool":
        return str(actual).lower() in [str(w).lower() for w in wanted]
    raise AssertionError(f"the evaluator does not know {operator}; extend it with the policy")


def produced_by(service: str) -> list[str]:
    """The detail-types `service` publishes, from the route table."""
    return sorted(r.detail_type for r in ROUTES.values() if service in r.producers)


def denied(principal: str, source: str, *, detail_type: str | None = None, parameters: dict[str, str] | None = None,
           service: bool = False) -> bool:
    """Whether the bus policy denies this PutEvents entry (`detail_type` unset: one the principal's function
    produces, else WorkflowFailed)."""
    if detail_type is None:
        own = next((s for s, role in ROLE_OF.items() if _role_arn(role) == principal), None)
        detail_type = produced_by(own)[0] if own else "WorkflowFailed"
    request = {"aws:PrincipalArn": principal, "events:source": source, "events:detail-type": detail_type,
               "aws:PrincipalIsAWSService": "true" if service else "false"}
    for stmt in _statements(parameters or {}):
        assert stmt["Effect"] == "Deny" and stmt["Principal"] == "*" and stmt["Action"] == "events:PutEvents", stmt
        assert stmt["Resource"] == "arn:bus:EventBus", stmt
        if all(_holds(op, key, wanted, request) for op, block in stmt["Condition"].items()
               for key, wanted in block.items()):
            return True
    return False


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_each_function_may_publish_its_own_source_only(service):
    role = _role_arn(ROLE_OF[service])
    assert not denied(role, SOURCE_OF[service])
    for other in cfn.SERVICES:
        if other != service:
            assert denied(role, SOURCE_OF[other]), f"{service} may publish as {other}"
    assert denied(role, "aws.scheduler") and denied(role, "alchemiser.anything")


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_each_function_may_put_only_the_detail_types_it_produces(service):
    role, source = _role_arn(ROLE_OF[service]), SOURCE_OF[service]
    for detail_type in ROUTES:
        assert denied(role, source, detail_type=detail_type) == (detail_type not in produced_by(service)), \
            f"{service} putting {detail_type}"
    assert denied(role, source, detail_type="Scheduled Event") and denied(role, source, detail_type="TestEvent")


def test_only_the_orchestrator_and_the_steps_that_fail_closed_may_put_workflow_failed():
    may = {s for s in cfn.SERVICES if not denied(_role_arn(ROLE_OF[s]), SOURCE_OF[s], detail_type="WorkflowFailed")}
    assert may == {"strategy", "portfolio", "orchestrator"}  # execution reports its failures in TradeExecuted


def test_the_detail_types_the_policy_names_are_the_ones_the_route_table_gives_each_function():
    named: dict[str, set[str]] = {}
    for stmt in _statements({}):
        for block in stmt["Condition"].values():
            if "events:detail-type" in block:
                (principal,) = [b["aws:PrincipalArn"] for b in stmt["Condition"].values() if "aws:PrincipalArn" in b]
                named[principal] = set(block["events:detail-type"])
    assert named == {_role_arn(ROLE_OF[s]): set(produced_by(s)) for s in cfn.SERVICES}


def test_the_sources_the_policy_names_are_the_ones_the_code_publishes_with():
    statements = _statements({})
    named = {block["events:source"] for s in statements for op, block in s["Condition"].items()
             if "events:source" in block}
    assert named == set(SOURCE_OF.values())


@pytest.mark.parametrize("source", [*SOURCE_OF.values(), "aws.scheduler", "anything"])
def test_nobody_else_in_the_account_may_publish_by_default(source):
    assert denied("arn:aws:iam::123456789012:role/Admin", source)
    assert denied(OPERATOR, source), "the operator is off the bus until OperatorPrincipalArn names it"


def test_the_operator_when_named_may_resend_any_alchemiser_event_and_nothing_else():
    with_operator = {"OperatorPrincipalArn": OPERATOR}
    for source in SOURCE_OF.values():
        assert source.startswith(SOURCE_PREFIX)
        assert not denied(OPERATOR, source, parameters=with_operator)
    assert denied(OPERATOR, "aws.scheduler", parameters=with_operator)
    assert denied(OPERATOR, "custom.app", parameters=with_operator)
    assert denied("arn:aws:iam::123456789012:role/Other", SOURCE_OF["portfolio"], parameters=with_operator)


def test_aws_services_such_as_archive_replays_are_not_denied():
    assert not denied("", SOURCE_OF["portfolio"], service=True)


def test_the_operator_parameter_accepts_role_and_user_arns_and_empty_only():
    import re

    pattern = cfn.raw()["Parameters"]["OperatorPrincipalArn"]["AllowedPattern"]
    assert cfn.raw()["Parameters"]["OperatorPrincipalArn"]["Default"] == ""
    for ok in ("", OPERATOR, "arn:aws:iam::123456789012:user/alice",
               "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123abcd"):
        assert re.fullmatch(pattern, ok), ok
    for bad in ("*", "arn:aws:sts::123456789012:assumed-role/Admin/session", "123456789012"):
        assert not re.fullmatch(pattern, bad), bad
