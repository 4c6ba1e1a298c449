"""Seeded random fault scenarios (bench/fault_execution.py): duplicate and concurrent deliveries,
crashes after a submission, kills before publishing, lost POST replies and timeouts, POSTs refused
before creation (429 with Retry-After, 5xx), 429 storms, partial fills, rejections, a refused plan
redelivered, a second plan for the workflow — mixed, against the fake Alpaca server (through
alpaca-py) and the simulated broker. At the broker: duplicated = 0 and lost = 0, and the final
TradeExecuted agrees with it.

The second half plants bugs and checks that the drill's counters catch each one."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from bench.fault_execution import ADVERSARIES, KINDS, BookOrder, Outcome, Scenario, _check, generate, run, run_scenario
from tests.fakes.execution_support import buy, make_plan, sell

SCENARIOS = 100
SEED = 20261125


@pytest.fixture(autouse=True)
def _quiet_logs():
    logging.disable(logging.ERROR)
    yield
    logging.disable(logging.NOTSET)


def test_randomized_faults_never_duplicate_or_lose_an_order():
    figures = run(SCENARIOS, SEED)
    totals = figures.totals
    print("\n" + figures.table())
    assert figures.failures == []
    assert (totals.duplicated, totals.lost, totals.misreported, totals.unfinished) == (0, 0, 0, 0)
    # the mix really exercised every fault, through both brokers ...
    assert figures.alpaca >= SCENARIOS // 3 and figures.sim >= SCENARIOS // 5
    for kind in KINDS:
        assert figures.kinds.get(kind, 0) >= 3, (kind, figures.kinds)
    # ... and each fault demonstrably happened (counted at the broker side, from caught kills, redeliveries)
    assert figures.unapplied() == []
    assert totals.crashes >= 10 and totals.kills_before_publish >= 3 and totals.duplicate_deliveries >= 20
    assert totals.posts_refused >= 3 and totals.posts_reply_lost >= 10
    assert totals.refused_then_redelivered >= 3 and totals.second_plans_delivered >= 3
    assert totals.at_broker == totals.planned - totals.refused  # each planned order once, the refused ones never


def test_scenarios_are_reproducible_from_their_seed():
    assert generate(SEED, 7) == generate(SEED, 7)
    assert generate(SEED, 7) != generate(SEED, 8)
    assert {generate(SEED, i).adversary for i in range(200)} >= set(ADVERSARIES)


@pytest.mark.parametrize("broker", ["alpaca", "sim"])
def test_an_order_post_refused_before_creation_is_still_placed_once(broker):
    """A 429 (Retry-After) or a 5xx on the POST, the order confirmed absent: resubmitted with the same id."""
    faults = ["refused_429", "refused_503"] if broker == "alpaca" else ["refused", "refused"]
    scenario = Scenario(0, broker, {}, [buy("TLT", notional="1000"), buy("GLD", notional="900")], post_faults=faults)
    outcome = run_scenario(scenario)
    assert outcome.posts_refused == 2  # the fake server (or the faulty broker) refused both POSTs
    assert outcome.problems == [] and (outcome.lost, outcome.duplicated, outcome.misreported) == (0, 0, 0)
    assert outcome.at_broker == 2


@pytest.mark.parametrize("broker", ["alpaca", "sim"])
def test_a_refused_plan_redelivered_after_the_switch_is_active_places_nothing(broker):
    scenario = Scenario(0, broker, {"TLT": "10"}, [sell("TLT", "10"), buy("GLD", notional="900")],
                        adversary="refused_redelivery", duplicates=1)
    outcome = run_scenario(scenario)
    assert outcome.refused_then_redelivered == 2
    assert outcome.problems == [] and outcome.at_broker == 0 and outcome.misreported == 0


@pytest.mark.parametrize("fresh_store", [False, True])
def test_a_second_plan_for_the_workflow_is_never_filled_twice(fresh_store):
    scenario = Scenario(0, "alpaca", {}, [buy("TLT", notional="1000"), buy("GLD", notional="900"),
                                          buy("SPY", notional="800")],
                        adversary="second_plan", second_plan_fresh_store=fresh_store)
    outcome = run_scenario(scenario)
    assert outcome.second_plans_delivered == 2
    assert outcome.problems == [] and outcome.duplicated == 0 and outcome.at_broker == 3


def test_a_kill_after_placing_and_before_publishing_is_resumed_and_reported_once():
    scenario = Scenario(0, "sim", {}, [buy("TLT", notional="1000"), buy("GLD", notional="900")],
                        kill_before_publish=True)
    outcome = run_scenario(scenario)
    assert outcome.kills_before_publish == 1
    assert outcome.problems == [] and outcome.at_broker == 2 and outcome.misreported == 0


# ---- the drill must be able to fail ----------------------------------------------------------------

def test_the_checker_catches_a_duplicated_order(monkeypatch):
    """Place a planned order a second time behind the service's back (under another client order id)."""
    from dataclasses import replace

    from tests.fakes.execution_support import FaultyBroker

    original_submit = FaultyBroker.submit_order

    def submit_twice(self, request):
        order = original_submit(self, request)
        self.inner.submit_order(replace(request, client_order_id=request.client_order_id + "-twin"))
        return order

    monkeypatch.setattr(FaultyBroker, "submit_order", submit_twice)
    scenario = Scenario(0, "sim", {}, [buy("TLT", notional="1000")], crash_points={0: 99})  # via a FaultyBroker
    outcome = run_scenario(scenario)
    assert outcome.duplicated == 1 and "orders beyond plan" in outcome.problems[0]
    assert outcome.misreported == 1  # the twin is in no report


