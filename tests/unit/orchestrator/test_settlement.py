"""Settling `unknown` orders from the broker's book (services/orchestrator/settlement.py), on a fake book."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from services.orchestrator.settlement import settle
from shared.broker.port import BrokerUnavailable, Order
from tests.unit.orchestrator.support import CORRELATION, T0, Harness, sample

D = Decimal
STUCK_CHECK = {"action": "check_stuck_workflows"}


def unsettled():
    executed = sample("TradeExecuted")
    rows = list(executed.orders)
    rows[0] = rows[0].model_copy(update={"status": "unknown", "broker_order_id": None, "filled_qty": D(0),
                                         "avg_fill_price": None, "error": "outcome unknown: 422"})
    totals = executed.totals.model_copy(update={"orders_unknown": 1, "orders_at_broker": 2, "orders_filled": 2})
    return sample("TradeExecuted", orders=rows, status="unsettled", success=False, totals=totals)


class Book:
    def __init__(self, orders=(), fail=False):
        self.orders = {o.client_order_id: o for o in orders}
        self.fail, self.asked, self.canceled = fail, [], []

    def get_order_by_client_id(self, coid):
        self.asked.append(coid)
        if self.fail:
            raise BrokerUnavailable("HTTP 503")
        return self.orders.get(coid)

    def cancel_order(self, broker_order_id):
        self.canceled.append(broker_order_id)


def order_for(row, status="filled", symbol=None):
    return Order("b-9", row.client_order_id, symbol or row.symbol, row.side, None, row.requested_notional,
                 D("600.654"), D("82.41"), status)


def settling(tmp_path, book):
    h = Harness.create(tmp_path, stuck_after_minutes=30, stuck_fail_after_minutes=240)
    h.orders = book
    for detail_type in ("WorkflowStarted", "SignalGenerated", "RebalancePlanned"):
        h.deliver(sample(detail_type))
    h.deliver(unsettled())
    return h


def test_an_unsettled_execution_keeps_the_workflow_open_and_warns_once(tmp_path):
    h = settling(tmp_path, Book())
    assert h.record().status == "settling"
    assert [e.error_type for e in h.publisher.events] == ["ExecutionUnsettled"]
    assert h.deliver(unsettled())["status"] == "duplicate"  # the second rule's copy


def test_only_orders_found_and_final_settle_the_workflow(tmp_path):
    row = unsettled().orders[0]
    for book in (Book(), Book([order_for(row, symbol="QQQ")])):
        h = settling(tmp_path / str(id(book)), book)
        assert h.at(T0 + timedelta(minutes=15)).command(STUCK_CHECK)["settled"] == []
        assert h.record().status == "settling" and book.asked == [row.client_order_id] and book.canceled == []


def test_an_order_found_open_is_canceled_as_execution_would_have_then_settled_when_final(tmp_path):
    row = unsettled().orders[0]
    stubborn = Book([order_for(row, status="new")])  # the cancel does not take
    h = settling(tmp_path / "a", stubborn)
    assert h.at(T0 + timedelta(minutes=15)).command(STUCK_CHECK)["settled"] == []
    assert stubborn.canceled == ["b-9"] and h.record().status == "settling"
    canceling = Book([order_for(row, status="new")])
    canceling.cancel_order = lambda order_id: canceling.orders.update(  # type: ignore[method-assign]
        {row.client_order_id: order_for(row, status="canceled")})
    h = settling(tmp_path / "b", canceling)
    assert h.at(T0 + timedelta(minutes=15)).command(STUCK_CHECK)["settled"] == [CORRELATION]
    settled = h.record().execution  # partly filled, then canceled: `partial`, by execution's own rule
    assert h.record().status == "failed" and settled["status"] == "partial"
    assert settled["orders"][0]["status"] == "partially_filled" and settled["orders"][0]["broker_order_id"] == "b-9"


def test_a_book_that_cannot_be_read_is_tried_again_at_the_next_check(tmp_path):
    h = settling(tmp_path, Book(fail=True))
    response = h.at(T0 + timedelta(minutes=15)).command(STUCK_CHECK)
    assert response["status"] == "success" and response["settled"] == [] and h.record().status == "settling"


def test_settled_rows_totals_and_verdict_come_from_the_book():
    event = unsettled()
    row = event.orders[0]
    from services.orchestrator.workflow_record import WorkflowRecord

    record = WorkflowRecord(correlation_id=CORRELATION, trading_mode="paper", status="settling", created_at=T0,
                            last_progress_at=T0, last_event_id=event.event_id, last_hop=3,
                            execution=event.model_dump(mode="json"))
    settled = settle(record, Book([order_for(row)]), T0)
    assert settled is not None and (settled.status, settled.success) == ("executed", True)
    assert settled.orders[0].broker_order_id == "b-9" and settled.totals.orders_at_broker == 3
    assert settled.totals.orders_unknown == 0 and settled.event_id != event.event_id
