"""Kill `alchemiser run` anywhere, rerun the day, lose nothing (issue 15 item 3).

Each trial starts a real `alchemiser run` subprocess on a fresh state dir, SIGKILLs it after a
random delay (anywhere from before the first handler to after the last), then reruns the same day
until it reports the workflow completed (at most `MAX_RERUNS` times). It then checks, against the
simulated broker's own persisted orders:
- the day completed (the orchestrator's workflow record says `completed`);
- every leg of the plan that executed is at the broker exactly once (same symbol, side and count),
  and no client order id appears twice;
- the archive and the dead-letter queue read without error (a torn line is skipped, not fatal),
  and nothing was dead-lettered.

    python bench/kill_resume.py --trials 100 [--seed N] [--max-delay 3.0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ALCHEMISER = str(Path(sys.executable).parent / "alchemiser")
DAY = "2026-11-25T09:35:00-05:00"
MAX_RERUNS = 3


@dataclass
class Trial:
    seed: int
    delay: float
    killed: bool
    """False when the run finished before the kill."""
    reruns: int = 0
    status: str | None = None
    problems: list[str] = field(default_factory=list)
    resumed: bool = False
    hops: int = 0
    """Handler invocations the killed run had reported."""
    extra: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def _run(state: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ALCHEMISER, "run", "--as-of", DAY, "--state-dir", str(state), "--json", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def check(state: Path, trial: Trial) -> None:
    from alchemiser.local.day import sim_orders
    from alchemiser.local.statedir import workflow_status
    from alchemiser.local.storage import Archive, DeadLetterQueue
    from shared.runtime.sqlite_store import SqliteTable

    recorded = workflow_status(state, "run-2026-11-25-paper")
    trial.status = recorded[0] if recorded else None
    if trial.status != "completed":
        why = f" ({recorded[1]})" if recorded and recorded[1] else ""
        trial.problems.append(f"workflow {trial.status or 'not recorded'}{why} after {trial.reruns} rerun(s)")
        return
    item = SqliteTable(state / "state.sqlite", "workflows").get("run-2026-11-25-paper")
    assert item is not None
    record = json.loads(item["data"])
    plan = record.get("plan") or {}
    execution = record.get("execution") or {}
    if execution.get("plan_id") != plan.get("plan_id"):
        trial.problems.append(f"executed plan {execution.get('plan_id')} is not the recorded plan "
                              f"{plan.get('plan_id')}")
    orders = sim_orders(state, datetime_of(DAY)) or []
    ids = Counter(o.client_order_id for o in orders)
    twice = [i for i, n in ids.items() if n > 1]
    if twice:
        trial.problems.append(f"client order ids placed twice: {twice}")
    want = Counter((o["symbol"], o["side"]) for o in plan.get("orders", []))
    have = Counter((o.symbol, o.side) for o in orders)
    if want != have:
        trial.problems.append(f"broker orders {dict(have)} != plan legs {dict(want)}")
    archive, dlq = Archive(state), DeadLetterQueue(state)
    try:
        archive.all()
        dead = dlq.messages()
    except Exception as exc:  # the point: reading must never fail
        trial.problems.append(f"archive/DLQ unreadable: {type(exc).__name__}: {exc}")
        return
    if dead:
        trial.problems.append(f"{len(dead)} DLQ message(s): {[m.get('error') for m in dead]}")


def datetime_of(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)


def trial(seed: int, state: Path, max_delay: float) -> Trial:
    """Kill after a random number of handler invocations (0-8, read from the run's progress lines)
    plus a random fraction of a second, so kills land inside every step of the chain."""
    rng = random.Random(seed)
    hops, extra = rng.randint(0, 8), rng.uniform(0.0, 0.5)
    proc = subprocess.Popen([ALCHEMISER, "run", "--as-of", DAY, "--state-dir", str(state)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    started = time.monotonic()
    assert proc.stdout is not None
    seen = 0
    while seen < hops:
        line = proc.stdout.readline()
        if not line:
            break
        if line[:6].strip().isdigit():
            seen += 1
    if seen == 0 and hops == 0:
        extra = rng.uniform(0.0, max_delay)
    time.sleep(extra)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    delay = time.monotonic() - started
    out = Trial(seed, delay, killed, hops=seen, extra=extra)
    for _ in range(MAX_RERUNS):
        out.reruns += 1
        result = _run(state)
        try:
            report = json.loads(result.stdout)
        except json.JSONDecodeError:
            out.problems.append(f"rerun {out.reruns}: exit {result.returncode}, no JSON: {result.stderr[-300:]}")
            return out
        out.resumed = out.resumed or bool(report.get("resumed"))
        if report["status"] in ("completed", "duplicate"):
            break
    check(state, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--max-delay", type=float, default=1.5,
                        help="with no hop to wait for, kill within this many seconds of the start")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = []
    for n in range(args.trials):
        with tempfile.TemporaryDirectory(prefix="kill-resume-") as tmp:
            results.append(trial(args.seed + n, Path(tmp) / "state", args.max_delay))
            if not results[-1].ok:  # keep the evidence
                kept = Path(tempfile.gettempdir()) / f"kill-resume-failed-{args.seed + n}"
                shutil.copytree(Path(tmp) / "state", kept, dirs_exist_ok=True)
        r = results[-1]
        how = "killed" if r.killed else "finished first"
        print(f"trial {n + 1:>4} seed {r.seed}: kill after {r.hops} hop(s) +{r.extra:.2f} s ({r.delay:.2f} s; {how})"
              f", {r.reruns} rerun(s), {'resumed' if r.resumed else 'not resumed'}: "
              f"{'ok' if r.ok else '; '.join(r.problems)}", flush=True)
    failed = [r for r in results if not r.ok]
    killed = sum(r.killed for r in results)
    print(f"{len(results)} trials (seed {args.seed}), {killed} killed mid-run, "
          f"{sum(r.resumed for r in results)} resumed, {len(failed)} failed, {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
