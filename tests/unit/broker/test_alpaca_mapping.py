"""Alpaca JSON to port types: exact Decimals, UTC timestamps, New York calendar times, order payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from shared.broker.port import BrokerError, OrderRequest
from shared.venues.alpaca.mapping import (
    dec,
    order_payload,
    parse_ts,
    to_calendar_day,
    to_order,
    to_position,
)


def test_decimals_keep_every_digit_of_strings_and_the_repr_of_floats() -> None:
    assert dec("0.000000001") == Decimal("0.000000001")
    assert dec(0.1) == Decimal("0.1")
    assert dec("12345678901234.5678") == Decimal("12345678901234.5678")
    for bad in (None, True, "abc", "NaN", "Infinity"):
        with pytest.raises(BrokerError):
            dec(bad)


def test_timestamps_with_nanoseconds_and_offsets_become_utc() -> None:
    assert parse_ts("2024-03-06T15:00:00.123456789Z") == datetime(2024, 3, 6, 15, 0, 0, 123456, tzinfo=UTC)
    assert parse_ts("2024-03-06T10:00:00-05:00") == datetime(2024, 3, 6, 15, 0, tzinfo=UTC)
    with pytest.raises(BrokerError):
        parse_ts("yesterday")


def test_calendar_times_are_new_york_wall_clock() -> None:
    day = to_calendar_day({"date": "2024-07-03", "open": "09:30", "close": "13:00"})
    assert day.open == datetime(2024, 7, 3, 13, 30, tzinfo=UTC)
    assert day.close == datetime(2024, 7, 3, 17, 0, tzinfo=UTC)
    compact = to_calendar_day({"date": "2024-01-03", "open": "0930", "close": "1600"})
    assert compact.close == datetime(2024, 1, 3, 21, 0, tzinfo=UTC)


def test_order_mapping() -> None:
    order = to_order(
        {
            "id": "abc",
            "client_order_id": "c",
            "symbol": "SPY",
            "side": "sell",
            "qty": "1.5",
            "notional": None,
            "filled_qty": "0.75",
            "filled_avg_price": "501.123",
            "status": "partially_filled",
            "submitted_at": "2024-03-06T15:00:00Z",
        }
    )
    assert (order.qty, order.filled_qty, order.filled_avg_price) == (
        Decimal("1.5"),
        Decimal("0.75"),
        Decimal("501.123"),
    )
    assert order.submitted_at == datetime(2024, 3, 6, 15, tzinfo=UTC) and not order.is_terminal
    with pytest.raises(BrokerError):
        to_order({"id": "x", "client_order_id": "c", "side": "short", "status": "new"})


def test_short_positions_are_negative() -> None:
    position = to_position(
        {
            "symbol": "SPY",
            "qty": "2",
            "side": "short",
            "market_value": "-1000",
            "current_price": "500",
            "avg_entry_price": "510",
            "qty_available": "2",
        }
    )
    assert position.qty == Decimal("-2") and position.qty_available == Decimal("-2")


def test_qty_available_is_read_from_alpaca_and_required() -> None:
    raw = {"symbol": "TLT", "qty": "10", "side": "long", "market_value": "920", "current_price": "92",
           "qty_available": "6.5"}
    position = to_position(raw)
    assert (position.qty, position.qty_available) == (Decimal("10"), Decimal("6.5"))
    with pytest.raises(BrokerError, match="qty_available"):
        to_position({k: v for k, v in raw.items() if k != "qty_available"})


def test_a_position_built_without_qty_available_has_all_of_qty_free() -> None:
    from shared.broker.port import Position

    assert Position("SPY", Decimal("3"), Decimal("1500"), Decimal("500")).qty_available == Decimal("3")
    assert Position("SPY", Decimal("3"), Decimal("1500"), Decimal("500"), qty_available=Decimal("1")).qty_available \
        == Decimal("1")


def test_order_payload_is_a_market_day_order_with_exact_strings() -> None:
    assert order_payload(OrderRequest("c1", "SPY", "buy", notional=Decimal("1E+3"))) == {
        "symbol": "SPY",
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
        "client_order_id": "c1",
        "notional": "1000",
    }
    assert (
        order_payload(OrderRequest("c2", "QQQ", "sell", qty=Decimal("0.000000001")))["qty"] == "0.000000001"
    )
