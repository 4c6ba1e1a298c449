"""The dashboard and the alarms name only metrics the code emits, the way it emits them.

Both ways: every metric in shared/runtime/metric_names.py is on the dashboard for every function
that emits it, and every Alchemiser metric the template names is listed there, referenced (by its
constant) by code outside metric_names.py, and shown with a `service` dimension of a function
whose code references it. AWS metrics name this stack's functions, rules and queue.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from shared.runtime import metric_names
from shared.runtime.observability import count, make_metrics
from tests.infra import cfn
from tests.infra.code_imports import all_local_modules, module_file, reachable

CONSTANTS = {name: value for name, value in vars(metric_names).items() if name.isupper() and name != "NAMESPACE"}
NAMES = set(CONSTANTS.values())
NS = metric_names.NAMESPACE
METRIC_NAMES_MODULE = "shared.runtime.metric_names"


@cache
def _references(module: str) -> frozenset[str]:
    """Metric names whose constants `module` uses (metric_names.X, or X imported from it)."""
    path = module_file(module)
    if path is None or module == METRIC_NAMES_MODULE:
        return frozenset()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = {"metric_names"}
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "shared.runtime":
            aliases |= {a.asname or a.name for a in node.names if a.name == "metric_names"}
        if isinstance(node, ast.ImportFrom) and node.module == METRIC_NAMES_MODULE:
            imported |= {a.asname or a.name for a in node.names if a.name in CONSTANTS}
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases \
                and node.attr in CONSTANTS:
            used.add(CONSTANTS[node.attr])
        elif isinstance(node, ast.Name) and node.id in imported:
            used.add(CONSTANTS[node.id])
    return frozenset(used)


@cache
def emitted_anywhere() -> frozenset[str]:
    return frozenset(name for module in all_local_modules() for name in _references(module))


@cache
def emitters(name: str) -> frozenset[str]:
    """The functions whose code references the metric's constant."""
    return frozenset(s for s in cfn.SERVICES if any(name in _references(m) for m in reachable(s)))


# ------------------------------------------------------------------ what the template names
def _dashboard() -> dict[str, Any]:
    (dashboard,) = cfn.resources("AWS::CloudWatch::Dashboard").values()
    body = cfn.resolver().resolve(dashboard["Properties"]["DashboardBody"])
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def _dashboard_metrics() -> Iterator[tuple[str, str, dict[str, str], str]]:
    """(namespace, metric name, dimensions, widget title) for every metric line on the dashboard."""
    for widget in _dashboard()["widgets"]:
        for line in widget.get("properties", {}).get("metrics", []):
            fields = [f for f in line if not isinstance(f, dict)]
            assert "." not in fields and ".." not in fields, "write dashboard metrics in full (no '.' shorthand)"
            namespace, name, *dims = fields
            assert len(dims) % 2 == 0, line
            yield namespace, name, dict(zip(dims[::2], dims[1::2], strict=True)), widget["properties"]["title"]


