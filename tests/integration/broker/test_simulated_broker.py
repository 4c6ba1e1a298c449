"""SimulatedBroker: persistence, idempotent client order ids under concurrency, fills, rules, faults."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared.broker.port import (
    Asset,
    DuplicateClientOrderId,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
)
from shared.marketdata.port import Session
from shared.runtime.clock import NEW_YORK as NY
from shared.venues.simulated.broker import SimulatedBroker
from shared.venues.simulated.faults import Fault, SimFaults
from tests.fakes.concurrency import all_at_once, named

PRICES = {"SPY": Decimal("500"), "QQQ": Decimal("400"), "BRK.A": Decimal("600000"), "TQQQ": Decimal("50")}
OPEN_TIME = datetime(2024, 3, 6, 15, 0, tzinfo=UTC)  # Wednesday 10:00 New York
SATURDAY = datetime(2024, 3, 9, 15, 0, tzinfo=UTC)


class WeekdayCalendar:
    """Weekdays 09:30-16:00 New York, no holidays: enough for the simulated clock."""

    def session(self, day: date) -> Session | None:
        if day.weekday() >= 5:
            return None
        return Session(
            day,
            datetime.combine(day, time(9, 30), NY).astimezone(UTC),
            datetime.combine(day, time(16, 0), NY).astimezone(UTC),
        )

    def previous_session(self, day: date) -> Session:
        day -= timedelta(days=1)
        while (found := self.session(day)) is None:
            day -= timedelta(days=1)
        return found

    def latest_session(self, at: datetime) -> Session:
        today = self.session(at.astimezone(NY).date())
        return (
            today
            if today is not None and today.open <= at
            else self.previous_session(at.astimezone(NY).date())
        )


def make(
    state_dir: Path, now: datetime = OPEN_TIME, prices: dict[str, Decimal] | None = None, **kwargs: Any
) -> SimulatedBroker:
    table = PRICES if prices is None else prices
    kwargs.setdefault("non_fractionable", {"BRK.A"})
    return SimulatedBroker(
        state_dir, lambda s: table[s], calendar=WeekdayCalendar(), now=lambda: now, **kwargs
    )


def buy(coid: str, symbol: str = "SPY", **amount: Decimal) -> OrderRequest:
    return OrderRequest(coid, symbol, "buy", **(amount or {"qty": Decimal("1")}))


def sell(coid: str, symbol: str = "SPY", **amount: Decimal) -> OrderRequest:
    return OrderRequest(coid, symbol, "sell", **(amount or {"qty": Decimal("1")}))


def test_account_persists_across_instances(tmp_path: Path) -> None:
    first = make(tmp_path)
    order = first.submit_order(buy("b1", qty=Decimal("10")))

    second = make(tmp_path, starting_cash=Decimal("5"))  # starting cash applies to a new account only

    assert second.get_account().cash == Decimal("95000")
    assert [(p.symbol, p.qty) for p in second.get_positions()] == [("SPY", Decimal("10"))]
    assert second.get_order(order.broker_order_id).status == "filled"
    assert second.get_order_by_client_id("b1") == second.get_order(order.broker_order_id)
    assert (tmp_path / "broker" / "simulated.sqlite3").exists()


def test_accounts_are_separate_by_name(tmp_path: Path) -> None:
    make(tmp_path).submit_order(buy("b1"))
    other = make(tmp_path, account_name="other")
    assert other.get_account().cash == Decimal("100000") and other.get_positions() == []


def test_fresh_account_has_starting_cash(tmp_path: Path) -> None:
    account = make(tmp_path, starting_cash=Decimal("2500.50")).get_account()
    assert account.cash == account.equity == account.buying_power == Decimal("2500.50")
    assert account.status == "ACTIVE" and not account.trading_blocked


def test_duplicate_client_order_id_is_refused(tmp_path: Path) -> None:
    broker = make(tmp_path)
    broker.submit_order(buy("same"))
    with pytest.raises(DuplicateClientOrderId):
        broker.submit_order(buy("same", qty=Decimal("2")))
    assert len(broker.list_orders()) == 1 and broker.get_account().cash == Decimal("99500")


def test_concurrent_submits_of_one_client_order_id_make_exactly_one_order(tmp_path: Path) -> None:
    brokers = [make(tmp_path) for _ in range(8)]  # one broker per "handler"
    results = all_at_once([lambda b=b: b.submit_order(buy("race", qty=Decimal("3"))) for b in brokers])
    outcomes = named(results, lambda _: "placed", {DuplicateClientOrderId: "duplicate"})

    assert sorted(outcomes) == ["duplicate"] * 7 + ["placed"]
    broker = make(tmp_path)
    assert len(broker.list_orders()) == 1
    assert broker.get_account().cash == Decimal("98500")


def _submit_in_process(state_dir: str, coid: str, results: Any) -> None:
    broker = make(Path(state_dir))
    try:
        broker.submit_order(buy(coid))
        results.put("placed")
    except DuplicateClientOrderId:
        results.put("duplicate")


def test_concurrent_submits_from_processes_make_exactly_one_order(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(target=_submit_in_process, args=(str(tmp_path), "proc-race", results))
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert sorted(results.get(timeout=5) for _ in processes) == ["duplicate", "duplicate", "placed"]
    assert len(make(tmp_path).list_orders()) == 1


def test_different_client_order_ids_from_threads_all_land(tmp_path: Path) -> None:
    def submit(i: int) -> None:
        make(tmp_path).submit_order(buy(f"t{i}", qty=Decimal("1")))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    broker = make(tmp_path)
    assert len(broker.list_orders()) == 10
    assert broker.get_positions()[0].qty == Decimal("10") and broker.get_account().cash == Decimal("95000")


def test_slippage_moves_fills_against_the_trader(tmp_path: Path) -> None:
    broker = make(tmp_path, slippage_bps=Decimal("10"))
    bought = broker.submit_order(buy("b", qty=Decimal("2")))
    sold = broker.submit_order(sell("s", qty=Decimal("1")))

    assert bought.filled_avg_price == Decimal("500.5") and sold.filled_avg_price == Decimal("499.5")
    assert broker.get_account().cash == Decimal("100000") - Decimal("1001") + Decimal("499.5")


def test_notional_buy_spends_at_most_the_notional(tmp_path: Path) -> None:
    broker = make(tmp_path, slippage_bps=Decimal("3"))
    order = broker.submit_order(buy("n", notional=Decimal("1000")))
    spent = Decimal("100000") - broker.get_account().cash
    assert Decimal("999.99") <= spent <= Decimal("1000")
    assert order.filled_qty == Decimal("1.999400179") and order.notional == Decimal("1000")


def test_non_fractionable_assets_refuse_notional_and_fractional_qty(tmp_path: Path) -> None:
    broker = make(tmp_path, starting_cash=Decimal("2000000"))
    with pytest.raises(OrderRejected, match="not fractionable"):
        broker.submit_order(buy("n", "BRK.A", notional=Decimal("1000")))
    with pytest.raises(OrderRejected, match="not fractionable"):
        broker.submit_order(buy("q", "BRK.A", qty=Decimal("0.5")))
    assert broker.submit_order(buy("whole", "BRK.A", qty=Decimal("2"))).status == "filled"
    assert broker.submit_order(buy("frac", "SPY", qty=Decimal("0.5"))).filled_qty == Decimal("0.5")


def test_asset_table_limits_known_symbols(tmp_path: Path) -> None:
    assets = {"SPY": Asset("SPY", True, True), "OLD": Asset("OLD", False, False, "inactive")}
    broker = make(tmp_path, assets=assets, prices={**PRICES, "OLD": Decimal("1")})
    assert set(broker.get_assets(["SPY", "OLD", "QQQ"])) == {"SPY", "OLD"}
    with pytest.raises(OrderRejected, match="not found"):
        broker.submit_order(buy("q", "QQQ"))
    with pytest.raises(OrderRejected, match="not tradable"):
        broker.submit_order(buy("o", "OLD"))


def test_default_assets_are_tradable_and_fractionable_except_configured(tmp_path: Path) -> None:
    assets = make(tmp_path).get_assets(["SPY", "BRK.A"])
    assert assets["SPY"].fractionable and assets["SPY"].tradable
    assert not assets["BRK.A"].fractionable and assets["BRK.A"].tradable


def test_oversell_is_rejected_counting_open_sells(tmp_path: Path) -> None:
    broker = make(tmp_path, faults=SimFaults(by_client_order_id={"s-open": Fault("stall")}))
    broker.submit_order(buy("b", qty=Decimal("3")))
    with pytest.raises(OrderRejected, match="insufficient qty"):
        broker.submit_order(sell("s-too-many", qty=Decimal("3.5")))
    broker.submit_order(sell("s-open", qty=Decimal("2")))  # stays open, holds 2
    with pytest.raises(OrderRejected, match="available: 1"):
        broker.submit_order(sell("s-2", qty=Decimal("2")))
    with pytest.raises(OrderRejected):
        broker.submit_order(sell("s-none", "QQQ"))


def test_qty_available_is_the_position_less_open_sells(tmp_path: Path) -> None:
    broker = make(tmp_path, faults=SimFaults(by_client_order_id={"s-open": Fault("stall")}))
    broker.submit_order(buy("b", qty=Decimal("3")))
    [position] = broker.get_positions()
    assert (position.qty, position.qty_available) == (Decimal("3"), Decimal("3"))
    broker.submit_order(sell("s-open", qty=Decimal("2")))  # stays open, holds 2
    [position] = broker.get_positions()
    assert (position.qty, position.qty_available) == (Decimal("3"), Decimal("1"))
    broker.cancel_order(broker.get_order_by_client_id("s-open").broker_order_id)  # type: ignore[union-attr]
    [position] = broker.get_positions()
    assert position.qty_available == Decimal("3")


def test_buys_over_buying_power_are_rejected_counting_open_buys(tmp_path: Path) -> None:
    broker = make(
        tmp_path, starting_cash=Decimal("1200"), faults=SimFaults(by_client_order_id={"open": Fault("stall")})
    )
    with pytest.raises(OrderRejected, match="insufficient buying power"):
        broker.submit_order(buy("big", qty=Decimal("3")))
    broker.submit_order(buy("open", qty=Decimal("2")))
    assert broker.get_account().buying_power == Decimal("200")
    with pytest.raises(OrderRejected, match="insufficient buying power"):
        broker.submit_order(buy("more", notional=Decimal("500")))


def test_no_price_means_rejected(tmp_path: Path) -> None:
    with pytest.raises(OrderRejected, match="no price"):
        make(tmp_path).submit_order(buy("x", "UNPRICED"))


def test_fault_reject_refuses_at_submit_and_leaves_the_id_unused(tmp_path: Path) -> None:
    faults = SimFaults(by_symbol={"QQQ": Fault("reject", message="halted")})
    broker = make(tmp_path, faults=faults)
    with pytest.raises(OrderRejected, match="halted"):
        broker.submit_order(buy("r", "QQQ"))
    assert broker.get_order_by_client_id("r") is None and broker.list_orders() == []


def test_fault_partial_fills_grow_over_polls(tmp_path: Path) -> None:
    faults = SimFaults(
        by_symbol={"TQQQ": Fault("partial", steps=(Decimal("0.3"), Decimal("0.6"), Decimal(1)))}
    )
    broker = make(tmp_path, faults=faults)
    order = broker.submit_order(buy("p", "TQQQ", qty=Decimal("10")))
    assert (order.status, order.filled_qty) == ("new", 0)

    polls = [make(tmp_path, faults=faults).get_order(order.broker_order_id) for _ in range(4)]

    assert [p.filled_qty for p in polls] == [Decimal("3"), Decimal("6"), Decimal("10"), Decimal("10")]
    assert [p.status for p in polls] == ["partially_filled", "partially_filled", "filled", "filled"]
    assert broker.get_account().cash == Decimal("99500")


def test_fault_partial_that_never_completes_is_canceled_with_its_fills(tmp_path: Path) -> None:
    broker = make(
        tmp_path, faults=SimFaults(by_client_order_id={"p": Fault("partial", steps=(Decimal("0.5"),))})
    )
    order = broker.submit_order(buy("p", qty=Decimal("4")))
    for _ in range(3):
        polled = broker.get_order_by_client_id("p")
    assert polled is not None and (polled.status, polled.filled_qty) == ("partially_filled", Decimal("2"))
    broker.cancel_order(order.broker_order_id)
    final = broker.get_order(order.broker_order_id)
    assert (final.status, final.filled_qty) == ("canceled", Decimal("2")) and final.is_terminal
    assert broker.get_account().buying_power == Decimal("99000")  # the reservation is released


def test_fault_stall_stays_open_until_canceled(tmp_path: Path) -> None:
    broker = make(tmp_path, faults=SimFaults(by_symbol={"SPY": Fault("stall")}))
    order = broker.submit_order(buy("s"))
    assert all(broker.get_order(order.broker_order_id).status == "new" for _ in range(3))
    broker.cancel_order(order.broker_order_id)
    broker.cancel_order(order.broker_order_id)  # idempotent
    assert broker.get_order(order.broker_order_id).status == "canceled"
    with pytest.raises(OrderNotFound):
        broker.cancel_order("no-such-order")


def test_fault_reject_later(tmp_path: Path) -> None:
    broker = make(tmp_path, faults=SimFaults(by_symbol={"SPY": Fault("reject_later")}))
    order = broker.submit_order(buy("rl"))
    assert order.status == "new"
    assert broker.get_order(order.broker_order_id).status == "rejected"
    assert broker.get_account().cash == Decimal("100000")


def test_faults_from_mapping() -> None:
    faults = SimFaults.from_mapping(
        {
            "by_symbol": {"TQQQ": {"kind": "partial", "steps": ["0.3", "1"]}},
            "by_client_order_id": {"x": {"kind": "reject", "message": "no"}},
        }
    )
    assert faults.for_order("TQQQ", "y") == Fault("partial", (Decimal("0.3"), Decimal(1)))
    assert faults.for_order("TQQQ", "x") == Fault("reject", message="no")
    with pytest.raises(ValueError):
        SimFaults.from_mapping({"by_symbl": {}})
    with pytest.raises(ValueError):
        Fault("partial", steps=(Decimal("0.6"), Decimal("0.3")))


def test_clock_follows_the_injected_time_and_calendar(tmp_path: Path) -> None:
    open_clock = make(tmp_path, now=OPEN_TIME).get_clock()
    assert open_clock.is_open and open_clock.next_close == datetime(2024, 3, 6, 21, 0, tzinfo=UTC)
    assert open_clock.next_open == datetime(2024, 3, 7, 14, 30, tzinfo=UTC)
    weekend = make(tmp_path, now=SATURDAY).get_clock()
    assert not weekend.is_open and weekend.next_open == datetime(2024, 3, 11, 13, 30, tzinfo=UTC)  # after DST
    early = make(tmp_path, now=datetime(2024, 3, 6, 12, 0, tzinfo=UTC)).get_clock()
    assert not early.is_open and early.next_open == datetime(2024, 3, 6, 14, 30, tzinfo=UTC)


def test_orders_wait_for_the_open_when_configured(tmp_path: Path) -> None:
    clock = {"now": SATURDAY}
    broker = SimulatedBroker(
        tmp_path,
        lambda s: PRICES[s],
        calendar=WeekdayCalendar(),
        now=lambda: clock["now"],
        fill_when_closed=False,
    )
    order = broker.submit_order(buy("w"))
    assert order.status == "accepted" and broker.get_order(order.broker_order_id).status == "accepted"
    clock["now"] = OPEN_TIME + timedelta(days=5)
    assert broker.get_order(order.broker_order_id).status == "filled"


def test_orders_fill_when_closed_by_default(tmp_path: Path) -> None:
    assert make(tmp_path, now=SATURDAY).submit_order(buy("w")).status == "filled"


def test_latest_prices_and_equity_come_from_the_price_source(tmp_path: Path) -> None:
    prices = dict(PRICES)
    broker = make(tmp_path, prices=prices)
    broker.submit_order(buy("b", qty=Decimal("2")))
    prices["SPY"] = Decimal("510")
    assert broker.get_latest_prices(["SPY", "UNPRICED"]) == {"SPY": Decimal("510")}
    assert broker.get_account().equity == Decimal("99000") + Decimal("1020")
    position = broker.get_positions()[0]
    assert position.market_value == Decimal("1020.00") and position.avg_entry_price == Decimal("500")


def test_selling_everything_closes_the_position(tmp_path: Path) -> None:
    broker = make(tmp_path)
    broker.submit_order(buy("b", qty=Decimal("1.5")))
    broker.submit_order(sell("s", qty=Decimal("1.5")))
    assert broker.get_positions() == [] and broker.get_account().cash == Decimal("100000")


@pytest.mark.parametrize(
    "request_factory",
    [
        lambda: buy("z", notional=Decimal("0.5")),
        lambda: OrderRequest("neg", "SPY", "buy", qty=Decimal("-1")),
    ],
)
def test_tiny_or_negative_orders_are_rejected(
    tmp_path: Path, request_factory: Callable[[], OrderRequest]
) -> None:
    with pytest.raises(OrderRejected):
        make(tmp_path).submit_order(request_factory())


@pytest.mark.parametrize("qty", ["1e-400", "1e100000", "0.0000000001"])
def test_absurd_quantities_never_reach_the_account(tmp_path: Path, qty: str) -> None:
    broker = make(tmp_path)
    with pytest.raises(ValueError, match=r"decimal places|maximum"):
        broker.submit_order(OrderRequest("bad", "SPY", "buy", qty=Decimal(qty)))
    assert broker.get_account().cash == Decimal("100000") and broker.get_positions() == []


def test_a_notional_finer_than_cents_is_refused() -> None:
    with pytest.raises(ValueError, match=r"notional .* 2 decimal places"):
        OrderRequest("c", "SPY", "buy", notional=Decimal("10.001"))


def test_an_account_holding_an_absurd_position_from_before_still_reads(tmp_path: Path) -> None:
    broker = make(tmp_path)

    def corrupt(doc: dict[str, Any]) -> None:  # what a 1e-400 fill left in the store before the bounds
        doc["positions"]["SPY"] = {"qty": "1E-400", "cost": "0.01", "last_price": "500"}

    broker._mutate(corrupt)
    account = broker.get_account()  # used to raise decimal.InvalidOperation on every read
    assert account.cash == Decimal("100000")
    [position] = broker.get_positions()
    assert position.qty == Decimal("1E-400")


def test_a_price_source_with_a_long_float_tail_or_an_absurd_price_is_kept_within_the_events_bounds(
    tmp_path: Path,
) -> None:
    prices = {"SPY": Decimal("0.001234567890123456"), "QQQ": Decimal("1e100")}
    broker = make(tmp_path, prices=prices)
    assert broker.get_latest_prices(["SPY", "QQQ"]) == {"SPY": Decimal("0.001234568")}
