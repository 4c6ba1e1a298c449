"""The bundle rows and the cold-import paths with the dependencies layer beside the functions."""

from __future__ import annotations

import os
from pathlib import Path

from bench import bundles, cold_import

FUNCTIONS = ("StrategyFunction", "PortfolioFunction", "ExecutionFunction", "OrchestratorFunction")


def _artifacts(tmp_path: Path, *, layer: bool) -> Path:
    root = tmp_path / "build"
    for name in FUNCTIONS:
        (root / name / "services").mkdir(parents=True)
        (root / name / "services" / "code.py").write_text("x = 1\n" * 2000)
    if layer:
        python = root / bundles.LAYER / "python"
        (python / "pydantic").mkdir(parents=True)
        (python / "pydantic" / "_core.so").write_bytes(os.urandom(1_200_000))  # does not deflate
        info = python / "pydantic-2.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Name: pydantic\n")
        (info / "RECORD").write_text("pydantic/_core.so,,\n")
    return root


def test_the_layer_is_measured_once_and_the_upload_shrinks(tmp_path):
    rows = {r.case: r for r in bundles.rows(_artifacts(tmp_path, layer=True))}
    assert f"{bundles.LAYER}: unzipped (zipped)" in rows
    before = rows["total upload, zipped: each function with its packages (before the layer)"]
    after = rows["total upload, zipped: four functions + one layer (now)"]
    assert after.met is True and after.measured == "1.1 MB" and before.measured == "4.6 MB"
    strategy = rows["strategy: code + layer unzipped (code alone, zipped)"]
    assert strategy.measured.startswith("1.2 MB") and strategy.met is True  # 12 KB of code + the layer
    estimate = rows["orchestrator without alpaca-py (estimate: P&L over plain HTTPS)"]
    assert estimate.measured == "1.2 MB"  # its code + pydantic, from the layer


def test_without_a_layer_the_rows_are_per_function_as_before(tmp_path):
    rows = bundles.rows(_artifacts(tmp_path, layer=False))
    assert [r.case for r in rows][:4] == [f"{s}: unzipped (zipped)"
                                          for s in ("strategy", "portfolio", "execution", "orchestrator")]
    assert not any("upload" in r.case for r in rows)


def test_cold_imports_put_the_layer_after_the_functions_code(tmp_path):
    root = _artifacts(tmp_path, layer=True)
    assert cold_import.code_paths(root / "StrategyFunction") == [root / "StrategyFunction",
                                                                 root / bundles.LAYER / "python"]
    assert cold_import.code_paths(_artifacts(tmp_path / "x", layer=False) / "StrategyFunction") == [
        tmp_path / "x" / "build" / "StrategyFunction"]
