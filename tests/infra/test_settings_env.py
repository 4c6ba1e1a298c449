"""Each function's environment in the template is a valid configuration of its settings model.

Field `foo_bar` is read from `ALCHEMISER_FOO_BAR` (shared/runtime/settings.py), so an env var
with no field is a typo that would be silently ignored, and a resource the model needs in AWS
(a table, topic, parameter, bucket or secret) left unset fails at the first invocation.
"""

from __future__ import annotations

import importlib
import inspect
from decimal import Decimal
from typing import Any

import pytest

from alchemiser.local.template import load_template
from shared.runtime.settings import ENV_PREFIX, CommonSettings
from tests.infra import cfn

RESOURCE_SUFFIXES = ("_table", "_topic_arn", "_parameter", "_bucket", "_secret_name")
# Settings that name an AWS resource but that a function leaves unset on purpose: the bar cache
# serves market data, which in AWS only the strategy reads (the broker functions use Alpaca's).
OPTIONAL_RESOURCES: dict[str, set[str]] = {"portfolio": {"alpaca_bars_bucket"}, "execution": {"alpaca_bars_bucket"},
                                          "orchestrator": {"alpaca_bars_bucket"}}  # its broker reads no bars


def settings_class(service: str) -> type[CommonSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, CommonSettings) and c.__module__ == module.__name__]
    assert len(classes) == 1, f"services/{service}/settings.py should define one settings model, found {classes}"
    return classes[0]


def _raw_environment(service: str) -> dict[str, Any]:
    _, fn = cfn.function_of(service)
    return {**cfn.raw()["Globals"]["Function"]["Environment"]["Variables"],
            **fn["Properties"].get("Environment", {}).get("Variables", {})}


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_every_alchemiser_variable_is_a_field_of_the_functions_settings(service):
    fields = set(settings_class(service).model_fields)
    for name in _raw_environment(service):
        if name.startswith(ENV_PREFIX):
            assert name.removeprefix(ENV_PREFIX).lower() in fields, f"{service}: {name} matches no settings field"


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_every_aws_resource_the_settings_name_is_wired(service):
    env = _raw_environment(service)
    for field in settings_class(service).model_fields:
        if field.endswith(RESOURCE_SUFFIXES) and field not in OPTIONAL_RESOURCES.get(service, set()):
            assert ENV_PREFIX + field.upper() in env, f"{service}: {field} names an AWS resource but is not set"


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_the_deployed_environment_parses_as_the_functions_settings(service):
    env = dict(load_template().function_for(service).environment)
    settings = settings_class(service).from_env(env)
    assert (settings.backend, settings.stage, settings.trading_mode) == ("aws", "dev", "paper")
    assert settings.idempotency_table == "alchemiser-idempotency-dev"


@pytest.mark.parametrize("service", cfn.SERVICES)
def test_parameter_defaults_agree_with_the_settings_defaults(service):
    params = cfn.raw()["Parameters"]
    fields = settings_class(service).model_fields
    for name, value in _raw_environment(service).items():
        field = name.removeprefix(ENV_PREFIX).lower()
        if not (name.startswith(ENV_PREFIX) and isinstance(value, dict) and value.get("Ref") in params):
            continue
        default = fields[field].default
        if default is None or "Default" not in params[value["Ref"]]:
            continue
        template_default: Any = params[value["Ref"]]["Default"]
        if isinstance(default, Decimal):
            template_default = Decimal(str(template_default))
        elif isinstance(default, int | float):
            template_default = type(default)(template_default)
        assert template_default == default, f"{value['Ref']} defaults to {template_default}, {field} to {default}"


def test_live_trading_must_be_chosen():
    params = cfn.raw()["Parameters"]
    assert params["TradingMode"]["Default"] == "paper"
    assert CommonSettings().trading_mode == "paper"
