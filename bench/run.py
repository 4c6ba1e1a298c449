"""`make bench`: every benchmark, one markdown table, written to docs/benchmarks.md.

    .venv/bin/python bench/run.py               # everything (builds the artifacts first if stale)
    .venv/bin/python bench/run.py --quick       # tiny sizes: checks that every section still runs
    .venv/bin/python bench/run.py --sections cold-import,bundles --no-write

Sections: cold import per function (bench/cold_import.py), bundle size (bench/bundles.py), warm
latency and the middleware's cost (bench/warm_latency.py), strategy evaluation
(bench/bench_strategy.py), planning (bench/bench_planning.py), the local chain
(bench/local_chain.py), the backtest (bench/bench_backtest.py). Targets with a floor or baseline
are ratios measured in the same run: the machines are shared and absolute times drift. A missed
target is reported, not an error: the run exits non-zero only when a section could not run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import notes  # noqa: E402
from bench.common import Row, git_commit, machine, markdown_table, python312  # noqa: E402

OUTPUT = ROOT / "docs" / "benchmarks.md"
ARTIFACTS = ROOT / "infra" / ".aws-sam" / "build"
FUNCTIONS = ("StrategyFunction", "PortfolioFunction", "ExecutionFunction", "OrchestratorFunction")
BUILD_INPUTS = ("services", "shared", "Makefile", "infra/template.yaml", "requirements/dev.lock")
SECTIONS = ("cold-import", "bundles", "warm-latency", "strategy", "planning", "local-chain", "backtest")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def newest_source(root: Path = ROOT, inputs: Sequence[str] = BUILD_INPUTS) -> float:
    newest = 0.0
    for name in inputs:
        path = root / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        for dirpath, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for f in files:
                if not f.endswith(".pyc"):
                    newest = max(newest, os.stat(os.path.join(dirpath, f)).st_mtime)
    return newest


def build_is_fresh(artifacts: Path = ARTIFACTS, root: Path = ROOT) -> bool:
    """All four artifacts exist and `sam build` finished (its template.yaml) after the last source change."""
    marker = artifacts / "template.yaml"
    if not marker.exists() or not all((artifacts / f / "services").is_dir() for f in FUNCTIONS):
        return False
    return marker.stat().st_mtime >= newest_source(root)


def ensure_build() -> str:
    if build_is_fresh():
        log("build artifacts are newer than the sources: reusing infra/.aws-sam/build")
        return "reused (artifacts newer than the sources)"
    log("building the Lambda artifacts: make build")
    start = time.perf_counter()
    subprocess.run(["make", "build"], cwd=ROOT, check=True, stdout=sys.stderr)
    return f"ran, {time.perf_counter() - start:.0f} s"


def section_runners(quick: bool) -> dict[str, Callable[[], list[Row]]]:
    def cold_import() -> list[Row]:
        from bench import cold_import as ci

        py312 = python312()
        if py312 is None:
            raise RuntimeError("python3.12 not found (PATH, pyenv, or PYTHON312=...): Lambda runs 3.12")
        return ci.rows(py312, runs=2 if quick else 15, nopyc_runs=1 if quick else 7)

    def bundles() -> list[Row]:
        from bench import bundles as b

        return b.rows()

    def warm_latency() -> list[Row]:
        from bench import warm_latency as w

        return w.rows(invocations=20 if quick else 1000, middleware_calls=200 if quick else 20000)

    def strategy() -> list[Row]:
        from bench import bench_strategy

        return bench_strategy.rows(lines=200, symbols=20, years=2, repeat=1) if quick else bench_strategy.rows()

    def planning() -> list[Row]:
        from bench import bench_planning

        return bench_planning.rows(runs=3 if quick else bench_planning.RUNS)

    def local_chain() -> list[Row]:
        from bench import local_chain as lc

        return lc.rows(process_runs=1 if quick else 5, day_runs=1 if quick else 5)

    def backtest() -> list[Row]:
        from bench import bench_backtest

        return bench_backtest.quick_rows() if quick else bench_backtest.rows()

    return {"cold-import": cold_import, "bundles": bundles, "warm-latency": warm_latency, "strategy": strategy,
            "planning": planning, "local-chain": local_chain, "backtest": backtest}


def run_sections(names: Sequence[str], quick: bool) -> tuple[list[Row], dict[str, float], list[str]]:
    runners = section_runners(quick)
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    errors: list[str] = []
    for name in names:
        log(f"{name}…")
        start = time.perf_counter()
        try:
            rows.extend(runners[name]())
        except Exception as exc:  # report the section as failed and go on with the others
            traceback.print_exc(file=sys.stderr)
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            rows.append(Row(name.replace("-", " "), "the section failed to run", f"{type(exc).__name__}: {exc}",
                            met=False))
        seconds[name] = time.perf_counter() - start
        log(f"{name}: {seconds[name]:.0f} s")
    return rows, seconds, errors


def document(rows: Sequence[Row], *, command: str, build: str, elapsed: float, seconds: dict[str, float],
             quick: bool) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    per_section = ", ".join(f"{name} {s:.0f} s" for name, s in seconds.items())
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py) — regenerate it rather than editing it. The machines these run on are",
        "shared, so absolute times drift from run to run: every target that has a floor or baseline is a ratio",
        "measured side by side in the same run.",
        "",
        f"- **Date:** {now}",
        f"- **Machine:** {machine()}",
        f"- **Command:** `{command}`{' (quick mode: tiny sizes, figures not meaningful)' if quick else ''}",
        f"- **Commit:** {git_commit()}",
        f"- **Wall time:** {elapsed / 60:.1f} min (`make build`: {build}; {per_section})",
        "",
        markdown_table(rows),
        "",
        notes.render(rows),
    ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks every section runs")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of: {', '.join(SECTIONS)}")
    parser.add_argument("--no-build", action="store_true", help="use infra/.aws-sam/build as it is")
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not write {OUTPUT.relative_to(ROOT)}")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sections.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)}")
    started = time.perf_counter()
    build = "not needed"
    if {"cold-import", "bundles"} & set(names):
        build = "skipped (--no-build)" if args.no_build else ensure_build()
    rows, seconds, errors = run_sections(names, args.quick)
    command = os.environ.get("BENCH_COMMAND") or " ".join(
        [".venv/bin/python bench/run.py", *(sys.argv[1:] if argv is None else argv)])
    text = document(rows, command=command, build=build, elapsed=time.perf_counter() - started, seconds=seconds,
                    quick=args.quick)
    print(text)
    if not args.no_write:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        log(f"wrote {args.output}")
    for error in errors:
        log(f"FAILED {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
