"""An order whose outcome execution could not learn is settled from the broker's book (issue 24, item 4).

Through alpaca-py against the fake Alpaca: the POST's reply is lost and the look-ups by client order id stay
stale (404) past the placer's patience; the resubmission's 422 says the order exists. Execution reports the
leg `unknown` (not failed) and the run `unsettled`; the orchestrator keeps the workflow open (`settling`) and
warns; the stuck check looks the order up by client order id once the book shows it, and completes the
workflow with the broker's fills. Never visible, the workflow is failed past the threshold, naming the order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.execution import app as execution
from shared.events.trade_executed import TradeExecuted
from shared.runtime.clock import NEW_YORK
from tests.fakes.alpaca_broker import make_broker
from tests.fakes.execution_support import Context, buy, incoming, make_deps, make_plan, record_plan
from tests.fakes.fake_alpaca import FakeAlpaca, running_fake_alpaca
from tests.fakes.in_memory import InMemoryPublisher
from tests.fakes.sim_clock import SimClock
from tests.unit.orchestrator.support import CORRELATION, T0, Harness, sample

STUCK_CHECK = {"action": "check_stuck_workflows"}


@pytest.fixture
def fake():
    clock = SimClock()
    with running_fake_alpaca(clock=clock) as fake:
        fake.sim_clock = clock  # type: ignore[attr-defined]
        yield fake


def execute_with_a_stale_book(fake: FakeAlpaca, tmp_path) -> TradeExecuted:
    clock = fake.sim_clock  # type: ignore[attr-defined]
    fake.stale_lookups(10_000.0)
    fake.script_next("POST /v2/orders", status=504, after_create=True)  # GLD: accepted, reply lost
    publisher = InMemoryPublisher("alchemiser.execution")
    deps = make_deps(make_broker(fake, clock), tmp_path / "execution", clock=clock, publisher=publisher,
                     now=lambda: datetime.now(UTC))
    plan = make_plan([buy("GLD", notional="1900"), buy("TLT", notional="920")], correlation_id=CORRELATION,
                     trading_date=datetime.now(NEW_YORK).date())
    record_plan(deps, plan)
    response = execution.handle(incoming(plan), deps, context=Context(remaining_ms=120_000))
    [event] = [e for e in publisher.events if isinstance(e, TradeExecuted)]
    assert response["execution_status"] == "unsettled", response["message"]
    return event


def open_workflow(h: Harness) -> None:
    for detail_type in ("WorkflowStarted", "SignalGenerated", "RebalancePlanned"):
        h.deliver(sample(detail_type))


def test_an_unknown_order_keeps_the_workflow_open_and_is_settled_from_the_brokers_book(fake, tmp_path):
    event = execute_with_a_stale_book(fake, tmp_path)
    gld = next(o for o in event.orders if o.symbol == "GLD")
    assert (gld.status, gld.broker_order_id) == ("unknown", None) and "422" in (gld.error or "")
    assert (event.success, event.totals.orders_unknown, event.totals.orders_at_broker) == (False, 1, 1)
    assert len(fake.orders_with_client_id(gld.client_order_id)) == 1  # yet the broker filled it

    h = Harness.create(tmp_path / "orchestrator", stuck_after_minutes=30, stuck_fail_after_minutes=240)
    h.orders = make_broker(fake, fake.sim_clock)  # type: ignore[attr-defined]
    open_workflow(h)
    h.deliver(event)
    assert h.record().status == "settling"
    [warning] = [e for e in h.publisher.events if e.detail_type == "ErrorNotificationRequested"]
    assert warning.error_type == "ExecutionUnsettled" and gld.client_order_id in warning.error_message

    still = h.at(T0 + timedelta(minutes=15)).command(STUCK_CHECK)  # the book is still stale
    assert still["settled"] == [] and h.record().status == "settling"

    fake.stale_lookups(0)  # the broker's book catches up
    done = h.at(T0 + timedelta(minutes=30)).command(STUCK_CHECK)
    assert done["settled"] == [CORRELATION] and h.record().status == "completed"
    [completed] = [e for e in h.publisher.events if e.detail_type == "WorkflowCompleted"]
    assert (completed.summary.orders_at_broker, completed.summary.orders_filled) == (2, 2)
    settled = TradeExecuted.model_validate(h.record().execution)
    [broker_gld] = fake.orders_with_client_id(gld.client_order_id)
    row = next(o for o in settled.orders if o.symbol == "GLD")
    assert (row.status, row.broker_order_id, str(row.filled_qty)) == ("filled", broker_gld["id"],
                                                                      broker_gld["filled_qty"])
    assert settled.success and "settled from the broker's book" in (settled.reason or "")


def test_an_order_never_visible_fails_the_workflow_past_the_threshold_naming_it(fake, tmp_path):
    event = execute_with_a_stale_book(fake, tmp_path)
    gld = next(o for o in event.orders if o.symbol == "GLD")
    h = Harness.create(tmp_path / "orchestrator", stuck_after_minutes=30, stuck_fail_after_minutes=240)
    h.orders = make_broker(fake, fake.sim_clock)  # type: ignore[attr-defined]
    open_workflow(h)
    h.deliver(event)
    warned = h.at(T0 + timedelta(minutes=31)).command(STUCK_CHECK)
    assert warned["warned"] == [CORRELATION] and h.record().status == "settling"
    failed = h.at(T0 + timedelta(minutes=241)).command(STUCK_CHECK)
    assert failed["stuck"] == [CORRELATION] and h.record().status == "failed"
    assert gld.client_order_id in h.record().failure.reason and "check them" in h.record().failure.reason
