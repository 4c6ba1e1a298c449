"""`alchemiser invoke`, as a user runs it: the installed console script in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from tests.conftest import PROJECT_ROOT

ALCHEMISER = str(Path(sys.executable).parent / "alchemiser")


def invoke(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ALCHEMISER, "invoke", *args, "--state-dir", str(state_dir)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_error_notification_to_strategy_prints_exactly_the_circuit_breaker_response(state_dir):
    result = invoke("strategy", "--event", "test-events/eventbridge-error-notification.json", "--json",
                    state_dir=state_dir)
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    request_id = response.pop("request_id")
    assert uuid.UUID(request_id)
    assert response == {"status": "skipped", "mode": "error_notification", "trading_mode": "n/a",
                        "message": "Error notification event skipped (circuit breaker)"}


def test_a_missing_event_file_is_a_usage_error(state_dir):
    result = invoke("strategy", "--event", "nope.json", state_dir=state_dir)
    assert result.returncode == 2
    assert "nope.json: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_json_names_line_and_column(tmp_path, state_dir):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "mode": trade\n}')
    result = invoke("strategy", "--event", str(bad), state_dir=state_dir)
    assert result.returncode == 2
    assert f"{bad}:2:11: invalid JSON" in result.stderr


def test_an_invalid_event_reports_the_error_type_and_field_as_json(tmp_path, state_dir):
    bad = tmp_path / "typo.json"
    bad.write_text('{"mdoe": "trade"}')
    result = invoke("strategy", "--event", str(bad), "--json", state_dir=state_dir)
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert error["errorType"] == "InvalidEventError"
    assert "unknown field 'mdoe'" in error["errorMessage"]
    assert "Traceback" not in result.stderr


def test_a_bad_as_of_is_rejected_by_the_parser(state_dir):
    result = invoke("strategy", "--event", "test-events/direct-trade-event.json", "--as-of",
                    "2026-11-25T09:35:00", state_dir=state_dir)
    assert result.returncode == 2
    assert "has no timezone offset" in result.stderr