def test_the_checker_catches_a_lost_order(monkeypatch):
    from shared.broker.port import Order
    from tests.fakes.execution_support import FaultyBroker

    def never_submit(self, request):  # claims the order filled, places nothing
        return Order("fake-id", request.client_order_id, request.symbol, request.side, request.qty, request.notional,
                     Decimal("5"), Decimal("200"), "filled")

    monkeypatch.setattr(FaultyBroker, "submit_order", never_submit)
    scenario = Scenario(0, "sim", {}, [buy("TLT", notional="1000")], lookup_failures=1)  # every delivery: faulty
    outcome = run_scenario(scenario)
    assert outcome.lost == 1 and "is not at the broker (reported filled)" in outcome.problems[0]
    assert any("which the broker does not have" in p for p in outcome.problems)


def test_the_checker_catches_a_report_of_an_order_that_does_not_exist(monkeypatch):
    from services.execution import results

    original = results.order_result

    def ghost(placement):
        result = original(placement)
        if result.symbol == "TLT" and result.broker_order_id:
            return result.model_copy(update={"broker_order_id": "no-such-order"})
        return result

    monkeypatch.setattr(results, "order_result", ghost)
    outcome = run_scenario(Scenario(0, "alpaca", {}, [buy("TLT", notional="1000"), buy("GLD", notional="900")]))
    assert outcome.misreported == 2  # a ghost in the report, a real TLT order in none
    assert outcome.lost == 0 and outcome.duplicated == 0


def test_the_checker_catches_a_refused_plan_that_executes_later(monkeypatch):
    """A kill switch that does not halt: the 'refused' plan trades, which the drill must see."""
    from services.execution.kill_switch import KillSwitchReading
    from tests.fakes.in_memory import FixedKillSwitch

    monkeypatch.setattr(FixedKillSwitch, "read", lambda self: KillSwitchReading("active", "test", None))
    outcome = run_scenario(Scenario(0, "sim", {}, [buy("TLT", notional="1000")], adversary="refused_redelivery"))
    assert outcome.misreported >= 1
    assert any("was not refused" in p for p in outcome.problems)
    assert any("yet 1 orders are at the broker" in p for p in outcome.problems)


