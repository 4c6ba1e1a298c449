"""Delivery faults for the local runtime: what at-least-once delivery does to a chain, on purpose.

A `Chaos` policy, seeded, decides for each delivery whether EventBridge delivers it twice, late or
out of order, whether the invocation fails transiently before the handler runs (throttling, a
container that died before its first line), and whether it "crashes" after the handler's effects
(the response is lost, so the same event is retried although its orders and events already
happened). Transient faults never exhaust a target's retries, so only genuinely bad events reach
the dead-letter queue.

The runtime applies what `fault` picks (alchemiser/local/runtime.py: a transient fault raises
TransientFault before the handler; a crash-after fault records CrashedAfterEffects after the
handler's effects and outbox). `ChaosStats` counts what the policy chose, not what happened: the
drills (bench/fault_chain.py) count faults from the hops — a faulted attempt followed by a retry of
the same event — so a runtime that dropped a fault would show up as a fault never applied.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

Fault = Literal["transient", "crash_after"]


@dataclass
class ChaosStats:
    duplicated: int = 0
    delayed: int = 0
    reordered: int = 0
    transient: int = 0
    crashed_after: int = 0


@dataclass
class Chaos:
    seed: int
    p_duplicate: float = 0.3
    p_delay: float = 0.2
    p_reorder: float = 0.3
    p_transient: float = 0.15
    p_crash_after: float = 0.15
    stats: ChaosStats = field(default_factory=ChaosStats)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def copies(self) -> int:
        """How many times EventBridge delivers one matched event to one target."""
        if self.rng.random() < self.p_duplicate:
            self.stats.duplicated += 1
            return 2
        return 1

    def pick(self, queued: int) -> int:
        """Which queued delivery goes next (0 = in order)."""
        if queued > 1 and self.rng.random() < self.p_reorder:
            self.stats.reordered += 1
            return self.rng.randrange(1, queued)
        return 0

    def delay(self) -> bool:
        """Put this delivery back at the end of the queue instead of delivering it now."""
        if self.rng.random() < self.p_delay:
            self.stats.delayed += 1
            return True
        return False

    def fault(self, attempt: int, retries_left: int) -> Fault | None:
        """A fault for this attempt, never on the last attempt a target allows."""
        if retries_left <= 0:
            return None
        roll = self.rng.random()
        if roll < self.p_transient:
            self.stats.transient += 1
            return "transient"
        if roll < self.p_transient + self.p_crash_after:
            self.stats.crashed_after += 1
            return "crash_after"
        return None
