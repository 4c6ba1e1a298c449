"""The execution use case on the simulated broker: gates, sells before buys, idempotency in layers."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from services.execution import app
from shared.events.publisher import PublishError
from shared.limits.model import Limits
from shared.runtime.idempotency import IdempotentOperation, SqlitePersistenceLayer
from shared.venues.simulated.faults import Fault, SimFaults
from tests.fakes.concurrency import all_at_once, named
from tests.fakes.execution_support import (
    NOW,
    ClosedCalendar,
    Context,
    Crash,
    FaultyBroker,
    buy,
    coid,
    incoming,
    make_deps,
    make_plan,
    published,
    record_plan,
    seed_positions,
    sell,
    sim_broker,
)
from tests.fakes.in_memory import FixedKillSwitch, InMemoryPublisher

D = Decimal


class Metrics:
    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def add_metric(self, name: str, unit: object, value: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


def deliver(plan, deps, *, ctx=None, metrics=None, recorded=True):
    if recorded:  # as the portfolio records each plan it publishes
        record_plan(deps, plan)
    return app.handle(incoming(plan), deps, context=ctx or Context(), metrics=metrics)


def coids(broker):
    return [o.client_order_id for o in broker.list_orders() if not o.client_order_id.startswith("seed-")]


@pytest.fixture
def broker(tmp_path):
    inner = sim_broker(tmp_path / "sim")
    seed_positions(inner, {"SPY": "40", "QQQ": "50"})
    return inner


ROTATION = [sell("SPY", "40"), buy("TLT", notional="20000"), sell("QQQ", "20"), buy("GLD", notional="15000")]


def test_a_plan_is_placed_sells_first_and_reported_from_the_broker(tmp_path, broker):
    faulty = FaultyBroker(broker)
    deps = make_deps(faulty, tmp_path)
    metrics = Metrics()
    response = deliver(make_plan(ROTATION), deps, metrics=metrics)

    assert response["status"] == "success" and response["published"] == ["TradeExecuted"]
    assert faulty.posts == [coid("SPY", "sell"), coid("QQQ", "sell"),
                            coid("TLT", "buy"), coid("GLD", "buy")]
    [event] = published(deps)
    assert (event.plan_id, event.status, event.success, event.kill_switch) == (
        "plan-test-1", "executed", True, "active")
    assert [r.client_order_id for r in event.orders] == [
        coid("SPY", "sell"), coid("TLT", "buy"), coid("QQQ", "sell"),
        coid("GLD", "buy")]  # plan order
    for result in event.orders:
        order = broker.get_order_by_client_id(result.client_order_id)
        assert (result.broker_order_id, result.filled_qty, result.avg_fill_price, result.status) == (
            order.broker_order_id, order.filled_qty, order.filled_avg_price, "filled")
    t = event.totals
    assert t.orders_planned == t.orders_at_broker == t.orders_placed_now == t.orders_filled == 4
    assert D("34999.00") <= event.totals.buy_value <= D("35000.00")
    assert event.totals.sell_value == sum(r.filled_qty * r.avg_fill_price for r in event.orders
                                          if r.side == "sell").quantize(D("0.01"))
    assert event.account_before.equity == D("100000") and event.account_after is not None
    assert event.correlation_id == "wf-test-1" and event.causation_id == "evt-plan-test-1"
    assert metrics.counts["OrdersPlaced"] == 4 and metrics.counts["OrdersFilled"] == 4


def test_a_redelivery_after_completion_is_a_duplicate_that_places_and_publishes_nothing(tmp_path, broker):
    faulty = FaultyBroker(broker)
    deps = make_deps(faulty, tmp_path)
    first = deliver(make_plan(ROTATION), deps)
    metrics = Metrics()
    again = deliver(make_plan(ROTATION), deps, metrics=metrics)

    assert again["status"] == "duplicate" and again["published"] == []
    assert again["first_response"] == first
    assert len(faulty.posts) == 4 and len(published(deps)) == 1
    assert metrics.counts == {"DuplicatesSuppressed": 1}


def test_concurrent_deliveries_place_each_order_once(tmp_path, broker):
    faulty = FaultyBroker(broker)
    deps = make_deps(faulty, tmp_path)
    plan = make_plan(ROTATION)
    outcomes = named(all_at_once([lambda: deliver(plan, deps)] * 4), lambda r: r["status"],
                     {IdempotencyAlreadyInProgressError: "in progress"})
    assert outcomes.count("success") == 1 and set(outcomes) <= {"success", "in progress", "duplicate"}
    assert deliver(plan, deps)["status"] == "duplicate"  # Lambda's retry of the refused ones
    assert sorted(coids(broker)) == sorted(set(coids(broker))) and len(coids(broker)) == 4


@pytest.mark.parametrize("crash_after", [1, 2, 3, 4])
def test_a_crash_after_any_submission_is_resumed_by_the_retry_without_duplicates(tmp_path, broker, crash_after):
    publisher = InMemoryPublisher("alchemiser.execution")
    dying = make_deps(FaultyBroker(broker, crash_after_submissions=crash_after), tmp_path, publisher=publisher)
    with pytest.raises(Crash):
        deliver(make_plan(ROTATION), dying, ctx=Context(remaining_ms=0))
    assert len(coids(broker)) == crash_after and published(dying) == []

    retry = make_deps(FaultyBroker(broker), tmp_path, publisher=publisher)
    response = deliver(make_plan(ROTATION), retry)
    assert response["status"] == "success" and response["resumed"] is True
    assert sorted(coids(broker)) == sorted({*coids(broker)}) and len(coids(broker)) == 4
    [event] = published(retry)
    assert event.totals.orders_filled == 4
    assert deliver(make_plan(ROTATION), retry)["status"] == "duplicate"


def test_an_empty_plan_succeeds_as_already_balanced(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    response = deliver(make_plan([]), deps)
    assert response["status"] == "success" and response["execution_status"] == "empty"
    [event] = published(deps)
    assert (event.status, event.success, event.orders, event.reason) == (
        "empty", True, (), "the plan has no orders: already balanced")
    # the account is recorded on every completed day, orders or not (equity snapshot, Equity metric)
    assert event.account_after is not None and event.account_after.equity == D("100000")
    assert event.account_before == event.account_after


def test_market_closed_fails_closed_and_a_resend_once_open_places_nothing(tmp_path):
    closed = sim_broker(tmp_path / "sim", calendar=ClosedCalendar())
    deps = make_deps(closed, tmp_path)
    plan = make_plan([buy("TLT", notional="1000")])
    response = deliver(plan, deps)
    assert response["status"] == "failed" and response["execution_status"] == "market_closed"
    assert "--retry" in response["message"]
    [event] = published(deps)
    assert (event.status, event.success, event.orders) == ("market_closed", False, ())
    assert "market closed" in event.reason and event.totals.orders_skipped == 1
    assert closed.list_orders() == []

    # The workflow was refused (skipped): a later resend, once the market is open, must not trade it.
    opened = make_deps(sim_broker(tmp_path / "sim"), tmp_path)
    again = deliver(plan, opened)
    assert again["status"] == "duplicate" and "refused" in again["message"]
    assert coids(opened.broker) == []


def test_a_refused_plan_redelivered_after_its_idempotency_record_expired_still_places_nothing(tmp_path, broker):
    switch = FixedKillSwitch("halted")
    deps = make_deps(broker, tmp_path, kill_switch=switch)
    plan = make_plan(ROTATION)
    deliver(plan, deps)
    switch.state = "active"
    forgetful = replace(deps, plan_once=IdempotentOperation(
        "execution-plan", SqlitePersistenceLayer(tmp_path / "other.sqlite"), expires_after_seconds=60))
    response = deliver(plan, forgetful)
    assert response["status"] == "duplicate" and "refused earlier" in response["message"]
    assert coids(broker) == []
    # ... and republishes the same refusal, so the orchestrator hears of it even if the first publish was lost
    first, second = published(deps)
    assert first.event_id == second.event_id and second.status == "halted"


def test_halted_places_nothing_and_a_resend_after_reactivation_still_places_nothing(tmp_path, broker):
    switch = FixedKillSwitch("halted")
    deps = make_deps(broker, tmp_path, kill_switch=switch)
    metrics = Metrics()
    response = deliver(make_plan(ROTATION), deps, metrics=metrics)
    assert response["status"] == "failed" and response["execution_status"] == "halted"
    [event] = published(deps)
    assert (event.status, event.success, event.kill_switch, event.orders) == ("halted", False, "halted", ())
    assert coids(broker) == [] and metrics.counts == {"KillSwitchBlocks": 1}

    switch.state = "active"
    assert deliver(make_plan(ROTATION), deps)["status"] == "duplicate"
    assert deliver(make_plan(ROTATION, plan_id="plan-other"), deps)["status"] == "skipped"
    assert coids(broker) == []
    # A retry is a new workflow (an explicit correlation id): fully re-gated, and it trades.
    retry = make_plan(ROTATION, plan_id="plan-retry", correlation_id="wf-test-1-retry-1")
    assert deliver(retry, deps)["status"] == "success"
    assert sorted(coids(broker)) == sorted(coid(s, side, correlation_id="wf-test-1-retry-1")
                                           for s, side in (("SPY", "sell"), ("QQQ", "sell"), ("TLT", "buy"),
                                                           ("GLD", "buy")))


def test_a_plan_the_portfolio_never_recorded_places_nothing_and_alarms(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    metrics = Metrics()
    response = deliver(make_plan(ROTATION), deps, metrics=metrics, recorded=False)
    assert response["status"] == "failed" and "refused" in response["message"]
    assert coids(broker) == [] and published(deps) == [] and metrics.counts == {"UnverifiedEvents": 1}


def test_a_recorded_plan_id_with_edited_orders_places_nothing(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    real = record_plan(deps, make_plan([buy("TLT", notional="1000")]))
    forged = make_plan(ROTATION)  # same plan id and event id, other orders
    assert forged.event_id == real.event_id
    response = deliver(forged, deps, recorded=False)
    assert response["status"] == "failed" and "differs" in response["message"]
    assert coids(broker) == []


def test_reducing_places_the_sells_and_reports_the_buys_skipped(tmp_path, broker):
    deps = make_deps(broker, tmp_path, kill_switch=FixedKillSwitch("reducing"))
    metrics = Metrics()
    response = deliver(make_plan(ROTATION), deps, metrics=metrics)
    assert response["status"] == "failed"
    [event] = published(deps)
    assert (event.status, event.success, event.kill_switch) == ("partial", False, "reducing")
    assert {r.symbol: r.status for r in event.orders} == {"SPY": "filled", "QQQ": "filled", "TLT": "skipped",
                                                          "GLD": "skipped"}
    assert all("reducing" in r.error for r in event.orders if r.status == "skipped")
    assert sorted(coids(broker)) == [coid("QQQ", "sell"), coid("SPY", "sell")]
    assert metrics.counts["KillSwitchBlocks"] == 1


def test_reducing_with_a_buy_only_plan_places_nothing(tmp_path, broker):
    deps = make_deps(broker, tmp_path, kill_switch=FixedKillSwitch("reducing"))
    response = deliver(make_plan([buy("TLT", notional="1000")]), deps)
    assert response["execution_status"] == "halted"
    [event] = published(deps)
    assert event.kill_switch == "reducing" and "sells only" in event.reason and coids(broker) == []


def test_a_limit_breach_places_nothing_names_the_limit_and_gives_no_bare_retry_hint(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    metrics = Metrics()
    limits = Limits(max_order_equity_fraction=D("0.1"), sources={"max_order_equity_fraction": "--max-order-e"})
    response = deliver(make_plan(ROTATION, limits=limits), deps, metrics=metrics)
    assert response["status"] == "failed" and response["execution_status"] == "rejected"
    [event] = published(deps)
    assert event.status == "rejected" and event.orders == ()
    assert "max_order_equity_fraction (10%): buy TLT $20,000.00 is 20% of equity $100,000.00" in event.reason
    [binding] = event.limit_bindings
    assert (binding.limit, binding.action, binding.values["symbol"]) == ("max_order_equity_fraction", "refused", "TLT")
    assert "a retry with the same limits is refused the same way" in response["message"]
    assert coids(broker) == [] and metrics.counts == {"RiskLimitBreaches": 1}


def test_a_plan_that_only_sells_is_never_refused_by_a_limit(tmp_path):
    """95% of equity in one stock, every limit tight: the sell that rebalances it down still goes through."""
    inner = sim_broker(tmp_path / "sim")
    seed_positions(inner, {"SPY": "190"})  # 190 x $500 = $95,000 of a $100,000 account
    tight = Limits(max_order_equity_fraction=D("0.05"), max_turnover_equity_fraction=D("0.05"),
                   max_position_weight=D("0.05"), max_orders_per_run=1)
    response = deliver(make_plan([sell("SPY", "150")], limits=tight), make_deps(inner, tmp_path))
    assert response["status"] == "success", response["message"]


def test_a_stale_plan_is_refused(tmp_path, broker):
    from datetime import date

    deps = make_deps(broker, tmp_path)
    response = deliver(make_plan(ROTATION, trading_date=date(2026, 11, 24)), deps)
    assert response["execution_status"] == "rejected" and "stale plan" in response["message"]
    assert coids(broker) == []


def test_a_plan_for_another_trading_mode_is_refused(tmp_path, broker):
    deps = make_deps(broker, tmp_path, trading_mode="live")
    response = deliver(make_plan(ROTATION), deps)
    assert response["execution_status"] == "rejected" and "paper trading but this stage trades live" in \
        response["message"]
    assert coids(broker) == []


def test_a_blocked_account_places_nothing(tmp_path, broker):
    class Blocked(FaultyBroker):
        def get_account(self):
            return replace(self.inner.get_account(), trading_blocked=True)

    deps = make_deps(Blocked(broker), tmp_path)
    response = deliver(make_plan(ROTATION), deps)
    assert response["execution_status"] == "failed" and "not tradable" in response["message"]
    assert coids(broker) == []


def test_a_second_plan_for_an_executed_workflow_places_nothing_and_alarms(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    deliver(make_plan(ROTATION, plan_id="plan-a"), deps)
    metrics = Metrics()
    response = deliver(make_plan([buy("BIL", notional="1000")], plan_id="plan-b"), deps, metrics=metrics)
    assert response["status"] == "skipped" and response["held_by_plan"] == "plan-a"
    assert "one plan per workflow" in response["message"] and response["published"] == []
    assert coid("BIL", "buy") not in coids(broker)
    assert len(published(deps)) == 1 and metrics.counts == {"PlanConflicts": 1}


def test_a_second_plan_of_the_workflow_that_shares_no_guard_adopts_the_first_plans_orders(tmp_path, broker):
    # Two runs of one day that share no state store (another state dir, an expired guard, a second
    # stack on the account): the plans differ, the client order ids do not, so nothing fills twice.
    first = make_deps(broker, tmp_path / "a")
    deliver(make_plan(ROTATION, plan_id="plan-a"), first)
    second = make_deps(broker, tmp_path / "b")
    response = deliver(make_plan(ROTATION, plan_id="plan-b"), second)
    assert response["status"] == "success"
    assert len(coids(broker)) == 4
    [event] = published(second)
    assert {r.status for r in event.orders} == {"filled"}


def test_a_replay_after_the_idempotency_record_expired_is_recognised_by_the_workflow_guard(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    deliver(make_plan(ROTATION), deps)
    forgetful = replace(deps, plan_once=IdempotentOperation(
        "execution-plan", SqlitePersistenceLayer(tmp_path / "other.sqlite"), expires_after_seconds=60))
    response = deliver(make_plan(ROTATION), forgetful)
    assert response["status"] == "duplicate" and "workflow guard" in response["message"]
    assert len(coids(broker)) == 4 and len(published(deps)) == 1


def test_buys_are_scaled_to_the_buying_power_left_after_partly_filled_sells(tmp_path):
    faults = SimFaults(by_client_order_id={coid("SPY", "sell"): Fault("partial", steps=(D("0.5"),))})
    inner = sim_broker(tmp_path / "sim", cash="60000", faults=faults)
    seed_positions(inner, {"SPY": "80"})  # cash 20,000 left, equity 60,000
    plan = make_plan([sell("SPY", "80"), buy("TLT", notional="30000"), buy("GLD", notional="29000")])
    deps = make_deps(inner, tmp_path, limits=Limits(max_order_equity_fraction=D("1"), max_position_weight=D("1")))
    response = deliver(plan, deps)
    assert response["status"] == "failed"
    [event] = published(deps)
    sold = {r.symbol: r for r in event.orders}["SPY"]
    assert (sold.status, sold.filled_qty) == ("partially_filled", D("40"))
    buys = [r for r in event.orders if r.side == "buy"]
    assert all(r.status == "filled" for r in buys)
    assert sum(r.requested_notional for r in buys) <= D("40000")
    assert "buys scaled by" in event.reason and event.status == "partial"
    assert inner.get_account().cash >= 0


def test_partial_failure_is_reported_as_such(tmp_path, broker):
    faulty = FaultyBroker(broker, submit_faults={coid("TLT", "buy"): "reject",
                                                 coid("GLD", "buy"): "refused"})
    deps = make_deps(faulty, tmp_path)
    response = deliver(make_plan(ROTATION), deps)
    assert response["status"] == "failed" and response["execution_status"] == "partial"
    [event] = published(deps)
    statuses = {r.symbol: (r.status, r.error) for r in event.orders}
    assert statuses["TLT"][0] == "rejected" and "403" in statuses["TLT"][1]
    # A POST refused before the order existed (503) is looked up, found absent, and resubmitted with
    # the same client order id: the order is not dropped for the day.
    assert statuses["GLD"][0] == "filled"
    assert event.totals.orders_failed == 1 and event.totals.orders_filled == 3
    assert faulty.posts.count(coid("GLD", "buy")) == 2
    assert [o.client_order_id for o in broker.list_orders()].count(coid("GLD", "buy")) == 1


def test_a_resumed_run_under_a_halted_switch_only_adopts(tmp_path, broker):
    publisher = InMemoryPublisher("alchemiser.execution")
    dying = make_deps(FaultyBroker(broker, crash_after_submissions=1), tmp_path, publisher=publisher)
    with pytest.raises(Crash):
        deliver(make_plan(ROTATION), dying, ctx=Context(remaining_ms=0))
    retry = make_deps(FaultyBroker(broker), tmp_path, publisher=publisher, kill_switch=FixedKillSwitch("halted"))
    deliver(make_plan(ROTATION), retry)
    [event] = published(retry)
    assert [r.status for r in event.orders] == ["filled", "skipped", "skipped", "skipped"]
    assert "resumed after an interruption" in event.reason and len(coids(broker)) == 1


def test_a_publish_failure_keeps_no_record_and_the_retry_republishes_the_same_event(tmp_path, broker):
    failing = make_deps(broker, tmp_path, publisher=InMemoryPublisher(fail_with=PublishError("down", [])))
    with pytest.raises(PublishError):
        deliver(make_plan(ROTATION), failing)
    deps = make_deps(broker, tmp_path)
    response = deliver(make_plan(ROTATION), deps)
    assert response["status"] == "success" and len(coids(broker)) == 4
    [event] = published(deps)
    assert all(r.status == "filled" for r in event.orders)


def test_event_ids_are_deterministic_per_plan_and_outcome(tmp_path, broker):
    first = make_deps(broker, tmp_path / "a")
    deliver(make_plan(ROTATION), first)
    second = make_deps(broker, tmp_path / "b")
    deliver(make_plan(ROTATION), second)
    assert published(first)[0].event_id == published(second)[0].event_id
    assert published(first)[0].occurred_at == NOW


def test_a_whole_share_buy_too_small_now_is_still_adopted_if_an_earlier_run_placed_it(tmp_path, broker):
    from shared.broker.port import OrderRequest

    plan = make_plan([buy("BRK.A", notional="500", fractionable=False, price="400")])
    broker.submit_order(OrderRequest(coid("BRK.A", "buy"), "BRK.A", "buy", qty=D("1")))  # at 400 it fit
    deps = make_deps(broker, tmp_path)
    deps.guard.claim("wf-test-1", "plan-test-1")  # that earlier run claimed the workflow, then died
    deliver(plan, deps)
    [event] = published(deps)
    assert [(r.status, r.filled_qty) for r in event.orders] == [("filled", D("1"))]


def test_a_whole_share_buy_too_small_is_skipped_with_the_reason(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    deliver(make_plan([buy("BRK.A", notional="500", fractionable=False)]), deps)
    [event] = published(deps)
    assert event.orders[0].status == "skipped" and "less than one share" in event.orders[0].error
    assert coids(broker) == []


def test_the_daily_turnover_cap_spans_every_run_of_the_day_on_the_account(tmp_path, broker):
    limits = Limits(max_daily_turnover_equity_fraction=D("1.0"))
    deps = make_deps(broker, tmp_path, limits=limits)
    first = make_plan([buy("TLT", notional="60000")], plan_id="plan-1", correlation_id="wf-a")
    assert deliver(first, deps)["status"] == "success"
    # A second workflow the same day (a retry, a hand-started run) has no fresh budget of its own.
    second = make_plan([buy("GLD", notional="45000")], plan_id="plan-2", correlation_id="wf-a-retry-1")
    response = deliver(second, deps)
    assert response["status"] == "failed" and "max_daily_turnover_equity_fraction (100%)" in response["message"]
    assert coid("GLD", "buy", correlation_id="wf-a-retry-1") not in coids(broker)
    small = make_plan([buy("GLD", notional="30000")], plan_id="plan-3", correlation_id="wf-b")
    assert deliver(small, deps)["status"] == "success"


class FlippingSwitch:
    """Active for the first read (the gates, the sells), then `then` (set by the operator mid-plan)."""

    def __init__(self, then: str) -> None:
        self.reads, self.then = 0, then

    def read(self):
        from services.execution.kill_switch import KillSwitchReading

        self.reads += 1
        return KillSwitchReading("active" if self.reads == 1 else self.then, "test")  # type: ignore[arg-type]


@pytest.mark.parametrize("then", ["halted", "reducing"])
def test_a_switch_flipped_while_the_sells_run_stops_the_buys(tmp_path, broker, then):
    switch = FlippingSwitch(then)
    deps = make_deps(broker, tmp_path, kill_switch=switch)
    response = deliver(make_plan(ROTATION), deps)
    assert switch.reads == 2 and response["status"] == "failed"
    assert sorted(coids(broker)) == sorted([coid("SPY", "sell"), coid("QQQ", "sell")])
    [event] = published(deps)
    assert event.kill_switch == then and f"{then}" in event.reason and "buys skipped" in event.reason
    assert {r.symbol: r.status for r in event.orders if r.side == "buy"} == {"TLT": "skipped", "GLD": "skipped"}
