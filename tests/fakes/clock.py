"""A wall clock tests move by hand (epoch seconds), for stores whose records expire."""

from __future__ import annotations


class WallClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
