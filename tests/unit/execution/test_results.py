"""From broker orders to reported outcomes and the run's verdict: fills only from the broker."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.execution.legs import Leg
from services.execution.placer import Placement
from services.execution.results import order_result, totals, verdict
from shared.broker.port import Order

D = Decimal


def leg(side: str = "buy") -> Leg:
    return Leg(0, f"alch-p-SPY-{side}-0", "SPY", side, None if side == "buy" else D("10"),  # type: ignore[arg-type]
               D("1000") if side == "buy" else None, True, D("500"))


def order(status: str, filled: str = "0", price: str | None = None, side: str = "buy") -> Order:
    return Order("b-1", f"alch-p-SPY-{side}-0", "SPY", side, None if side == "buy" else D("10"),  # type: ignore[arg-type]
                 D("990") if side == "buy" else None, D(filled), D(price) if price else None, status)


@pytest.mark.parametrize("status,filled,outcome", [
    ("filled", "2", "filled"), ("rejected", "0", "rejected"), ("canceled", "1.5", "partially_filled"),
    ("canceled", "0", "canceled"), ("expired", "0", "canceled"), ("new", "0", "open"),
    ("partially_filled", "1", "open"), ("done_for_day", "1", "partially_filled")])
def test_broker_states_map_to_outcomes(status, filled, outcome):
    assert order_result(Placement(leg(), "submitted", order(status, filled, "500"))).status == outcome


def test_amounts_and_fills_come_from_the_broker_order():
    result = order_result(Placement(leg(), "adopted", order("filled", "1.98", "500.05")))
    assert (result.broker_order_id, result.requested_notional, result.filled_qty, result.avg_fill_price) == (
        "b-1", D("990"), D("1.98"), D("500.05"))


def test_a_broker_average_price_beyond_the_events_precision_is_rounded_not_a_lost_report():
    result = order_result(Placement(leg(), "adopted", order("filled", "3", "500.123456789012345")))
    assert result.avg_fill_price == D("500.123456789")


def test_a_long_broker_error_is_capped_in_the_report():
    result = order_result(Placement(leg(), "rejected", error="insufficient buying power (cost " + "9" * 100_000 + ")"))
    assert len(result.error) == 1000 and result.error.endswith("…")


def test_no_fill_means_no_price_even_if_the_broker_sends_one():
    result = order_result(Placement(leg(), "submitted", order("canceled", "0", "500")))
    assert result.avg_fill_price is None and result.filled_qty == 0


def test_orders_never_placed_report_what_was_requested_and_why():
    result = order_result(Placement(leg(), "failed", error="outcome unknown: 503"))
    assert (result.status, result.broker_order_id, result.requested_notional, result.error) == (
        "failed", None, D("1000"), "outcome unknown: 503")


def test_totals_and_verdicts():
    filled_buy = order_result(Placement(leg(), "submitted", order("filled", "2", "500")))
    filled_sell = order_result(Placement(leg("sell"), "submitted", order("filled", "10", "400", side="sell")))
    skipped = order_result(Placement(leg(), "skipped", error="reducing"))
    t = totals([filled_buy, filled_sell, skipped], 3)
    assert (t.orders_planned, t.orders_at_broker, t.orders_filled, t.orders_skipped, t.orders_failed) == (3, 2, 2, 1, 0)
    assert (t.buy_value, t.sell_value, t.turnover) == (D("1000.00"), D("4000.00"), D("5000.00"))
    assert verdict([filled_buy, filled_sell], 2) == ("executed", True)
    assert verdict([filled_buy, skipped], 2) == ("partial", False)
    assert verdict([skipped], 1) == ("failed", False)
    assert verdict([], 0) == ("empty", True)
