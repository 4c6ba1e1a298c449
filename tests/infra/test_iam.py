"""Least privilege, per function, on the template as deployed (after the SAM transform).

Each function has its own role: exactly the grants listed below, and the general rules hold for
any future grant too: no wildcard actions, `"*"` only where AWS has no resource-level permission
(and then with a condition), and every resource a grant names is one the function is configured
with (its environment), its own log group, or its on-failure destination.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared.runtime.metric_names import NAMESPACE
from tests.infra import cfn
from tests.infra.code_imports import module_file, reachable

ROLE = "AWS::IAM::Role"
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
# Actions AWS offers no resource-level permission for; each must carry a condition (None: AWS
# offers no condition key that narrows it either).
NO_RESOURCE_LEVEL = {"cloudwatch:PutMetricData": "cloudwatch:namespace",
                     "xray:PutTraceSegments": None, "xray:PutTelemetryRecords": None}
# Grants not tied to a client the code builds: the runtime writes the logs, Lambda sends failed
# asynchronous invocations to the DLQ with the function's role, EMF metrics go through the logs,
# the Lambda runtime sends the X-Ray segments (Tracing=Active).
PLATFORM_SERVICES = {"logs", "sqs", "cloudwatch", "xray"}
# Template parameters that change what a role is granted (tests/infra/test_iam.py checks each).
TRACING = {"Tracing": "Active"}
NO_ALPACA_STRATEGY = {"StrategyMarketData": "offline", "TradingCalendar": "exchange"}
LOCAL_PNL = {"PnlSource": "local"}


@dataclass(frozen=True)
class Statement:
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: dict[str, Any]
    origin: str


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(document: dict[str, Any], origin: str) -> list[Statement]:
    out = []
    for stmt in document["Statement"]:
        assert stmt["Effect"] == "Allow", f"{origin}: only Allow statements are expected in a role"
        assert not {"NotAction", "NotResource"} & set(stmt), f"{origin}: NotAction/NotResource are too broad"
        out.append(Statement(tuple(_listed(stmt["Action"])), tuple(cfn.text(r) for r in _listed(stmt["Resource"])),
                             stmt.get("Condition", {}), f"{origin}/{stmt.get('Sid', '?')}"))
    return out


def role_statements(role_id: str, template: dict[str, Any],
                    parameters: dict[str, str] | None = None) -> list[Statement]:
    """The role's statements as deployed with `parameters` (template defaults for the rest)."""
    props = template["Resources"][role_id]["Properties"]
    found = [s for p in props.get("Policies", []) for s in _statements(p["PolicyDocument"], role_id)]
    for arn in props.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and set(arn) == {"Fn::If"}:
            condition, when_true, when_false = arn["Fn::If"]
            arn = when_true if cfn.resolver(parameters).condition(condition) else when_false
            if arn == {"Ref": "AWS::NoValue"}:
                continue
        assert isinstance(arn, dict) and "Ref" in arn, f"{role_id}: AWS managed policy {arn} (grant explicitly)"
        policy = template["Resources"][arn["Ref"]]
        assert policy["Type"] == MANAGED_POLICY
        found += _statements(policy["Properties"]["PolicyDocument"], arn["Ref"])
    return found


def grants(statements: list[Statement]) -> set[tuple[str, str]]:
    return {(a, r) for s in statements for a in s.actions for r in s.resources}


def _pairs(actions: list[str], *resources: str) -> set[tuple[str, str]]:
    return {(a, r) for a in actions for r in resources}


BUS, IDEMPOTENCY, DLQ = "${EventBus.Arn}", "${IdempotencyTable.Arn}", "${EventDLQ.Arn}"
BARS = "${BarsBucket.Arn}"
KILL_SWITCH = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${KillSwitchParameter}"
SECRET_NAME = "If(DefaultAlpacaSecretName, alchemiser/${Stage}/alpaca, ${AlpacaSecretName})"
SECRET = f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{SECRET_NAME}-??????"
RECORD_RW = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
COMMON = (
    _pairs(["events:PutEvents"], BUS)
    | _pairs(RECORD_RW, IDEMPOTENCY)
    | _pairs(["sqs:SendMessage"], DLQ)
    | _pairs(["cloudwatch:PutMetricData"], "*")
)
ALPACA = _pairs(["secretsmanager:GetSecretValue"], SECRET)


