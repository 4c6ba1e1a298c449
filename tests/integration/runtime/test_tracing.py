"""Powertools Tracer, optional: with the stage's tracing off (the default) a handler module neither
imports aws_xray_sdk nor builds a Tracer; with it on, each handler is wrapped and every invocation
produces its `## lambda_handler` subsegment, annotated with the service. Each case runs in a fresh
interpreter (sys.modules and the handler's import-time decision are per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from shared.runtime import tracing
from tests.conftest import PROJECT_ROOT

SERVICES = ("strategy", "portfolio", "execution", "orchestrator")
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

# Imports the handler, points the X-Ray recorder at an in-memory emitter (no daemon), invokes the
# handler once and prints what happened as JSON.
SCRIPT = r"""
import json, sys
service, event = sys.argv[1], json.loads(sys.argv[2])
handler = __import__(f"services.{service}.handler", fromlist=["lambda_handler"])
sent = []
if "aws_xray_sdk" in sys.modules:
    from aws_xray_sdk.core import xray_recorder

    class Emitter:
        def send_entity(self, entity): sent.append(entity.to_dict())
        def set_daemon_address(self, address): pass

    xray_recorder.configure(emitter=Emitter())
imported_at_load = "aws_xray_sdk" in sys.modules
from tests.conftest import LambdaContextStub
try:
    status = handler.lambda_handler(event, LambdaContextStub()).get("status")
except Exception as exc:
    status = f"raised {type(exc).__name__}"
print(json.dumps({"status": status, "xray_at_import": imported_at_load, "xray_after": "aws_xray_sdk" in sys.modules,
                  "wrapt": "wrapt" in sys.modules,
                  "subsegments": [{"name": e.get("name"), "annotations": e.get("annotations") or {}}
                                  for e in sent]}, default=str))
"""


def _run(service: str, event: dict, tmp_path, **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("POWERTOOLS_TRACE_DISABLED", "_X_AMZN_TRACE_ID")}
    environ.update({"PYTHONPATH": str(PROJECT_ROOT), "ALCHEMISER_BACKEND": "local",
                    "ALCHEMISER_STATE_DIR": str(tmp_path / "state"), "ALCHEMISER_AS_OF": "2026-11-25T09:35:00-05:00",
                    "POWERTOOLS_METRICS_NAMESPACE": "Alchemiser", **env})
    done = subprocess.run([sys.executable, "-c", SCRIPT, service, json.dumps(event)], cwd=PROJECT_ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


EVENTS = {"strategy": {"mode": "signal"}, "portfolio": {"mode": "signal"}, "execution": {"mode": "signal"},
          "orchestrator": {"action": "check_stuck_workflows"}}


@pytest.mark.parametrize("disabled", [None, "true"])
@pytest.mark.parametrize("service", SERVICES)
def test_with_tracing_off_a_handler_never_imports_the_xray_sdk(service, disabled, tmp_path):
    env = {"LAMBDA_TASK_ROOT": "/var/task"}  # as in Lambda: only the variable decides
    if disabled is not None:
        env["POWERTOOLS_TRACE_DISABLED"] = disabled
    result = _run(service, EVENTS[service], tmp_path, **env)
    assert result["status"] is not None
    assert (result["xray_at_import"], result["xray_after"], result["wrapt"]) == (False, False, False)
    assert result["subsegments"] == []


@pytest.mark.parametrize("service", SERVICES)
def test_with_tracing_on_every_invocation_is_a_subsegment_annotated_with_the_service(service, tmp_path):
    result = _run(service, EVENTS[service], tmp_path, LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED="false",
                  _X_AMZN_TRACE_ID=TRACE_ID)
    assert result["xray_at_import"] is True
    handler = [s for s in result["subsegments"] if s["name"] == "## lambda_handler"]
    assert len(handler) == 1, result
    assert handler[0]["annotations"] == {"ColdStart": True, "Service": service}


def test_the_traced_strategy_invocation_answers_as_the_untraced_one(tmp_path):
    on = _run("strategy", {"mode": "signal"}, tmp_path, LAMBDA_TASK_ROOT="/var/task",
              POWERTOOLS_TRACE_DISABLED="false", _X_AMZN_TRACE_ID=TRACE_ID)
    off = _run("strategy", {"mode": "signal"}, tmp_path, LAMBDA_TASK_ROOT="/var/task")
    assert on["status"] == off["status"] == "success"
    assert len(on["subsegments"]) > 1  # the patched libraries' calls (the embedded store's sqlite) are traced too


@pytest.mark.parametrize(("value", "enabled"), [(None, False), ("true", False), ("TRUE", False), ("1", False),
                                                 ("", False), ("false", True), ("False", True), ("0", True),
                                                 ("no", True)])
def test_only_a_false_trace_disabled_turns_tracing_on(value, enabled):
    environ = {} if value is None else {"POWERTOOLS_TRACE_DISABLED": value}
    assert tracing.tracing_enabled(environ) is enabled


def test_an_unreadable_trace_setting_fails_at_import():
    with pytest.raises(ValueError, match="POWERTOOLS_TRACE_DISABLED='maybe'"):
        tracing.traced("strategy", {"POWERTOOLS_TRACE_DISABLED": "maybe"})


def test_tracing_on_without_the_xray_sdk_fails_at_import_with_the_reason(monkeypatch):
    real = tracing.importlib.util.find_spec
    monkeypatch.setattr(tracing.importlib.util, "find_spec",
                        lambda name, *a: None if name == "aws_xray_sdk" else real(name, *a))
    with pytest.raises(RuntimeError, match="aws-xray-sdk is not installed"):
        tracing.traced("strategy", {"POWERTOOLS_TRACE_DISABLED": "false"})


def test_tracing_off_returns_the_handler_itself():
    def handler(event, context):
        return event

    assert tracing.traced("strategy", {})(handler) is handler
