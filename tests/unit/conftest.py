"""What the unit suite shares: a garbage collector tuned for many short tests (see `_gc_for_unit_tests`)."""

from __future__ import annotations

import gc

import pytest

# CPython's default (700, 10, 10) runs a young collection every 700 net allocations and a full one
# about every 70,000, each full one walking every object alive (300,000 once the suite is imported);
# with the deep and large strategy trees and hypothesis' examples the default spent about a fifth of
# the unit suite's time in the collector.
UNIT_GC_THRESHOLD = (10_000, 20, 100)


@pytest.fixture(scope="package", autouse=True)
def _gc_for_unit_tests() -> None:
    """For the unit tests only: move everything alive after collection (every imported module, the
    parametrize lists, hypothesis' strategies) into the collector's permanent generation, so a full
    collection walks only what the tests allocate, and collect less often. Garbage is still collected;
    nothing a test checks depends on when. Not undone afterwards: tests/unit is the last folder
    `make test` runs and the only one `make test-fast` runs, and restoring the default thresholds
    only triggered one more full collection at the end (half a second per process)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*UNIT_GC_THRESHOLD)