def _logs(prefix: str) -> set[tuple[str, str]]:
    return _pairs(["logs:CreateLogStream", "logs:PutLogEvents"], f"${{{prefix}LogGroup.Arn}}")


EXPECTED = {
    "strategy": COMMON | ALPACA | _logs("Strategy")
    | _pairs(["s3:GetObject", "s3:PutObject"], f"{BARS}/bars/*") | _pairs(["s3:ListBucket"], BARS),
    "portfolio": COMMON | ALPACA | _logs("Portfolio"),
    "execution": COMMON | ALPACA | _logs("Execution")
    | _pairs(["ssm:GetParameter"], KILL_SWITCH),
    "orchestrator": COMMON | ALPACA | _logs("Orchestrator")
    | _pairs(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"], "${WorkflowTable.Arn}")
    | _pairs(["dynamodb:Query"], "${WorkflowTable.Arn}/index/open-workflows")
    | _pairs(["sns:Publish"], "${NotificationTopic}"),
}


@pytest.fixture(scope="module")
def deployed() -> dict[str, Any]:
    return cfn.transformed()


def _function(template: dict[str, Any], service: str) -> tuple[str, dict[str, Any]]:
    for lid, res in template["Resources"].items():
        if res["Type"] == "AWS::Lambda::Function" and res["Properties"]["Handler"].startswith(f"services.{service}."):
            return lid, res
    raise KeyError(service)


def _role_of(template: dict[str, Any], service: str) -> str:
    _, fn = _function(template, service)
    role = fn["Properties"]["Role"]
    assert set(role) == {"Fn::GetAtt"} and role["Fn::GetAtt"][1] == "Arn", f"{service}: Role must be !GetAtt <Role>.Arn"
    return str(role["Fn::GetAtt"][0])


def _environment(template: dict[str, Any], service: str) -> dict[str, Any]:
    _, fn = _function(template, service)
    variables: dict[str, Any] = fn["Properties"]["Environment"]["Variables"]
    return variables


def test_each_function_has_its_own_role_and_sam_adds_none():
    deployed_roles = set(cfn.resources(ROLE, cfn.transformed()))
    assert deployed_roles == set(cfn.resources(ROLE)), "the SAM transform created or dropped a role"
    roles = [_role_of(cfn.transformed(), s) for s in cfn.SERVICES]
    assert len(set(roles)) == len(roles)
    for service in cfn.SERVICES:
        _, fn = cfn.function_of(service)
        assert "Policies" not in fn["Properties"], f"{service}: grants belong on its role, not SAM policy templates"


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_each_function_has_exactly_the_grants_it_needs(deployed, service):
    actual = grants(role_statements(_role_of(deployed, service), deployed))
    expected = EXPECTED[service]
    assert actual == expected, {"unexpected": sorted(actual - expected), "missing": sorted(expected - actual)}


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_no_wildcard_actions_and_star_resources_only_where_aws_offers_nothing_narrower(deployed, service):
    for stmt in role_statements(_role_of(deployed, service), deployed):
        for action in stmt.actions:
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), f"{stmt.origin}: wildcard action {action}"
        if "*" in stmt.resources:
            assert set(stmt.actions) <= set(NO_RESOURCE_LEVEL), f"{stmt.origin}: {stmt.actions} on '*'"
            for action in stmt.actions:
                key = NO_RESOURCE_LEVEL[action]
                if key is not None:
                    assert any(key in block for block in stmt.condition.values()), f"{stmt.origin}: needs {key}"


def test_metrics_may_be_put_only_in_the_alchemiser_namespace(deployed):
    for service in cfn.SERVICES:
        for stmt in role_statements(_role_of(deployed, service), deployed):
            if "cloudwatch:PutMetricData" in stmt.actions:
                assert stmt.condition == {"StringEquals": {"cloudwatch:namespace": NAMESPACE}}, stmt.origin


