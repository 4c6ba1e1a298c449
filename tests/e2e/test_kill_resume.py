"""Kill `alchemiser run` (SIGKILL, a real subprocess) at random points, rerun the day: nothing lost.

Bounded for the suite (a handful of trials, ~60-90 s); `python bench/kill_resume.py --trials 100`
runs the same trials at scale. The seed is random and printed on failure.
"""

from __future__ import annotations

import random

from bench.kill_resume import trial

TRIALS = 6


def test_a_day_killed_anywhere_and_rerun_completes_with_each_planned_order_placed_once(tmp_path):
    seed = random.randrange(1_000_000)
    results = [trial(seed + n, tmp_path / f"state-{n}", max_delay=1.5) for n in range(TRIALS)]
    failed = [f"seed {r.seed} (killed after {r.hops} hops +{r.extra:.2f} s): {'; '.join(r.problems)}"
              for r in results if not r.ok]
    assert not failed, f"seed {seed}: " + " | ".join(failed)
    assert sum(r.killed for r in results) >= TRIALS // 2, "most kills must land while the run is still going"
