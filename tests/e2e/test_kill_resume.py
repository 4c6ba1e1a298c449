"""Kill `alchemiser run` (SIGKILL, a real subprocess) at random points, rerun the day: nothing lost.

Bounded for the suite (trials until 4 kills landed mid-run, at most 18); `python bench/kill_resume.py --trials 100`
runs the same trials at scale. The seed is random and printed on failure.
"""

from __future__ import annotations

import random

from bench.kill_resume import trial

KILLS = 4
"""Trials whose kill must land while the run is still going (a kill after the day ended proves nothing)."""
MAX_TRIALS = 18


def test_a_day_killed_anywhere_and_rerun_completes_with_each_planned_order_placed_once(tmp_path):
    seed = random.randrange(1_000_000)
    results = []
    while sum(r.killed for r in results) < KILLS and len(results) < MAX_TRIALS:
        n = len(results)
        results.append(trial(seed + n, tmp_path / f"state-{n}", max_delay=1.5))
    failed = [f"seed {r.seed} (killed after {r.hops} hops +{r.extra:.2f} s): {'; '.join(r.problems)}"
              for r in results if not r.ok]
    assert not failed, f"seed {seed}: " + " | ".join(failed)
    landed = sum(r.killed for r in results)
    assert landed >= KILLS, f"seed {seed}: only {landed} of {len(results)} kills landed while the run was going"
