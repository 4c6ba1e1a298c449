"""The Lambda entry point: settings from the environment, EMF metrics, a cold start without alpaca-py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from services.orchestrator.settings import OrchestratorSettings
from shared.runtime import metric_names as m
from shared.runtime.published_facts import SqliteWorkflowFacts
from shared.runtime.settings import SettingsError
from tests.conftest import PROJECT_ROOT, load_test_event
from tests.fakes.facts import record_published


def emitted_metrics(stdout: str) -> dict[str, float]:
    """Metric name -> value from the EMF blobs Powertools printed."""
    found: dict[str, float] = {}
    for line in stdout.splitlines():
        if not line.startswith("{") or "_aws" not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                found[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return found


def test_the_handler_completes_the_sample_trade_and_emits_emf_metrics(local_env, lambda_context, capsys):
    from services.orchestrator.handler import lambda_handler

    record_published(load_test_event("trade-executed.json"), SqliteWorkflowFacts(local_env / "state.sqlite"))
    response = lambda_handler(load_test_event("trade-executed.json"), lambda_context)
    assert response["status"] == "success" and response["published"] == ["WorkflowCompleted"]
    metrics = emitted_metrics(capsys.readouterr().out)
    assert {m.WORKFLOWS_STARTED, m.WORKFLOWS_COMPLETED, m.TURNOVER, m.EQUITY, m.NOTIFICATIONS_SENT} <= set(metrics)
    assert metrics[m.EQUITY] == 99995.1
    again = lambda_handler(load_test_event("trade-executed.json"), lambda_context)
    assert again["status"] == "duplicate"
    assert emitted_metrics(capsys.readouterr().out)[m.DUPLICATES_SUPPRESSED] == 1
    outbox = list((local_env / "outbox").glob("*.jsonl"))
    assert [json.loads(line)["DetailType"] for f in outbox for line in f.read_text().splitlines()] == [
        "WorkflowCompleted"]


def test_settings_come_from_alchemiser_variables():
    settings = OrchestratorSettings.from_env({
        "ALCHEMISER_WORKFLOW_TABLE": "alchemiser-workflows-dev",
        "ALCHEMISER_NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alchemiser-notifications-dev",
        "ALCHEMISER_STUCK_AFTER_MINUTES": "45",
        "ALCHEMISER_NOTIFY_ON_COMPLETION": "false",
        "ALCHEMISER_EQUITY_MISMATCH_TOLERANCE": "0.02",
    })
    assert (settings.workflow_table, settings.stuck_after_minutes, settings.notify_on_completion) == (
        "alchemiser-workflows-dev", 45, False)
    assert settings.equity_mismatch_tolerance == Decimal("0.02")


@pytest.mark.parametrize(("env", "source"), [
    ({}, "alpaca"), ({"ALCHEMISER_BACKEND": "local"}, "local"),
    ({"ALCHEMISER_BACKEND": "local", "ALCHEMISER_PNL_SOURCE": "alpaca"}, "alpaca"),
])
def test_pnl_source_defaults_to_alpaca_in_aws_and_local_snapshots_locally(env, source):
    assert OrchestratorSettings.from_env(env).resolved_pnl_source == source


def test_a_bad_setting_names_the_variable():
    with pytest.raises(SettingsError, match="ALCHEMISER_STUCK_AFTER_MINUTES"):
        OrchestratorSettings.from_env({"ALCHEMISER_STUCK_AFTER_MINUTES": "0"})


def test_aws_mode_without_the_table_or_topic_fails_loudly(monkeypatch):
    from services.orchestrator.dependencies import dependencies

    with pytest.raises(SettingsError, match="ALCHEMISER_WORKFLOW_TABLE, ALCHEMISER_NOTIFICATION_TOPIC_ARN and "
                                            "ALCHEMISER_IDEMPOTENCY_TABLE are required"):
        dependencies(OrchestratorSettings(backend="aws"))


def test_the_handlers_cold_start_does_not_import_alpaca():
    code = ("import sys, services.orchestrator.handler, services.orchestrator.commands; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alpaca', 'pandas')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_a_progress_event_loads_no_other_event_model_nor_the_notification_path(tmp_path):
    """A cold WorkflowStarted builds its own model only: the record keeps events as JSON, and the report,
    the terminal transitions, the publisher and the notification delivery (Powertools idempotency) load
    when a workflow ends or a notification is sent."""
    code = ("import json, sys\n"
            "from services.orchestrator.handler import lambda_handler\n"
            "from tests.conftest import LambdaContextStub, load_test_event\n"
            "status = lambda_handler(load_test_event('workflow-started.json'), LambdaContextStub())['status']\n"
            "print(json.dumps([status, sorted(m for m in sys.modules if m.startswith(('shared.', 'services.', "
            "'aws_lambda_powertools.utilities')))]), file=sys.stderr)\n")
    env = {**os.environ, "ALCHEMISER_BACKEND": "local", "ALCHEMISER_STATE_DIR": str(tmp_path)}
    record_published(load_test_event("workflow-started.json"), SqliteWorkflowFacts(tmp_path / "state.sqlite"))
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=60, check=True, env=env)
    status, loaded = json.loads(result.stderr.strip().splitlines()[-1])
    assert status == "success"
    assert "shared.events.workflow_started" in loaded
    not_needed = {f"shared.events.{m}" for m in ("signal_generated", "rebalance_planned", "trade_executed",
                                                 "workflow_completed", "workflow_failed",
                                                 "error_notification_requested", "publisher")}
    not_needed |= {f"services.orchestrator.{m}" for m in ("messages", "messages.workflow_messages", "terminal",
                                                          "recorded_events", "notifications",
                                                          "adapters.local_notifier", "commands", "pnl")}
    not_needed |= {"shared.runtime.idempotency", "aws_lambda_powertools.utilities.idempotency"}
    assert sorted(not_needed & set(loaded)) == []