def _alarm_metrics() -> Iterator[tuple[str, str, dict[str, str], str]]:
    resolve = cfn.resolver().resolve
    for lid, alarm in cfn.resources("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        if "MetricName" in props:
            yield props["Namespace"], props["MetricName"], \
                {d["Name"]: str(resolve(d["Value"])) for d in props.get("Dimensions", [])}, lid
        for query in props.get("Metrics", []):
            if "MetricStat" in query:
                metric = query["MetricStat"]["Metric"]
                yield metric["Namespace"], metric["MetricName"], \
                    {d["Name"]: str(resolve(d["Value"])) for d in metric.get("Dimensions", [])}, lid


def _all_named() -> list[tuple[str, str, dict[str, str], str]]:
    return [*_dashboard_metrics(), *_alarm_metrics()]


# ------------------------------------------------------------------ our metrics
def test_the_code_emits_in_the_namespace_the_template_and_the_iam_condition_use():
    globals_env = cfn.raw()["Globals"]["Function"]["Environment"]["Variables"]
    assert globals_env["POWERTOOLS_METRICS_NAMESPACE"] == NS


def test_the_code_emits_with_the_service_dimension_only_as_the_template_expects():
    metrics = make_metrics("orchestrator")
    count(metrics, metric_names.WORKFLOWS_COMPLETED)
    emf = metrics.serialize_metric_set()
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"], emf["service"]) == (NS, [["service"]], "orchestrator")
    for module in all_local_modules():
        path = module_file(module)
        source = path.read_text(encoding="utf-8") if path is not None else ""
        assert "add_dimension(" not in source and "set_default_dimensions(" not in source, \
            f"{module} adds a metric dimension: the dashboard and alarms would no longer find its metrics"


def test_every_alchemiser_metric_the_template_names_is_listed_in_metric_names():
    unknown = {(name, where) for ns, name, _, where in _all_named() if ns == NS and name not in NAMES}
    assert not unknown, f"not in shared/runtime/metric_names.py: {sorted(unknown)}"


def test_every_alchemiser_metric_the_template_names_is_emitted_by_the_code():
    named = {name for ns, name, _, _ in _all_named() if ns == NS}
    missing = sorted(named - emitted_anywhere())
    assert not missing, f"named by the dashboard/alarms but never referenced by services/ or shared/: {missing}"


def test_every_metric_the_code_lists_is_on_the_dashboard():
    shown = {name for ns, name, _, _ in _dashboard_metrics() if ns == NS}
    assert NAMES - shown == set(), f"listed in metric_names.py but not on the dashboard: {sorted(NAMES - shown)}"


def test_each_metric_is_shown_with_the_service_dimension_of_the_functions_that_emit_it():
    shown: dict[str, set[str]] = {}
    for ns, name, dims, where in _all_named():
        if ns != NS:
            continue
        assert set(dims) == {"service"}, f"{where}: {name} has dimensions {dims}; the code emits only `service`"
        assert dims["service"] in emitters(name), \
            f"{where}: {name} with service={dims['service']}, but only {sorted(emitters(name))} emit it"
        shown.setdefault(name, set()).add(dims["service"])
    dashboard = {}
    for ns, name, dims, _ in _dashboard_metrics():
        if ns == NS:
            dashboard.setdefault(name, set()).add(dims["service"])
    for name in NAMES:
        assert dashboard.get(name, set()) >= emitters(name), \
            f"{name}: emitted by {sorted(emitters(name))}, shown for {sorted(dashboard.get(name, set()))}"


# ------------------------------------------------------------------ AWS metrics
def _names_of(of_type: str) -> dict[str, str]:
    resolve = cfn.resolver().resolve
    key = {"AWS::Serverless::Function": "FunctionName", "AWS::Events::Rule": "Name",
           "AWS::SQS::Queue": "QueueName"}[of_type]
    return {lid: str(resolve(res["Properties"][key])) for lid, res in cfn.resources(of_type).items()}


def test_the_dashboard_shows_each_functions_errors_duration_and_throttles():
    shown = {(name, dims.get("FunctionName")) for ns, name, dims, _ in _dashboard_metrics() if ns == "AWS/Lambda"}
    for function in _names_of("AWS::Serverless::Function").values():
        assert {(m, function) for m in ("Errors", "Duration", "Throttles")} <= shown, function


def test_the_dashboard_shows_each_rules_invocations_and_failed_invocations_on_our_bus():
    bus = cfn.resolver().name_of("EventBus")
    rules = cfn.resources("AWS::Events::Rule")
    for lid, rule in _names_of("AWS::Events::Rule").items():
        on_our_bus = rules[lid]["Properties"].get("EventBusName") == {"Ref": "EventBus"}
        # AWS/Events metrics of a rule on the default bus carry RuleName alone.
        shown = {(name, dims.get("RuleName")) for ns, name, dims, _ in _dashboard_metrics()
                 if ns == "AWS/Events" and dims.get("EventBusName") == (bus if on_our_bus else None)}
        assert {("Invocations", rule), ("FailedInvocations", rule)} <= shown, rule


def test_the_dashboard_shows_the_dlq_depth():
    (queue,) = _names_of("AWS::SQS::Queue").values()
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue}) in \
        [(ns, name, dims) for ns, name, dims, _ in _dashboard_metrics()]


def test_aws_metrics_name_only_this_stacks_resources():
    known = {*_names_of("AWS::Serverless::Function").values(), *_names_of("AWS::Events::Rule").values(),
             *_names_of("AWS::SQS::Queue").values(), cfn.resolver().name_of("EventBus")}
    for ns, name, dims, where in _all_named():
        if ns.startswith("AWS/"):
            assert set(dims.values()) <= known, f"{where}: {ns} {name} {dims}"


# ------------------------------------------------------------------ alarms
def _alarms() -> dict[str, dict[str, Any]]:
    return {lid: res["Properties"] for lid, res in cfn.resources("AWS::CloudWatch::Alarm").items()}


def test_every_alarm_notifies_the_topic_directly():
    for lid, props in _alarms().items():
        assert props["AlarmActions"] == [{"Ref": "NotificationTopic"}], lid
        assert props.get("OKActions") == [{"Ref": "NotificationTopic"}], f"{lid}: the operator hears when it clears too"
    assert not cfn.resources("AWS::SNS::Topic")["NotificationTopic"]["Properties"].get("KmsMasterKeyId"), \
        "CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key"


