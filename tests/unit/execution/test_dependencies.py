"""Dependencies are built from settings once per container: embedded stores locally, AWS otherwise."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.execution.dependencies import dependencies, guard_for
from services.execution.dynamodb_workflow_guard import DynamoDBWorkflowGuard
from services.execution.file_kill_switch import FileKillSwitch
from services.execution.settings import ExecutionSettings
from services.execution.sqlite_workflow_guard import SqliteWorkflowGuard
from shared.venues.simulated.broker import SimulatedBroker


def test_local_settings_give_the_simulated_broker_and_embedded_stores(tmp_path):
    settings = ExecutionSettings(backend="local", state_dir=tmp_path,
                                 as_of=datetime.fromisoformat("2026-11-25T10:00:00-05:00"))
    deps = dependencies(settings)
    assert isinstance(deps.broker, SimulatedBroker)
    assert isinstance(deps.kill_switch, FileKillSwitch) and isinstance(deps.guard, SqliteWorkflowGuard)
    assert deps.now() == settings.now()
    assert dependencies(ExecutionSettings(backend="local", state_dir=tmp_path, as_of=settings.as_of)) is deps


def test_timing_comes_from_the_settings_and_a_plan_without_limits_gets_the_defaults(tmp_path):
    from shared.limits.model import Limits

    settings = ExecutionSettings(backend="local", state_dir=tmp_path, fill_wait_seconds=5)
    deps = dependencies(settings)
    assert deps.limits == Limits() and deps.timing.fill_wait_seconds == 5


def test_aws_settings_keep_the_workflow_guard_in_the_idempotency_table():
    assert isinstance(guard_for(ExecutionSettings(idempotency_table="alchemiser-idempotency-dev")),
                      DynamoDBWorkflowGuard)
    with pytest.raises(ValueError, match="ALCHEMISER_IDEMPOTENCY_TABLE"):
        guard_for(ExecutionSettings())
