"""`alchemiser run`'s order counts (issue 24, item 7): at the broker, placed now and adopted, for every broker.

With `--broker alpaca` the broker's orders cannot be listed before the run, so the split used to be null;
it now comes from the TradeExecuted itself (execution knows which orders its POSTs created)."""

from __future__ import annotations

from datetime import UTC, datetime

from alchemiser.commands.run import as_json
from alchemiser.commands.run_summary import render
from alchemiser.local.day import DayResult
from tests.conftest import load_test_event as load_event


def trade(**totals: int) -> dict:
    event = load_event("trade-executed.json")
    event["detail"]["totals"].update(totals)
    return event


def result(event: dict, *, resumed: bool = False) -> DayResult:
    return DayResult(as_of=datetime(2026, 11, 25, 14, 35, tzinfo=UTC), status="completed", reason="", hops=[],
                     correlation_id="run-2026-11-25-paper", events=[event], resumed=resumed,
                     orders_before=None)  # --broker alpaca: nothing listed before the run


def test_a_run_on_a_broker_that_cannot_be_listed_still_splits_its_orders():
    report = as_json(result(trade(orders_at_broker=3, orders_placed_now=2, orders_adopted=1)), None)
    assert (report["orders_at_broker"], report["orders_placed_now"], report["orders_adopted"]) == (3, 2, 1)


def test_the_summary_says_what_was_placed_now_and_what_was_adopted():
    text = render(result(trade(orders_at_broker=3, orders_placed_now=2, orders_adopted=1), resumed=True), None)
    assert "at the broker 3 (placed now 2, adopted 1)" in text
    assert "orders at the broker 3: placed now 2, adopted (already at the broker) 1" in text