def test_the_checker_counts_two_plans_of_one_workflow_both_filled_as_duplicated():
    from types import SimpleNamespace

    first = make_plan([buy("TLT", notional="1000"), buy("GLD", notional="900")], plan_id="p1")
    second = make_plan([buy("TLT", notional="1100")], plan_id="p2")
    book = [BookOrder(f"b{i}", f"c{i}", s, "buy", Decimal(1), "filled") for i, s in enumerate(["TLT", "GLD", "TLT"])]
    deliverer = SimpleNamespace(plans=[first, second], reports=[])
    outcome = Outcome()
    _check(Scenario(0, "sim", {}, list(first.orders), adversary="second_plan"), deliverer, book, outcome)
    assert outcome.duplicated == 1 and outcome.lost == 0
    assert outcome.misreported == 1  # and no TradeExecuted reports any of it


def test_the_checker_catches_one_event_id_published_with_two_different_reports():
    from types import SimpleNamespace

    from shared.events.trade_executed import TradeExecuted

    plan = make_plan([buy("TLT", notional="1000")], plan_id="p1")
    book = [BookOrder("b1", "c1", "TLT", "buy", Decimal("10.869565217"), "filled")]
    row = {"client_order_id": "c1", "broker_order_id": "b1", "symbol": "TLT", "side": "buy",
           "requested_notional": "1000", "filled_qty": "10.869565217", "avg_fill_price": "92", "status": "filled"}
    totals = {"orders_planned": 1, "orders_at_broker": 1, "orders_filled": 1, "orders_partially_filled": 0,
              "orders_failed": 0, "orders_skipped": 0, "buy_value": "1000", "sell_value": "0", "turnover": "1000"}
    common = {"event_id": "te-1", "correlation_id": plan.correlation_id, "causation_id": plan.event_id,
              "occurred_at": "2026-11-25T15:00:00Z", "trading_mode": "paper", "hop_count": 3, "plan_id": "p1",
              "kill_switch": "active", "totals": totals, "started_at": "2026-11-25T15:00:00Z",
              "finished_at": "2026-11-25T15:00:01Z"}
    good = TradeExecuted.model_validate({**common, "success": True, "status": "executed", "orders": [row]})
    bad = TradeExecuted.model_validate({**common, "success": False, "status": "failed",
                                        "orders": [{**row, "broker_order_id": None, "filled_qty": "0",
                                                    "avg_fill_price": None, "status": "rejected"}]})
    outcome = Outcome()
    _check(Scenario(0, "sim", {}, list(plan.orders)), SimpleNamespace(plans=[plan], reports=[bad, good]), book,
           outcome)
    assert outcome.misreported == 1 and "published twice with different contents" in outcome.problems[0]


def test_a_fault_that_never_happens_is_reported_unapplied(monkeypatch):
    """The old bug of the chain drill, here: faults asked for, never applied, and still counted."""
    from bench import fault_execution
    from tests.fakes.fake_alpaca import FakeAlpaca

    original = FakeAlpaca.script_next
    monkeypatch.setattr(FakeAlpaca, "script_next", lambda self, route, **kw: (
        None if route == "POST /v2/orders" else original(self, route, **kw)))  # the fault is dropped
    figures = fault_execution.Figures()
    scenario = Scenario(0, "alpaca", {}, [buy("TLT", notional="1000")], post_faults=["refused_429"])
    figures.add(scenario, run_scenario(scenario))
    assert figures.unapplied() == ["post refused"]


# ---- the second review's classes (issue 24, item 8): each applied, each able to fail -----------------

