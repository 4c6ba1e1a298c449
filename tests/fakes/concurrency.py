"""One harness for "these deliveries arrive at the same moment": each call in its own thread, all
released together by a barrier, every result (or the exception it raised) returned in order.

    results = all_at_once([lambda: guard.claim("wf", "plan-a"), lambda: guard.claim("wf", "plan-b")])
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

TIMEOUT_SECONDS = 60.0


def all_at_once(calls: Sequence[Callable[[], Any]], *, timeout: float = TIMEOUT_SECONDS) -> list[Any]:
    """Run every call concurrently (started together); results in the calls' order, an exception in
    place of the result of a call that raised. A call still running after `timeout` fails the test."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout)
            results[index] = call()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        if thread.is_alive():
            raise AssertionError(f"a concurrent call did not finish within {timeout} s")
    return results


def raised(results: Sequence[Any]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]


def named(results: Sequence[Any], value: Callable[[Any], Any],
          expected: dict[type[BaseException], Any]) -> list[Any]:
    """Each result as `value(result)`, an expected exception as its label; any other exception is raised."""
    out = []
    for result in results:
        if isinstance(result, BaseException):
            label = next((v for kind, v in expected.items() if isinstance(result, kind)), None)
            if label is None:
                raise result
            out.append(label)
        else:
            out.append(value(result))
    return out