def _own_resources(template: dict[str, Any], service: str) -> set[str]:
    """Logical ids a function may be granted: what its environment names, its log group, its DLQ."""
    env = _environment(template, service)
    named = {ref for value in env.values() for ref in cfn.refs_in(value)} - {"AWS"}
    fn_id, _ = _function(template, service)
    config = template["Resources"][f"{fn_id}EventInvokeConfig"]["Properties"]
    destination = config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    log_group = template["Resources"][fn_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    return named | {destination, log_group}


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_grants_name_only_resources_the_function_is_configured_with(deployed, service):
    allowed = _own_resources(deployed, service) | {"AWS", "AlpacaSecretName", "DefaultAlpacaSecretName", "Stage"}
    for stmt in role_statements(_role_of(deployed, service), deployed):
        for resource in stmt.resources:
            named = set(re.findall(r"\$\{([A-Za-z0-9]+)", resource)) | set(re.findall(r"If\((\w+)", resource))
            assert named <= allowed, f"{stmt.origin}: {resource} names {named - allowed}, not in {service}'s config"


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_every_resource_a_function_is_configured_with_is_granted(deployed, service):
    env = _environment(deployed, service)
    granted = " ".join(r for _, r in grants(role_statements(_role_of(deployed, service), deployed)))
    for name, value in env.items():
        for ref in cfn.refs_in(value) & set(deployed["Resources"]):
            assert f"${{{ref}" in granted, f"{service}: {name} names {ref} but the role grants nothing on it"
    secret_name = cfn.text(env["ALCHEMISER_ALPACA_SECRET_NAME"]) if "ALCHEMISER_ALPACA_SECRET_NAME" in env else None
    if secret_name is not None and ("secretsmanager:GetSecretValue", SECRET) in EXPECTED[service]:
        assert secret_name == SECRET_NAME, "the secret the role may read is not the one the function is told to read"


BUILDS_A_CLIENT = re.compile(r"""(?:(?:boto3|aws_clients)\.client|given_or_shared)\(\s*["']([a-z0-9-]+)["']""")


def _aws_clients(service: str) -> set[str]:
    """AWS services the function's code builds a boto3 client for (directly or through the cached factory
    shared/runtime/aws_clients.py, `client` or `given_or_shared`; Powertools idempotency: DynamoDB;
    Powertools Parameters: Secrets Manager and SSM)."""
    found: set[str] = set()
    for module in reachable(service):
        path = module_file(module)
        text = path.read_text(encoding="utf-8") if path is not None else ""
        found |= set(re.findall(BUILDS_A_CLIENT, text))
        if "DynamoDBPersistenceLayer" in text:
            found.add("dynamodb")
        if re.search(r"\bSecretsProvider\(|\bget_secret\(", text):
            found.add("secretsmanager")
        if re.search(r"\bSSMProvider\(|\bget_parameter\(", text):
            found.add("ssm")
    return found


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_every_grant_is_for_an_aws_service_the_functions_code_calls(deployed, service):
    prefixes = {a.split(":")[0] for a, _ in grants(role_statements(_role_of(deployed, service), deployed))}
    unused = prefixes - PLATFORM_SERVICES - _aws_clients(service)
    assert not unused, f"{service} is granted {sorted(unused)} but its code builds no such client"


def _may_read_alpaca(deployed: dict[str, Any], service: str, parameters: dict[str, str]) -> bool:
    return ("secretsmanager:GetSecretValue", SECRET) in grants(role_statements(_role_of(deployed, service), deployed,
                                                                               parameters))


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_the_alpaca_secret_is_readable_exactly_by_the_functions_whose_code_reads_it(deployed, service):
    reads_secret = "shared.venues.alpaca.keys" in reachable(service)
    assert _may_read_alpaca(deployed, service, {}) == reads_secret, f"{service}: reads the secret: {reads_secret}"


@pytest.mark.parametrize(("parameters", "readers"), [
    ({}, {"strategy", "portfolio", "execution", "orchestrator"}),
    (NO_ALPACA_STRATEGY, {"portfolio", "execution", "orchestrator"}),
    ({"StrategyMarketData": "offline"}, {"strategy", "portfolio", "execution", "orchestrator"}),
    ({"TradingCalendar": "exchange"}, {"strategy", "portfolio", "execution", "orchestrator"}),
    (LOCAL_PNL, {"strategy", "portfolio", "execution", "orchestrator"}),
    ({**NO_ALPACA_STRATEGY, **LOCAL_PNL}, {"portfolio", "execution", "orchestrator"}),
])
def test_the_alpaca_secret_goes_only_to_the_functions_that_call_alpaca_on_their_configured_path(
        deployed, parameters, readers):
    """The strategy calls Alpaca for bars (StrategyMarketData) or the calendar (TradingCalendar); portfolio and
    execution always (the broker), and the orchestrator always too: its stuck check settles orders whose
    outcome execution could not learn from the broker's book (and P&L may come from Alpaca)."""
    assert {s for s in cfn.SERVICES if _may_read_alpaca(deployed, s, parameters)} == readers


@pytest.mark.parametrize(("service", "parameter", "setting", "variable"), [
    ("strategy", "StrategyMarketData", "market_data_source", "ALCHEMISER_MARKET_DATA"),
    ("strategy", "TradingCalendar", "calendar_source", "ALCHEMISER_CALENDAR"),
    ("orchestrator", "PnlSource", "resolved_pnl_source", "ALCHEMISER_PNL_SOURCE"),
])
def test_the_parameters_that_decide_the_secret_grant_are_the_settings_the_code_obeys(service, parameter, setting,
                                                                                     variable):
    from services.orchestrator.settings import OrchestratorSettings
    from services.strategy.settings import StrategySettings

    settings_type = {"strategy": StrategySettings, "orchestrator": OrchestratorSettings}[service]
    _, fn = cfn.function_of(service)
    for value in cfn.raw()["Parameters"][parameter]["AllowedValues"]:
        passed = str(cfn.resolver({parameter: value}).resolve(fn["Properties"]["Environment"]["Variables"][variable]))
        settings = settings_type.from_env({variable: passed, "ALCHEMISER_BACKEND": "aws"})
        assert getattr(settings, setting) == value, f"{parameter}={value} passes {variable}={passed!r}"
    default = str(cfn.resolver().resolve(fn["Properties"]["Environment"]["Variables"][variable]))
    assert default == "", "with the default the local runtime (which reads the template) keeps its own default"


# ------------------------------------------------------------------ the IdempotencyTable, per key prefix
def _expected_prefixes() -> dict[str, dict[str, set[str]]]:
    """Per function: the key prefixes it writes (read-write) and the ones it only reads, from the code."""
    from services.execution.dependencies import PLAN_OPERATION
    from services.execution.workflow_guard import KEY_PREFIX as EXECUTION_GUARD
    from services.orchestrator.dependencies import CLAIMS_OPERATION
    from services.portfolio.dependencies import OPERATION as PORTFOLIO_OPERATION
    from services.strategy.dependencies import OPERATION as STRATEGY_OPERATION
    from shared.broker.positions_record import KEY_PREFIX as POSITIONS_RECORD
    from shared.runtime.published_facts import FACT_PREFIX

    # Workflow facts (shared/runtime/published_facts.py, fact_key): each function writes its own (its
    # publisher records what it publishes); portfolio and execution read their upstream's, the orchestrator
    # every other function's.
    fact = {kind: f"{prefix}#" for kind, prefix in FACT_PREFIX.items()}
    return {
        "strategy": {"rw": {f"{STRATEGY_OPERATION}#", fact["strategy"]}, "read": set()},
        "portfolio": {"rw": {f"{PORTFOLIO_OPERATION}#", fact["portfolio"], POSITIONS_RECORD},
                      "read": {fact["strategy"]}},
        "execution": {"rw": {f"{PLAN_OPERATION}#", EXECUTION_GUARD, fact["execution"]}, "read": {fact["portfolio"]}},
        "orchestrator": {"rw": {f"{CLAIMS_OPERATION}#", fact["orchestrator"]},
                         "read": {fact["strategy"], fact["portfolio"], fact["execution"]}},
    }


def _table_grants(statements: list[Statement]) -> set[tuple[str, str]]:
    """(action, key pattern) for every IdempotencyTable grant; each must be scoped by LeadingKeys."""
    out = set()
    for stmt in statements:
        if IDEMPOTENCY not in stmt.resources:
            continue
        assert stmt.resources == (IDEMPOTENCY,), stmt.origin
        assert set(stmt.condition) == {"ForAllValues:StringLike"}, f"{stmt.origin}: table grant without LeadingKeys"
        (key, patterns), = stmt.condition["ForAllValues:StringLike"].items()
        assert key == "dynamodb:LeadingKeys", stmt.origin
        out |= {(a, p) for a in stmt.actions for p in _listed(patterns)}
    return out


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_each_function_writes_only_the_table_keys_it_owns_and_reads_only_its_upstream_facts(deployed, service):
    expected = _expected_prefixes()[service]
    want = {(a, f"{p}*") for p in expected["rw"] for a in RECORD_RW} | \
        {("dynamodb:GetItem", f"{p}*") for p in expected["read"]}
    assert _table_grants(role_statements(_role_of(deployed, service), deployed)) == want


def test_no_two_functions_may_write_the_same_table_keys():
    owned = [(s, p) for s, e in _expected_prefixes().items() for p in e["rw"]]
    for service, prefix in owned:
        for other, other_prefix in owned:
            if other != service:
                assert not prefix.startswith(other_prefix) and not other_prefix.startswith(prefix), \
                    f"{service} {prefix!r} and {other} {other_prefix!r} overlap"


def test_powertools_idempotency_keys_start_with_the_operation_name(monkeypatch):
    """The LeadingKeys grants assume Powertools writes `<operation>#<hash>`; check it on DynamoDB."""
    import boto3
    from moto import mock_aws

    from shared.runtime.idempotency import IdempotentOperation, make_persistence
    from tests.fakes.aws_from_template import create_table

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        table = create_table("IdempotencyTable")
        persistence = make_persistence(table_name=table, state_dir=Path("unused"), local=False)
        persistence.client = boto3.client("dynamodb")  # not the container's cached client (outside moto)
        IdempotentOperation("execution-plan", persistence, expires_after_seconds=60).run("k", lambda: {"ok": 1})
        ids = [i["id"]["S"] for i in boto3.client("dynamodb").scan(TableName=table)["Items"]]
    assert ids and all(i.startswith("execution-plan#") for i in ids), ids


# ------------------------------------------------------------------ optional grants
WEBHOOK_SECRET = ("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:"
                  "secret:${WebhookSecretName}-??????")


def test_the_webhook_secret_is_readable_by_the_orchestrator_alone_and_only_when_configured(deployed):
    configured = {"WebhookSecretName": "alchemiser/dev/webhook"}
    for service in cfn.SERVICES:
        role = _role_of(deployed, service)
        off = grants(role_statements(role, deployed))
        on = grants(role_statements(role, deployed, configured))
        assert ("secretsmanager:GetSecretValue", WEBHOOK_SECRET) not in off, service
        assert on - off == (_pairs(["secretsmanager:GetSecretValue"], WEBHOOK_SECRET)
                            if service == "orchestrator" else set()), service
    _, fn = _function(deployed, "orchestrator")
    assert fn["Properties"]["Environment"]["Variables"]["ALCHEMISER_WEBHOOK_SECRET_NAME"] == \
        {"Ref": "WebhookSecretName"}


def test_tracing_adds_only_the_xray_segment_grants_and_only_when_active(deployed):
    for service in cfn.SERVICES:
        role = _role_of(deployed, service)
        off = grants(role_statements(role, deployed))
        on = grants(role_statements(role, deployed, TRACING))
        assert not any(a.startswith("xray:") for a, _ in off), service
        assert on - off == _pairs(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"), service


def test_the_kill_switch_is_readable_by_execution_alone_and_nothing_may_write_it(deployed):
    for service in cfn.SERVICES:
        actions = {a for a, _ in grants(role_statements(_role_of(deployed, service), deployed))}
        ssm = {a for a in actions if a.startswith("ssm:")}
        assert ssm == ({"ssm:GetParameter"} if service == "execution" else set()), service


def test_the_scheduler_role_invokes_exactly_the_scheduled_functions_and_dead_letters_to_the_dlq(deployed):
    schedules = cfn.resources("AWS::Scheduler::Schedule", deployed).values()
    targets = {cfn.text(s["Properties"]["Target"]["Arn"]) for s in schedules}
    (role,) = {s["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0] for s in schedules}
    assert grants(role_statements(role, deployed)) == _pairs(["lambda:InvokeFunction"], *targets) | \
        _pairs(["sqs:SendMessage"], DLQ)
    trust = deployed["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [t["Condition"] for t in trust] == [{"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}]


def test_the_alpaca_secret_is_referenced_never_created():
    assert not cfn.resources("AWS::SecretsManager::Secret")
    assert "${AlpacaSecretName}" in SECRET


def test_no_role_has_a_fixed_name_so_capability_iam_suffices():
    for lid, res in cfn.resources(ROLE).items():
        assert "RoleName" not in res["Properties"], lid
    for lid, res in cfn.resources(MANAGED_POLICY).items():
        assert "ManagedPolicyName" not in res["Properties"], lid
