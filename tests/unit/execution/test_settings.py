"""Execution settings: defaults that let a normal plan through, every knob from ALCHEMISER_*."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from services.execution.settings import ExecutionSettings
from shared.runtime.settings import SettingsError


def test_defaults():
    s = ExecutionSettings.from_env({})
    assert (s.fill_wait_seconds, s.poll_interval_seconds, s.plan_idempotency_days) == (60.0, 2.0, 7)
    assert s.kill_switch_parameter is None and s.broker_kind == "alpaca"


def test_every_knob_comes_from_its_variable():
    s = ExecutionSettings.from_env({
        "ALCHEMISER_KILL_SWITCH_PARAMETER": "/alchemiser/prod/kill-switch",
        "ALCHEMISER_FILL_WAIT_SECONDS": "30", "ALCHEMISER_POLL_INTERVAL_SECONDS": "1.5",
        "ALCHEMISER_PLAN_IDEMPOTENCY_DAYS": "3", "ALCHEMISER_WORKFLOW_GUARD_DAYS": "30",
        "ALCHEMISER_POST_LOOKUP_ATTEMPTS": "2", "ALCHEMISER_BUYING_POWER_MARGIN": "0.01",
    })
    assert s.kill_switch_parameter == "/alchemiser/prod/kill-switch"
    assert (s.fill_wait_seconds, s.poll_interval_seconds) == (30.0, 1.5)
    assert (s.plan_idempotency_days, s.workflow_guard_days, s.post_lookup_attempts) == (3, 30, 2)
    assert s.buying_power_margin == Decimal("0.01")


def test_the_local_kill_switch_file_is_in_the_state_dir():
    s = ExecutionSettings.from_env({"ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": "/tmp/x"})
    assert s.kill_switch_file == Path("/tmp/x/kill-switch")


def test_the_limits_are_not_execution_settings_each_plan_carries_its_workflows():
    """One place sets them (the strategy step, from the portfolio file and its overrides): a variable set on
    this function alone would be a second, silently different set of limits."""
    assert not {"max_position_weight", "max_order_equity_fraction", "max_orders_per_run"} & set(
        ExecutionSettings.model_fields)


@pytest.mark.parametrize("name,value", [("POLL_INTERVAL_SECONDS", "0"), ("POST_ATTEMPTS", "0")])
def test_nonsense_settings_are_refused_naming_the_variable(name, value):
    with pytest.raises(SettingsError, match=f"ALCHEMISER_{name}"):
        ExecutionSettings.from_env({f"ALCHEMISER_{name}": value})
