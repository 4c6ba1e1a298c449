"""The local chain: `alchemiser run` on the embedded defaults, and the local runtime's own cost per hop.

- Process start to summary: `.venv/bin/alchemiser run --as-of 2026-11-25T09:35:00-05:00
  --state-dir <fresh tmp>` (simulated broker, offline data), timed from spawn to exit (the summary
  is its last output); the median of a few runs, each on a fresh state dir. Baseline: the same
  day run in process by `alchemiser.local.day.run_day` once imports are warm, so the ratio is what
  a fresh process (interpreter, imports, cold adapters) adds.
- `alchemiser --help` and `alchemiser run --help`, spawn to exit: the median of a few runs; target
  ≤ 0.3 s (only the named command's module is imported).
- The runtime's own overhead per hop: in process, the day's wall time minus the time inside the
  handlers (each `Hop.seconds`), divided by the number of hops; against the median handler time
  per hop. Each run gets a fresh state dir (so the day trades and each hop does real work);
  one untimed run first warms the imports.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.common import ROOT, Row, median, ms, ratio

SECTION = "local chain"
AS_OF = "2026-11-25T09:35:00-05:00"
ALCHEMISER = ROOT / ".venv" / "bin" / "alchemiser"


def process_seconds(runs: int = 3, command: Path = ALCHEMISER) -> list[float]:
    times = []
    for _ in range(runs):
        state_dir = Path(tempfile.mkdtemp(prefix="alchemiser-bench-run-"))
        try:
            start = time.perf_counter()
            out = subprocess.run([str(command), "run", "--as-of", AS_OF, "--state-dir", str(state_dir)],
                                 capture_output=True, text=True, check=False, cwd=ROOT)
            elapsed = time.perf_counter() - start
        finally:
            shutil.rmtree(state_dir, ignore_errors=True)
        if out.returncode != 0 or "completed" not in out.stdout:
            raise RuntimeError(f"alchemiser run failed ({out.returncode}):\n{out.stdout[-1500:]}\n{out.stderr[-1500:]}")
        times.append(elapsed)
    return times


@dataclass(frozen=True)
class DayTiming:
    total: float
    in_handlers: float
    hops: int
    hop_seconds: list[float]

    @property
    def overhead_per_hop(self) -> float:
        return (self.total - self.in_handlers) / self.hops


def in_process_day() -> DayTiming:
    from alchemiser.local.day import DayOptions, run_day

    state_dir = Path(tempfile.mkdtemp(prefix="alchemiser-bench-day-"))
    try:
        start = time.perf_counter()
        result = run_day(DayOptions(state_dir, datetime.fromisoformat(AS_OF)))
        total = time.perf_counter() - start
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    if result.status != "completed":
        raise RuntimeError(f"the local day did not complete: {result.status}: {result.reason}")
    seconds = [hop.seconds for hop in result.hops]
    return DayTiming(total, sum(seconds), len(seconds), seconds)


HELP_TARGET_S = 0.3


def help_seconds(args: tuple[str, ...], runs: int = 5, command: Path = ALCHEMISER) -> list[float]:
    """`alchemiser <args>` (a --help), spawn to exit, `runs` times."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([str(command), *args], capture_output=True, text=True, check=False, cwd=ROOT)
        times.append(time.perf_counter() - start)
        if out.returncode != 0:
            raise RuntimeError(f"alchemiser {' '.join(args)} failed ({out.returncode}): {out.stderr[-500:]}")
    return times


def help_rows(runs: int = 5) -> list[Row]:
    out = []
    for args in (("--help",), ("run", "--help")):
        seconds = median(help_seconds(args, runs))
        out.append(Row(SECTION, f"`alchemiser {' '.join(args)}`, spawn to exit (median of {runs})", ms(seconds),
                       target=f"≤ {ms(HELP_TARGET_S)}", met=seconds <= HELP_TARGET_S))
    return out


def rows(process_runs: int = 3, day_runs: int = 5) -> list[Row]:
    helps = help_rows(3 if process_runs == 1 else 5)
    process = process_seconds(process_runs)
    in_process_day()  # warm: imports and the first adapters
    days = [in_process_day() for _ in range(day_runs)]
    day_total = median([d.total for d in days])
    overhead = median([d.overhead_per_hop for d in days])
    per_hop = median([s for d in days for s in d.hop_seconds])
    hops = days[0].hops
    return [
        Row(SECTION, f"`alchemiser run`, process start to summary (median of {len(process)})",
            ms(median(process)), f"{ms(day_total)} (the same day in process, warm)",
            ratio(median(process), day_total)),
        Row(SECTION, f"local runtime's own overhead per hop ({hops} hops a day, median of {len(days)} days)",
            ms(overhead), f"{ms(per_hop)} (median time in a handler per hop)", ratio(overhead, per_hop)),
        *helps,
    ]
