"""`make bench` keeps running: every section's code in a tiny configuration, and its pure helpers.

No `make build` needed: the cold-import and bundle sections run on a fake artifact made here.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from bench import bench_planning, bench_strategy, bundles, cold_import, local_chain, notes, run, warm_latency
from bench.common import Row, markdown_table, median, ms, percentile, ratio


def test_statistics_and_formatting() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    values = [float(i) for i in range(1, 1001)]
    assert percentile(values, 99) == 990.0
    assert percentile([5.0], 99) == 5.0
    assert ratio(3.0, 2.0) == 1.5
    with pytest.raises(ValueError):
        ratio(1.0, 0.0)
    assert ms(0.0123) == "12.3 ms" and ms(0.000028) == "28 µs" and ms(2.5) == "2.50 s"


def test_the_table_has_every_column_and_escapes_pipes() -> None:
    table = markdown_table([Row("s", "a | b", "1 ms", "2 ms", 0.5, "≤ 1", True),
                            Row("s", "info", "3 ms"), Row("s", "miss", "9 ms", "1 ms", 9.0, "≤ 2", False)])
    lines = table.splitlines()
    assert lines[0] == "| section | case | measured | floor / baseline | ratio | target | met |"
    assert "a \\| b" in lines[2] and lines[2].endswith("| 0.50 | ≤ 1 | met |")
    assert lines[3].endswith("| — | — | — | — |")
    assert lines[4].endswith("| 9.00 | ≤ 2 | **NOT MET** |")


def test_notes_explain_every_missed_target() -> None:
    rows = [Row("cold import", "orchestrator: handler (median of 1)", "1 ms", "1 ms", 1.3, "≤ 1.15", False,
                "evidence"),
            Row("cold import", "strategy: handler", "1 ms", "1 ms", 1.0, "≤ 1.15", True),
            Row("planning", "something new", "30 ms", target="≤ 20 ms", met=False)]
    text = notes.render(rows)
    assert "## Targets missed" in text and "workflow_record.py" in text and "Evidence from this run: evidence." in text
    assert "No analysis recorded" in text  # an unforeseen miss still shows up
    assert "strategy: handler" not in text.split("## Targets missed")[1]
    assert "None in this run." in notes.render(rows[1:2])


@pytest.fixture
def fake_artifact(tmp_path: Path) -> Path:
    """A tiny stand-in for infra/.aws-sam/build: one function whose handler imports json."""
    function = tmp_path / "artifacts" / "FakeFunction"
    (function / "fakepkg" / "__pycache__").mkdir(parents=True)
    (function / "fakepkg" / "__init__.py").write_text("")
    (function / "fakepkg" / "handler.py").write_text("import json\n\n\ndef lambda_handler(event, context):\n"
                                                    "    return {}\n")
    (function / "fakepkg" / "__pycache__" / "handler.cpython-312.pyc").write_bytes(b"\0" * 64)
    return function


def test_cold_import_measures_floor_and_handler_in_one_interpreter(fake_artifact: Path, tmp_path: Path) -> None:
    fake = cold_import.FunctionImport("FakeFunction", "fake", "fakepkg.handler", {"POWERTOOLS_SERVICE_NAME": "fake"})
    assert fake.floor == cold_import.BASE_FLOOR and fake.measured == ("import fakepkg.handler",)
    samples = cold_import.measure(sys.executable, artifacts=fake_artifact.parent, boto3_dir=tmp_path, runs=1,
                                  nopyc_runs=1, nopyc_dir=tmp_path / "nopyc", functions=[fake])
    (_, s), = samples
    assert len(s.floor) == len(s.handler) == len(s.nopyc) == len(s.module) == 1
    assert 0 < s.floor[0] <= s.handler[0]
    assert not s.heavy  # the fake handler imports json only
    assert not (tmp_path / "nopyc").exists()  # the bytecode-free copy is cleaned up
    rows = cold_import.rows_from(samples)
    assert [r.case.split(":")[0] for r in rows] == ["fake", "fake", "fake"]
    assert rows[0].ratio is not None and rows[0].ratio >= 1.0 and rows[0].met is not None
    assert rows[1].met is True  # the handler module alone loads no alpaca-py
    assert rows[2].met is None  # without bytecode: informational


def test_cold_import_helpers(fake_artifact: Path, tmp_path: Path) -> None:
    copy = cold_import.without_bytecode(fake_artifact, tmp_path / "copy")
    assert (copy / "fakepkg" / "handler.py").exists()
    assert not list(copy.rglob("*.pyc")) and not list(copy.rglob("__pycache__"))
    timing = cold_import.run_once(sys.executable, cold_import.timing_code(["import json"], ["import decimal"],
                                                                          ["decimal", "nothing_by_this_name"]),
                                  [tmp_path], {})
    assert 0 <= timing.floor <= timing.total and timing.loaded == ("decimal",)
    services = {f.service: f for f in cold_import.functions_from_template()}
    assert set(services) == {"strategy", "portfolio", "execution", "orchestrator"}
    assert cold_import.TRADING_CLIENT not in services["orchestrator"].floor  # the P&L path is rare
    for f in services.values():
        assert f.handler_module == f"services.{f.service}.handler"
        assert set(f.floor) - set(cold_import.BASE_FLOOR) <= set(f.measured)  # same third-party code both sides
    fake = cold_import.FunctionImport("FakeFunction", "fake", "fakepkg.handler", {})
    total_ms, costs = cold_import.import_costs(sys.executable, fake, [fake_artifact.parent / "FakeFunction"], runs=1)
    assert total_ms >= 0 and all(isinstance(name, str) for name, _ in costs)


def test_the_aws_cold_path_modules_exist() -> None:
    import importlib.util

    for modules in cold_import.AWS_COLD_PATH.values():
        for module in modules:
            assert importlib.util.find_spec(module) is not None, module


def test_bundle_sizes_and_the_alpaca_closure(tmp_path: Path) -> None:
    artifact = tmp_path / "Fn"
    (artifact / "pkg").mkdir(parents=True)
    (artifact / "pkg" / "__init__.py").write_text("x = 1\n" * 1000)
    assert bundles.tree_size(artifact) == len("x = 1\n" * 1000)
    assert 0 < bundles.zipped_size(artifact) < bundles.tree_size(artifact)
    for name, requires, files in (("a-lib", ["b-lib", "c-lib; extra == 'all'"], "a_lib/x.py"),
                                  ("b-lib", [], "b_lib/x.py"), ("c-lib", [], "c_lib/x.py")):
        info = artifact / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        meta = [f"Name: {name}", *(f"Requires-Dist: {r}" for r in requires)]
        (info / "METADATA").write_text("\n".join(meta) + "\n")
        (info / "RECORD").write_text(f"{files},,\n")
    dists = bundles.distributions(artifact)
    assert dists["a-lib"].requires == {"b-lib"}  # extras are not installed
    assert bundles.closure({"a-lib"}, dists) == {"a-lib", "b-lib"}
    assert bundles.talks_to_alpaca("strategy") and bundles.talks_to_alpaca("orchestrator")


def test_warm_latency_runs_every_handler_and_the_middleware() -> None:
    rows = warm_latency.rows(invocations=2, middleware_calls=40)
    assert [r.case.split(",")[0] for r in rows[:5]] == ["strategy", "strategy", "portfolio", "execution",
                                                        "orchestrator"]
    assert all("median" in r.measured and "p99" in r.measured for r in rows[:5])
    middleware = rows[5]
    assert middleware.ratio is not None and middleware.target == "≤ 2" and middleware.met is not None


def test_strategy_and_planning_benchmarks_in_tiny_sizes() -> None:
    strategy = bench_strategy.rows(lines=120, symbols=10, years=2, repeat=1)
    # 4 rows of in-process evaluation, the offline universe's build, 4 of the cold corpus (CSV read, parse, the
    # whole run, its RSS), then 3 of the real-shaped corpus (parse, signals, its RSS)
    assert len(strategy) == 12 and all(r.met is not None for r in strategy)
    assert strategy[4].case.startswith("offline market: build the modelled universe")
    assert strategy[4].target == "≤ 0.5 s"
    assert [r.case.split(":")[0] for r in strategy[5:9]].count("cold") == 3
    assert strategy[9].case.startswith("cold: parse 5 real-shaped files")
    assert strategy[10].case.startswith("cold: `signals` on 5 real-shaped files")
    planning = bench_planning.rows(runs=1)
    assert planning[0].target == "≤ 20 ms" and planning[0].met is not None


def test_local_chain_in_process_day() -> None:
    day = local_chain.in_process_day()
    assert day.hops >= 5 and 0 < day.in_handlers <= day.total
    assert day.overhead_per_hop >= 0


def test_a_build_is_fresh_only_when_newer_than_every_source(tmp_path: Path) -> None:
    root, artifacts = tmp_path / "repo", tmp_path / "build"
    (root / "services").mkdir(parents=True)
    source = root / "services" / "x.py"
    source.write_text("")
    for name in run.FUNCTIONS:
        (artifacts / name / "services").mkdir(parents=True)
    assert not run.build_is_fresh(artifacts, root)  # no template.yaml: sam build never finished
    (artifacts / "template.yaml").write_text("")
    past = time.time() - 100
    os.utime(source, (past, past))
    assert run.build_is_fresh(artifacts, root)
    source.write_text("changed")
    assert not run.build_is_fresh(artifacts, root)


def test_the_driver_writes_one_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "section_runners", lambda quick: {
        "planning": lambda: [Row("planning", "plan", "9 ms", target="≤ 20 ms", met=True)]})
    out = tmp_path / "benchmarks.md"
    assert run.main(["--sections", "planning", "--output", str(out)]) == 0
    text = out.read_text()
    for needle in ("# Benchmarks", "**Date:**", "**Machine:**", "**Command:**", "**Commit:**",
                   "| planning | plan | 9 ms |", "## Targets missed"):
        assert needle in text
