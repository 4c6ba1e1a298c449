"""The system's positions record, reconciled with the broker's book (shared/broker/positions_record.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from shared.broker.order_ids import WorkflowKey, plan_order_ids
from shared.broker.port import Order
from shared.broker.positions_record import (
    Pending,
    Record,
    SqlitePositionsRecord,
    after_plan,
    from_json,
    reconcile,
    to_json,
)

D = Decimal
DAY = date(2026, 11, 25)
KEY = WorkflowKey(DAY, "paper", "PA1", "run-1")


class Book:
    def __init__(self, orders: dict[str, Order]) -> None:
        self.orders = orders
        self.asked: list[str] = []

    def get_order_by_client_id(self, client_order_id: str) -> Order | None:
        self.asked.append(client_order_id)
        return self.orders.get(client_order_id)


def order(coid: str, symbol: str, side: str, filled: str, status: str = "filled") -> Order:
    return Order("b-" + coid, coid, symbol, side, D(filled), None, D(filled), D(1), status,  # type: ignore[arg-type]
                 datetime(2026, 11, 25, 15, tzinfo=UTC))


def test_a_plan_pends_its_orders_and_the_broker_book_settles_them():
    record = after_plan(Record({"GLD": D(10)}), {"GLD": D(10)}, KEY, [("GLD", "sell"), ("TLT", "buy")])
    sell, buy = plan_order_ids(KEY, [("GLD", "sell"), ("TLT", "buy")])
    assert set(record.pending) == {sell, buy}
    book = Book({sell: order(sell, "GLD", "sell", "4"), buy: order(buy, "TLT", "buy", "7", "partially_filled")})
    settled = reconcile(record, {"GLD": D(6), "TLT": D(7)}, book, DAY)
    assert settled.held == {"GLD": D(6), "TLT": D(7)}
    assert settled.pending == {buy: Pending("TLT", "buy", DAY, D(7))}  # still open: 7 counted
    book.orders[buy] = order(buy, "TLT", "buy", "9")
    later = reconcile(settled, {"GLD": D(6), "TLT": D(9)}, book, date(2026, 11, 27))
    assert later.held == {"GLD": D(6), "TLT": D(9)} and later.pending == {}  # only the 2 new shares added


def test_hand_sales_cap_the_record_and_hand_buys_never_raise_it():
    record = Record({"GLD": D(10), "SPY": D(3)})
    settled = reconcile(record, {"GLD": D(4), "AAPL": D(50)}, Book({}), DAY)
    assert settled.held == {"GLD": D(4)}  # SPY sold by hand: gone; AAPL was never the system's


def test_an_order_the_broker_never_saw_is_kept_through_its_day_then_forgotten():
    record = after_plan(Record(), {}, KEY, [("TLT", "buy")])
    assert reconcile(record, {}, Book({}), DAY).pending == record.pending
    assert reconcile(record, {}, Book({}), date(2026, 11, 27)).pending == {}


def test_the_embedded_store_round_trips_and_updates_atomically(tmp_path):
    store = SqlitePositionsRecord(tmp_path / "state.sqlite")
    assert store.read("PA1") is None
    made = after_plan(Record(), {"GLD": D("1.5")}, KEY, [("TLT", "buy")])
    store.update("PA1", lambda old: made)
    assert store.read("PA1") == made == from_json(to_json(made))
    store.update("PA1", lambda old: replace(old or Record(), held={}))
    assert store.read("PA1") == replace(made, held={}) and store.read("PA2") is None
