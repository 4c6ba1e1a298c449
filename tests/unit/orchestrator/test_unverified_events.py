"""The orchestrator acts only on events their producer recorded as published (shared/runtime/published_facts.py).

An attacker who may put events on the bus chooses every field and the source. Whatever they send -
hand-made, a real event edited, a real event under another function's source - the orchestrator starts,
moves and ends no workflow on it, publishes nothing and notifies nobody; a resend or replay of the real
event is accepted as the redelivery it is.
"""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.events import route_for
from shared.events.catalog import ORCHESTRATOR, ROUTES, SOURCE_OF
from shared.events.envelope import InvalidEventError
from shared.runtime import metric_names as m
from shared.runtime.published_facts import event_digest
from tests.unit.orchestrator.support import CORRELATION, Harness, envelope, sample

STARTED, SIGNALS, PLANNED, EXECUTED = (sample("WorkflowStarted"), sample("SignalGenerated"),
                                       sample("RebalancePlanned"), sample("TradeExecuted"))
FAILED, NOTICE, COMPLETED = sample("WorkflowFailed"), sample("ErrorNotificationRequested"), sample("WorkflowCompleted")
FAILED_SOURCE = SOURCE_OF["portfolio"]


@pytest.fixture
def h(state_dir) -> Harness:
    return Harness.create(state_dir)


def _nothing_happened(h: Harness, response: dict[str, Any], *, record_before: Any, published: int = 0,
                      sent: int = 0) -> None:
    assert response["status"] == "failed" and response["error_type"] == "UnverifiedEvent", response
    assert len(h.publisher.events) == published and len(h.notifier.sent) == sent
    assert h.record() == record_before


# ------------------------------------------------------------------ the attacker's cases


@pytest.mark.parametrize("event", [FAILED, EXECUTED, STARTED, NOTICE, COMPLETED], ids=lambda e: e.detail_type)
def test_a_forged_event_before_the_run_opens_no_workflow_and_notifies_nobody(h, event):
    source = FAILED_SOURCE if event is FAILED else None
    response = h.deliver(event, recorded=False, source=source)
    _nothing_happened(h, response, record_before=None)
    assert h.store.event_entry(CORRELATION, event.event_id) is None  # not even in the event log
    assert h.metrics.total(m.UNVERIFIED_EVENTS) == 1 and "not" in response["message"]
    # the real day then runs as if nothing had been sent
    for real in (STARTED, SIGNALS, PLANNED, EXECUTED):
        assert h.deliver(real)["status"] == "success"
    assert h.record().status == "completed" and [e.detail_type for e in h.publisher.events] == ["WorkflowCompleted"]


def test_a_forged_trade_executed_after_the_day_raises_no_after_terminal_alarm(h):
    for real in (STARTED, SIGNALS, PLANNED, EXECUTED):
        h.deliver(real)
    before, sent = h.record(), len(h.notifier.sent)
    forged = EXECUTED.model_copy(update={"event_id": "forged-after", "plan_id": "plan-forged"})
    _nothing_happened(h, h.deliver(forged, recorded=False), record_before=before, published=1, sent=sent)
    assert h.metrics.total(m.EXECUTIONS_AFTER_TERMINAL) == 0


def test_a_forged_failure_after_the_day_changes_nothing(h):
    for real in (STARTED, SIGNALS, PLANNED, EXECUTED):
        h.deliver(real)
    before = h.record()
    _nothing_happened(h, h.deliver(FAILED, recorded=False, source=FAILED_SOURCE), record_before=before, published=1,
                      sent=1)


def test_a_real_event_with_edited_contents_is_refused(h):
    h.deliver(STARTED)
    real = EXECUTED  # recorded by execution, then edited on its way back onto the bus
    edited = real.model_copy(update={"success": False, "status": "failed", "reason": "forged"})
    from tests.fakes.facts import record_published

    record_published(real, h.facts, producer="execution")
    before = h.record()
    response = h.deliver(edited, recorded=False)
    _nothing_happened(h, response, record_before=before)
    assert "differs" in response["message"]


def test_the_real_events_resent_or_replayed_are_redeliveries(h):
    for real in (STARTED, SIGNALS, PLANNED, EXECUTED):
        h.deliver(real)
    before = h.record()
    for real in (STARTED, SIGNALS, PLANNED, EXECUTED):
        again = h.deliver(real, recorded=False, replay_name="replay-1")  # recorded once, by the real producer
        assert again["status"] in ("duplicate", "skipped"), again
    assert h.record() == before and len(h.publisher.events) == 1 and h.metrics.total(m.UNVERIFIED_EVENTS) == 0