def test_a_stale_look_up_past_the_placers_patience_is_reported_unknown_and_settled_from_the_book():
    scenario = Scenario(0, "alpaca", {}, [buy("TLT", notional="1000"), buy("GLD", notional="900")],
                        post_faults=["lost_reply"], stale_seconds=10_000.0)
    outcome = run_scenario(scenario)
    assert outcome.stale_answers >= 1 and outcome.unknown_settled == 1
    assert outcome.problems == [] and (outcome.lost, outcome.duplicated, outcome.misreported) == (0, 0, 0)


@pytest.mark.parametrize("broker", ["alpaca", "sim"])
def test_a_429_storm_on_one_leg_is_outlasted_and_the_leg_placed(broker):
    scenario = Scenario(0, broker, {}, [buy("TLT", notional="1000"), buy("GLD", notional="900")], leg_storm=6)
    outcome = run_scenario(scenario)
    assert outcome.leg_storms_seen == 1 and outcome.posts_refused >= 6
    assert outcome.problems == [] and outcome.at_broker == 2 and outcome.lost == 0


@pytest.mark.parametrize("broker", ["alpaca", "sim"])
def test_failed_attempts_then_a_healthy_retry_trades_under_the_daily_cap(broker):
    scenario = Scenario(0, broker, {"SPY": "20"}, [sell("SPY", "20"), buy("TLT", notional="5000")],
                        failed_attempts=2)
    outcome = run_scenario(scenario)
    assert outcome.failed_attempts_seen == 2
    assert outcome.problems == [] and outcome.at_broker == 2 and outcome.lost == 0


@pytest.mark.parametrize("broker", ["alpaca", "sim"])
def test_the_checker_catches_a_resubmission_without_a_look_up(monkeypatch, broker):
    """The bug the drill used to miss: the broker's 422 makes a blind resubmission harmless to the book."""
    from services.execution.placer import Placer

    monkeypatch.setattr(Placer, "_look_up", lambda self, leg: (None, True, ""))  # "absent", never asked
    faults = ["lost_reply", "refused_503"] if broker == "alpaca" else ["lost_reply", "refused"]
    outcome = run_scenario(Scenario(0, broker, {}, [buy("TLT", notional="1000"), buy("GLD", notional="900")],
                                    post_faults=faults))
    assert outcome.blind_posts == 2 and "with no look-up answered" in outcome.problems[0]
    assert (outcome.duplicated, outcome.lost) == (0, 0)  # invisible to the book: only the audit sees it


def test_the_checker_catches_a_turnover_cap_that_keeps_failed_attempts(monkeypatch):
    from services.execution import plan_run

    monkeypatch.setattr(plan_run, "_settle_turnover", lambda *args: None)  # reservations never follow the broker
    outcome = run_scenario(Scenario(0, "sim", {}, [buy("TLT", notional="5000"), buy("GLD", notional="4000")],
                                    failed_attempts=1))
    assert outcome.failed_attempts_seen == 1 and outcome.lost == 2


def test_the_checker_catches_429s_that_drop_a_leg(monkeypatch):
    from shared.venues.alpaca import trading as alpaca

    original = alpaca._post_error
    monkeypatch.setattr(alpaca, "_post_error", lambda coid, failure: alpaca.BrokerUnavailable(failure.describe())
                        if failure.status == 429 else original(coid, failure))  # a 429 as an unknown outcome
    outcome = run_scenario(Scenario(0, "alpaca", {}, [buy("TLT", notional="1000")], leg_storm=6))
    assert outcome.leg_storms_seen == 0 and outcome.lost == 1  # 3 POSTs, then the leg is dropped


def test_the_checker_catches_an_unknown_order_reported_failed(monkeypatch):
    from services.execution.placer import Placement, Placer

    monkeypatch.setattr(Placer, "_recover", lambda self, leg, cause, posted: Placement(leg, "failed", error=cause))
    outcome = run_scenario(Scenario(0, "alpaca", {}, [buy("TLT", notional="1000")], post_faults=["lost_reply"],
                                    stale_seconds=10_000.0))
    assert outcome.misreported >= 1 and any("not in the final report" in p for p in outcome.problems)
