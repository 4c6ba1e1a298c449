"""The SAM template: linted, validated, and its rules agree with the route table in code."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alchemiser.local.event_patterns import compile_pattern
from alchemiser.local.template import load_template
from shared.events.catalog import ROUTES, SOURCE_OF
from tests.conftest import TEMPLATE

BIN = Path(sys.executable).parent
TPL = load_template()


def test_cfn_lint_is_clean():
    result = subprocess.run([str(BIN / "cfn-lint"), str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("extra", [[], ["--lint"]], ids=["validate", "validate-lint"])
def test_sam_validate_is_clean(extra):
    env = dict(os.environ, SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION="us-east-1")
    result = subprocess.run([str(BIN / "sam"), "validate", "-t", str(TEMPLATE), "--region", "us-east-1", *extra],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


@pytest.mark.parametrize("config_env", ["default", "dev", "prod"])
def test_sam_validate_is_clean_as_users_run_sam_from_infra_with_its_samconfig(config_env):
    env = dict(os.environ, SAM_CLI_TELEMETRY="0", AWS_DEFAULT_REGION="us-east-1")
    result = subprocess.run([str(BIN / "sam"), "validate", "--config-file", "samconfig.toml",
                             "--config-env", config_env], cwd=TEMPLATE.parent, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{TEMPLATE} is a valid SAM Template" in result.stdout + result.stderr


def test_there_is_one_function_per_service_with_an_importable_handler():
    assert sorted(f.service for f in TPL.functions.values()) == ["execution", "orchestrator", "portfolio", "strategy"]
    for spec in TPL.functions.values():
        module, _, attr = spec.handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attr))


def test_the_four_rules_of_the_original_exist():
    assert {r.logical_id for r in TPL.rules} >= {
        "SignalGeneratedRule", "RebalancePlannedRule", "TradeExecutedRule", "AllEventsToOrchestratorRule"}


@pytest.mark.parametrize("detail_type", sorted(ROUTES))
def test_rules_route_each_event_type_as_the_catalog_says(detail_type):
    route = ROUTES[detail_type]
    for producer in route.producers:
        envelope = {"version": "0", "id": "x", "detail-type": detail_type, "source": SOURCE_OF[producer],
                    "account": "1", "time": "2026-11-25T14:35:00Z", "region": "us-east-1", "resources": [],
                    "detail": {}}
        matched = {r.logical_id for r in TPL.rules if compile_pattern(r.pattern).matches(envelope)}
        assert matched == set(route.rules), (detail_type, producer)
        services = {TPL.functions[t.function].service for r in TPL.rules if r.logical_id in matched
                    for t in r.targets}
        assert services == set(route.consumers)


def test_every_rule_target_has_a_retry_policy_and_the_event_dlq():
    for rule in TPL.rules:
        for target in rule.targets:
            assert (target.retry_attempts, target.max_event_age) == (3, 3600), rule.logical_id
            assert target.dead_letter_queue == "EventDLQ", rule.logical_id


def test_the_bus_and_dlq_are_named_per_stage():
    assert TPL.bus_name == "alchemiser-trading-events-dev"
    assert load_template(parameters={"Stage": "prod"}).bus_name == "alchemiser-trading-events-prod"
