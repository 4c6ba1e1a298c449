"""bench/cold_import.py's tracing rows: the same cold path with tracing on and off in the same rounds,
and a row that fails when tracing off loads aws_xray_sdk or tracing on does not build the Tracer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import cold_import


def _artifact(tmp_path: Path, handler: str) -> Path:
    function = tmp_path / "artifacts" / "FakeFunction"
    (function / "fakepkg").mkdir(parents=True)
    (function / "fakepkg" / "__init__.py").write_text("")
    (function / "fakepkg" / "handler.py").write_text(handler)
    return function


def _rows(tmp_path: Path, handler: str, runs: int = 2):
    artifact = _artifact(tmp_path, handler)
    fake = cold_import.FunctionImport("FakeFunction", "fake", "fakepkg.handler", {"POWERTOOLS_SERVICE_NAME": "fake"})
    samples = cold_import.measure(sys.executable, artifacts=artifact.parent, boto3_dir=tmp_path, runs=runs,
                                  nopyc_runs=0, traced_runs=runs, functions=[fake])
    (_, s), = samples
    return s, [r for r in cold_import.rows_from(samples) if "tracing on" in r.case]


# A handler that imports the X-Ray SDK only when the variable says tracing is on, as shared/runtime/tracing.py does.
OPTIONAL = ("import os\nif os.environ.get('POWERTOOLS_TRACE_DISABLED') == 'false':\n    import aws_xray_sdk\n")


def test_a_handler_that_traces_only_when_asked_meets_the_row(tmp_path):
    s, (row,) = _rows(tmp_path, OPTIONAL)
    assert len(s.traced) == len(s.untraced) == 2  # one pair per round
    pairs = [t / u for t, u in zip(s.traced, s.untraced, strict=True)]
    assert row.met is True and row.ratio == pytest.approx(cold_import.median(pairs))
    assert row.case == "fake: tracing on, handler + AWS adapters (median of 2)"


def test_a_handler_that_always_imports_the_xray_sdk_misses_the_row(tmp_path):
    _, (row,) = _rows(tmp_path, "import aws_xray_sdk\n")
    assert row.met is False and row.detail == "aws_xray_sdk loaded with tracing off"


def test_a_handler_that_never_builds_the_tracer_misses_the_row(tmp_path):
    _, (row,) = _rows(tmp_path, "import json\n")
    assert row.met is False and "did not build the Tracer" in row.detail


def test_the_bench_turns_tracing_on_as_lambda_would():
    assert cold_import.TRACING_ON == {"POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": "/var/task"}