@pytest.mark.parametrize(("what", "namespace", "metric"), [
    ("the dead-letter queue is not empty", "AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    ("a workflow failed", NS, metric_names.WORKFLOWS_FAILED),
    ("a workflow is stuck", NS, metric_names.WORKFLOWS_STUCK),
    ("orders reached the broker for a terminal workflow", NS, metric_names.EXECUTIONS_AFTER_TERMINAL),
    ("a plan was refused because another plan claimed its workflow", NS, metric_names.PLAN_CONFLICTS),
    ("an event failed its causation check (not what its producer published)", NS, metric_names.UNVERIFIED_EVENTS),
])
def test_there_is_an_alarm_when(what, namespace, metric):
    matching = [p for p in _alarms().values() if (p.get("Namespace"), p.get("MetricName")) == (namespace, metric)]
    assert matching, what
    assert all(p["ComparisonOperator"] == "GreaterThanThreshold" and p["Threshold"] == 0 for p in matching)
    if namespace == NS:
        alarmed = {str(cfn.resolver().resolve(d["Value"])) for p in matching for d in p["Dimensions"]}
        assert alarmed >= emitters(metric), f"{what}: every function that emits {metric} needs its alarm"


def test_every_alarm_is_on_the_dashboards_alarm_widget():
    (widget,) = [w for w in _dashboard()["widgets"] if w["type"] == "alarm"]
    shown = set(widget["properties"]["alarms"])
    resolve = cfn.resolver().resolve
    for lid in _alarms():
        assert resolve({"Fn::GetAtt": [lid, "Arn"]}) in shown, f"{lid} is not on the dashboard's alarm widget"


def test_there_is_an_errors_alarm_for_every_function():
    alarmed = {str(cfn.resolver().resolve(p["Dimensions"][0]["Value"])) for p in _alarms().values()
               if (p.get("Namespace"), p.get("MetricName")) == ("AWS/Lambda", "Errors")}
    assert alarmed == set(_names_of("AWS::Serverless::Function").values())


def test_the_no_completion_alarm_watches_completed_and_skipped_workflows_on_weekdays_before_the_deadline():
    props = _alarms()["NoWorkflowConcludedAlarm"]
    queries = {q["Id"]: q for q in props["Metrics"]}
    assert queries["completed"]["MetricStat"]["Metric"]["MetricName"] == metric_names.WORKFLOWS_COMPLETED
    assert queries["skipped"]["MetricStat"]["Metric"]["MetricName"] == metric_names.WORKFLOWS_SKIPPED
    assert queries["closed"]["MetricStat"]["Metric"]["MetricName"] == metric_names.WORKFLOWS_SKIPPED
    assert {q["MetricStat"]["Metric"]["Dimensions"][0]["Value"] for q in (queries["skipped"], queries["closed"])} == \
        emitters(metric_names.WORKFLOWS_SKIPPED), "every function that skips a run must count as concluded"
    assert queries["clock"]["MetricStat"]["Metric"]["Dimensions"][0]["Value"] == {"Ref": "OrchestratorFunction"}
    (returned,) = [q for q in props["Metrics"] if q.get("ReturnData")]
    expression = cfn.resolver().resolve(returned["Expression"])
    assert "DAY(clock) <= 5" in expression and "HOUR(clock) < 16" in expression and "(16 - 3)" in expression
    assert props["EvaluationPeriods"] == props["DatapointsToAlarm"] == {"Ref": "CompletionWindowHours"}
    assert all(q["MetricStat"]["Period"] == 3600 for q in props["Metrics"] if "MetricStat" in q)
    assert (props["ComparisonOperator"], props["Threshold"], props["TreatMissingData"]) == \
        ("LessThanThreshold", 1, "breaching")
    stuck = cfn.resources("AWS::Scheduler::Schedule")["StuckWorkflowCheckSchedule"]["Properties"]
    assert stuck["ScheduleExpression"] == "rate(15 minutes)", "the alarm's clock needs an invocation every hour"


# ------------------------------------------------------------------ logs
def test_every_function_logs_to_its_own_log_group_with_retention():
    for lid, res in cfn.resources("AWS::Serverless::Function").items():
        group_id = res["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        group = cfn.resources("AWS::Logs::LogGroup")[group_id]["Properties"]
        resolve = cfn.resolver().resolve
        assert resolve(group["LogGroupName"]) == f"/aws/lambda/{resolve(res['Properties']['FunctionName'])}", lid
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}, lid
