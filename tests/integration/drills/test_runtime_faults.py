"""The local runtime applies the faults its Chaos policy picks (the drills count on it).

A transient fault fails the invocation before the handler runs; a crash-after fault lets the
handler run with all its effects, then loses the response, so the same event is retried.
"""

from __future__ import annotations

from alchemiser.local.chaos import Chaos, Fault
from alchemiser.local.runtime import CRASHED_AFTER_EFFECTS, LocalRuntime
from tests.integration.local.handlers import calls
from tests.integration.local.test_runtime import entry, template

__all__ = ["template"]


class Scripted(Chaos):
    """No random delivery faults; the given invocation faults, in delivery order."""

    def __init__(self, *faults: Fault | None) -> None:
        super().__init__(0, p_duplicate=0, p_delay=0, p_reorder=0, p_transient=0, p_crash_after=0)
        self.script = list(faults)

    def fault(self, attempt: int, retries_left: int) -> Fault | None:
        return self.script.pop(0) if self.script and retries_left > 0 else None


def test_a_transient_fault_fails_the_invocation_before_the_handler_runs(template, state_dir):
    rt = LocalRuntime(state_dir, template=template, chaos=Scripted("transient"))
    (envelope,) = rt.put_events([entry(step="portfolio")])  # only the echo rule matches
    hops = rt.run_until_quiet()
    assert len(calls(state_dir, "echo")) == 1  # the faulted attempt never reached the handler
    assert [(h.attempt, h.status) for h in hops] == [(0, "error"), (1, "success")]
    assert hops[0].error is not None and hops[0].error.startswith("TransientFault")
    assert hops[0].response is None
    assert hops[0].event_id == hops[1].event_id == envelope["id"]
    assert rt.dlq.messages() == []


def test_a_crash_after_fault_runs_the_handler_then_loses_its_response_so_the_event_is_retried(
        template, state_dir):
    rt = LocalRuntime(state_dir, template=template, chaos=Scripted("crash_after"))
    rt.put_events([entry(step="portfolio")])
    hops = rt.run_until_quiet()
    assert len(calls(state_dir, "echo")) == 2  # the effects happened on the crashed attempt, and again
    assert [(h.attempt, h.status) for h in hops] == [(0, "error"), (1, "success")]
    assert hops[0].error is not None and hops[0].error.startswith(CRASHED_AFTER_EFFECTS)
    assert hops[0].response == {"status": "success"}  # what the handler answered, lost on the way back
    assert hops[0].event_id == hops[1].event_id


def test_no_fault_on_the_last_attempt_a_target_allows(template, state_dir):
    rt = LocalRuntime(state_dir, template=template, chaos=Scripted(*["transient"] * 10))
    rt.put_events([entry(step="portfolio")])  # echo: MaximumRetryAttempts 3
    hops = rt.run_until_quiet()
    assert [h.status for h in hops] == ["error", "error", "error", "success"]
    assert rt.dlq.messages() == []