def test_a_real_failure_under_another_producers_source_is_refused(h):
    from tests.fakes.facts import record_published

    record_published(FAILED, h.facts, producer="portfolio")
    spoofed = h.deliver(FAILED, recorded=False, source=SOURCE_OF["strategy"])
    _nothing_happened(h, spoofed, record_before=None)
    as_own = h.deliver(FAILED, recorded=False, source=SOURCE_OF[ORCHESTRATOR])
    _nothing_happened(h, as_own, record_before=None)
    real = h.deliver(FAILED, recorded=False, source=FAILED_SOURCE)
    assert real["status"] == "success" and h.record().status == "failed" and len(h.notifier.sent) == 0
    assert [e.detail_type for e in h.publisher.events] == ["ErrorNotificationRequested"]


def test_an_error_notification_the_orchestrator_published_is_delivered_and_a_forged_one_is_not(h):
    h.deliver(STARTED)
    h.deliver(FAILED, source=FAILED_SOURCE)
    [request] = h.publisher.events  # published (and so recorded) by the orchestrator
    assert h.deliver(request, recorded=False)["status"] == "success" and len(h.notifier.sent) == 1
    forged = request.model_copy(update={"event_id": "forged-notice", "error_message": "call this number"})
    _nothing_happened(h, h.deliver(forged, recorded=False), record_before=h.record(), published=1, sent=1)


# ------------------------------------------------------------------ the fuzz: mutated real events

REAL = (STARTED, SIGNALS, PLANNED, EXECUTED, FAILED, NOTICE, COMPLETED)
_SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None  # each example's store: no fsync to a disk
PRIOR = {"none": (), "open": (STARTED, SIGNALS, PLANNED), "completed": (STARTED, SIGNALS, PLANNED, EXECUTED)}


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _mutated(value: Any, choice: int) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1 + choice % 3
    if isinstance(value, str):
        try:
            return str(Decimal(value) + Decimal(choice % 7 + 1) / 100)
        except ArithmeticError:
            return value[:-1] if value and choice % 2 else value + "x"
    if value is None:
        return "forged"
    return [] if isinstance(value, list) else {}


def _set(detail: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(detail))
    target = out
    for key in path[:-1]:
        target = target[key]
    if path:
        target[path[-1]] = new
    return out


@st.composite
def mutants(draw: st.DrawFn) -> tuple[str, Any, dict[str, Any], str]:
    prior = draw(st.sampled_from(sorted(PRIOR)))
    real = draw(st.sampled_from(REAL))
    detail = json.loads(real.model_dump_json())
    route = ROUTES[real.detail_type]
    source = draw(st.sampled_from(sorted(route.sources)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_leaves(detail)))
        at = detail
        for key in path:
            at = at[key]
        detail = _set(detail, path, _mutated(at, draw(st.integers(0, 100))))
    return prior, real, detail, source


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutants())
def test_no_mutated_event_ends_a_workflow_publishes_or_notifies(case):
    prior, real, detail, source = case
    with tempfile.TemporaryDirectory(dir=_SCRATCH) as tmp:
        h = Harness.create(Path(tmp))
        for event in PRIOR[prior]:
            h.deliver(event)
        # the real event is recorded, by its real producer, as published; the mutant is what arrives
        from tests.fakes.facts import record_published

        real_source = FAILED_SOURCE if real is FAILED else envelope(real)["source"]
        record_published(real, h.facts, producer=next(f for f, s in SOURCE_OF.items() if s == real_source))
        model = route_for(real.detail_type).model
        try:
            mutant = model.model_validate(detail)
        except ValueError:
            return  # not even a valid event: the middleware refuses it before the handler
        if event_digest(mutant) == event_digest(real) and source == real_source:
            return  # the mutation changed nothing the model keeps: it is the real event
        before, published, sent = h.record(), len(h.publisher.events), len(h.notifier.sent)
        try:
            response = h.deliver(mutant, recorded=False, source=source)
        except InvalidEventError:
            response = None
        assert len(h.publisher.events) == published and len(h.notifier.sent) == sent
        assert h.record() == before
        if response is not None:
            assert (response["status"], response["error_type"]) == ("failed", "UnverifiedEvent"), response
        assert h.metrics.total(m.UNVERIFIED_EVENTS) == (response is not None)


# ------------------------------------------------------------------ checking a channel without forging


def test_a_test_notification_command_sends_one_message_per_invocation_and_publishes_nothing(h):
    first = h.command({"action": "test_notification"}, request_id="req-1")
    again = h.command({"action": "test_notification"}, request_id="req-1")  # Lambda's retry of the invocation
    other = h.command({"action": "test_notification"}, request_id="req-2")
    assert [r["status"] for r in (first, again, other)] == ["success", "duplicate", "success"]
    assert [s for s, _ in h.notifier.sent] == ["Alchemiser [paper] test notification (dev)"] * 2
    assert "req-1" in h.notifier.sent[0][1] and h.publisher.events == [] and h.record() is None
    assert h.metrics.total(m.NOTIFICATIONS_SENT) == 2
