"""The token bucket never lets more than per_minute requests into any 60-second window."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.venues.alpaca.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def busiest_minute(stamps: list[float]) -> int:
    return max(sum(1 for t in stamps if s - 60.0 < t <= s + 1e-9) for s in stamps)


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=600),
    per_minute=st.integers(min_value=20, max_value=200),
    burst=st.integers(min_value=1, max_value=19),
)
def test_no_60_second_window_exceeds_the_limit(gaps: list[float], per_minute: int, burst: int) -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute, burst, clock=clock, sleep=clock.sleep)
    stamps = []
    for gap in gaps:
        clock.now += gap
        limiter.acquire()
        stamps.append(clock.now)
    assert busiest_minute(stamps) <= per_minute


def test_a_burst_goes_through_at_once_then_requests_are_paced() -> None:
    clock = Clock()
    limiter = RateLimiter(190, 10, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(12)]
    assert waits[:10] == [0.0] * 10
    assert waits[10] == pytest.approx(60 / 180) and waits[11] == pytest.approx(60 / 180)


def test_threads_sharing_a_limiter_reserve_tokens_fairly() -> None:
    lock = threading.Lock()
    clock_value = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    limiter = RateLimiter(70, 10, clock=lambda: clock_value[0], sleep=sleep)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 10 immediate, then one token per second reserved in turn: 1 s, 2 s, ... 10 s
    assert sorted(slept) == pytest.approx([float(i) for i in range(1, 11)])


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(10, 10)
