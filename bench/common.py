"""What every benchmark section shares: rows, statistics, formatting, the machine, python3.12.

A section returns `Row`s; `bench/run.py` prints them as one markdown table. Every figure that has
a target is a ratio to a floor (or baseline) measured in the same run where the issue asks for one,
because these machines are shared and absolute times drift.
"""

from __future__ import annotations

import glob
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Row:
    section: str
    case: str
    measured: str
    baseline: str = "—"
    """The floor or baseline measured in the same run (or — when the target is absolute)."""
    ratio: float | None = None
    target: str = "—"
    met: bool | None = None
    """None: informational, no target."""
    detail: str = ""
    """Measured evidence for the notes (e.g. where a missed target's time goes); not in the table."""


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 values is the 990th smallest)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(measured: float, baseline: float) -> float:
    if baseline <= 0:
        raise ValueError(f"baseline must be positive, got {baseline}")
    return measured / baseline


def ms(seconds: float) -> str:
    value = seconds * 1000
    if value >= 1000:
        return f"{seconds:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    if value >= 1:
        return f"{value:.2f} ms"
    return f"{value * 1000:.0f} µs"


def mb(size_bytes: float) -> str:
    return f"{size_bytes / 2**20:.1f} MB"


def met_text(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "**NOT MET**")


def ratio_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def markdown_table(rows: Iterable[Row]) -> str:
    lines = ["| section | case | measured | floor / baseline | ratio | target | met |",
             "|---|---|---:|---:|---:|---|---|"]
    for row in rows:
        cells = [row.section, row.case, row.measured, row.baseline, ratio_text(row.ratio), row.target,
                 met_text(row.met)]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def python312() -> str | None:
    """A python3.12 that runs (PYTHON312, PATH, or pyenv), as the Makefile finds it."""
    candidates = [os.environ.get("PYTHON312") or "", shutil.which("python3.12") or ""]
    roots = [os.environ.get("PYENV_ROOT") or "", str(Path.home() / ".pyenv")]
    for root in roots:
        if root:
            candidates += sorted(glob.glob(f"{root}/versions/3.12*/bin/python3.12"))
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        probe = subprocess.run([candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 12))"],
                               capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    return None


def python_version(executable: str) -> str:
    out = subprocess.run([executable, "-c", "import sys; print(sys.version.split()[0])"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    py312 = python312()
    pythons = f"Python {sys.version.split()[0]} (bench, in-process sections)"
    if py312:
        pythons += f", Python {python_version(py312)} (cold imports, as Lambda)"
    return f"{cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; {pythons}"


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    commit = out.stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True, check=False).stdout.strip()
    return f"{commit}{' (with uncommitted changes)' if dirty else ''}"
