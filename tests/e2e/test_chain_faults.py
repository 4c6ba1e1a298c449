"""Fault tests over the whole chain: seeded days under duplicated, delayed, reordered and failing
deliveries, crashes after effects, killed processes, adversarial redeliveries, forged events, a poison
event and an error storm (bench/fault_chain.py runs thousands of these and prints the figures).

The second half plants bugs — in the broker, the handlers, the runtime — and checks that the
drill's counters catch each one: a drill that cannot fail proves nothing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.fault_chain import (
    ADVERSARIES,
    FORGED,
    DayRecord,
    Outcome,
    Scenario,
    check_orders,
    generate,
    run_scenario,
    unapplied_kinds,
)

SEEDS = range(24)
QUIET = {"p_duplicate": 0.0, "p_delay": 0.0, "p_reorder": 0.0, "p_transient": 0.0, "p_crash_after": 0.0}
DAY = date(2026, 11, 24)


@pytest.fixture(autouse=True)
def _quiet_logs():
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def _clean(outcome: Outcome) -> None:
    assert outcome.problems == []
    assert (outcome.duplicated, outcome.lost, outcome.misreported, outcome.stuck) == (0, 0, 0, 0)
    assert outcome.false_terminal == 0
    assert outcome.poison_not_dead_lettered == 0
    assert outcome.storm_events_published == 0 and outcome.storm_notifications_wrong == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_a_seeded_day_under_faults_ends_terminal_with_every_order_exactly_once(seed, tmp_path):
    _clean(run_scenario(generate(seed), tmp_path))


def test_the_seeds_cover_every_kind_of_fault():
    scenarios = [generate(seed) for seed in SEEDS]
    assert any(s.poison for s in scenarios) and any(s.storm for s in scenarios)
    assert any(s.faults for s in scenarios) and any(len(s.days) > 1 for s in scenarios)
    for knob in ("p_duplicate", "p_reorder", "p_transient", "p_crash_after"):
        assert any(s.chaos[knob] > 0 for s in scenarios), knob
    assert {s.adversary for s in (generate(seed) for seed in range(200))} >= set(ADVERSARIES)
    assert any(s.forged and s.kinds >= {FORGED} for s in scenarios)


def test_a_heavily_faulted_multi_day_run_applies_every_delivery_fault_and_holds(tmp_path):
    scenario = Scenario(seed=4242, days=(date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)),
                        faults={"by_symbol": {"SHY": {"kind": "partial", "steps": ["0.5", "1"]}}},
                        poison=True, storm=10,
                        chaos={"p_duplicate": 0.6, "p_delay": 0.3, "p_reorder": 0.6, "p_transient": 0.3,
                               "p_crash_after": 0.3})
    outcome = run_scenario(scenario, tmp_path)
    _clean(outcome)
    assert outcome.statuses[-1] == "skipped"  # Thanksgiving
    assert outcome.orders_at_broker > 0
    # counted from the hops: retried after a fault that happened, not from the policy's counters
    for kind in ("duplicate delivery", "delayed or reordered", "transient", "crash after effects", "poison",
                 "storm"):
        assert outcome.applied[kind] > 0, kind
    assert outcome.retried_events >= outcome.applied["transient"] // 2 > 0
    assert unapplied_kinds([outcome]) == []


@pytest.mark.parametrize("adversary", ADVERSARIES)
def test_each_adversary_is_applied_and_the_day_holds(adversary, tmp_path):
    """Redelivery after a refusal, a second plan, a kill mid-plan and a kill before publishing."""
    outcome = run_scenario(Scenario(seed=7, days=(DAY,), faults={}, poison=False, storm=0, chaos=QUIET,
                                    adversary=adversary, kill_after=2), tmp_path)
    _clean(outcome)
    assert outcome.applied[adversary] == 1
    for kind in ("duplicate delivery", "delayed or reordered", "transient", "crash after effects"):
        assert outcome.applied[kind] == 0, kind  # no chaos asked for: none seen (the evidence has no false positives)
    if adversary == "refused_redelivery":
        assert outcome.orders_at_broker == 0 and outcome.statuses == ["failed"]
    else:
        assert outcome.orders_at_broker == outcome.orders_planned > 0
    if adversary.startswith("kill"):
        assert outcome.statuses == ["killed", "completed"]


@pytest.mark.parametrize("adversary", [None, "kill_mid_plan", "refused_redelivery"])
def test_forged_events_before_during_and_after_the_day_are_sent_and_change_nothing(adversary, tmp_path):
    outcome = run_scenario(Scenario(seed=21, days=(DAY,), faults={}, poison=False, storm=3, chaos=QUIET,
                                    adversary=adversary, kill_after=2, forged=True), tmp_path)
    _clean(outcome)
    assert outcome.applied[FORGED] >= 10  # 2 before (twice: the run redelivers the archive), 3 during, 6+ after
    if adversary == "refused_redelivery":
        assert outcome.statuses == ["failed"] and outcome.orders_at_broker == 0
    else:
        assert outcome.statuses[-1] == "completed" and outcome.orders_at_broker == outcome.orders_planned > 0


def test_order_posts_refused_before_creation_are_counted_and_every_order_still_lands_once(tmp_path):
    outcome = _quiet_day(tmp_path, post_refusals=2)
    _clean(outcome)
    assert outcome.applied["post refused"] == 2
    assert outcome.orders_at_broker == outcome.orders_planned > 0


# ---- the drill must be able to fail ----------------------------------------------------------------

def _quiet_day(tmp_path: Path, **kwargs) -> Outcome:
    return run_scenario(Scenario(seed=11, days=(DAY,), faults={}, poison=False, storm=0, chaos=QUIET, **kwargs),
                        tmp_path)


def test_a_broker_that_places_an_order_twice_is_counted_duplicated(tmp_path, monkeypatch):
    from shared.venues.simulated.broker import SimulatedBroker

    original = SimulatedBroker.submit_order
    twins = []

    def twice(self, request):
        order = original(self, request)
        if not twins:
            twins.append(original(self, replace(request, client_order_id=request.client_order_id + "x")))
        return order

    monkeypatch.setattr(SimulatedBroker, "submit_order", twice)
    outcome = _quiet_day(tmp_path)
    assert twins and outcome.duplicated == 1
    assert outcome.misreported >= 1  # the twin is at the broker, and nobody reported it
    assert any("beyond plan" in p for p in outcome.problems)


def test_a_broker_that_drops_an_order_is_counted_lost(tmp_path, monkeypatch):
    from shared.broker.port import Order
    from shared.venues.simulated.broker import SimulatedBroker

    original = SimulatedBroker.submit_order
    dropped = []

    def drop_one(self, request):
        if dropped:
            return original(self, request)
        dropped.append(request.symbol)  # claims a filled order, places nothing
        return Order("ghost-1", request.client_order_id, request.symbol, request.side, request.qty,
                     request.notional, request.qty or Decimal(1), Decimal(100), "filled")

    monkeypatch.setattr(SimulatedBroker, "submit_order", drop_one)
    monkeypatch.setattr(SimulatedBroker, "get_order", lambda self, oid: (
        Order(oid, "", dropped[0], "buy", None, None, Decimal(1), Decimal(100), "filled") if oid == "ghost-1"
        else original_get(self, oid)))
    original_get = SimulatedBroker.__dict__["get_order"]
    outcome = _quiet_day(tmp_path)
    assert dropped and outcome.lost == 1
    assert any("which the broker does not have" in p for p in outcome.problems)


def test_a_handler_that_reports_an_order_that_does_not_exist_is_counted_misreported(tmp_path, monkeypatch):
    from services.execution import results

    original = results.order_result
    forged = []

    def ghost(placement):
        result = original(placement)
        if result.broker_order_id and not forged:
            forged.append(result.symbol)
            return result.model_copy(update={"broker_order_id": "no-such-order"})
        return result

    monkeypatch.setattr(results, "order_result", ghost)
    outcome = _quiet_day(tmp_path)
    assert forged and outcome.misreported == 2  # a ghost reported, a real order unreported
    assert outcome.lost == 0 and outcome.duplicated == 0


def test_a_day_that_fails_without_an_injected_fault_is_counted_misreported(tmp_path, monkeypatch):
    from services.execution import results

    monkeypatch.setattr(results, "verdict", lambda rows, planned: ("failed", False))
    outcome = _quiet_day(tmp_path)
    assert outcome.statuses == ["failed"] and outcome.misreported == 1
    assert any("no injected fault to explain it" in p for p in outcome.problems)


def test_a_plan_refused_for_no_reason_the_drill_gave_is_counted_lost_and_misreported(tmp_path, monkeypatch):
    """The broker's clock says closed at 09:35 on a trading day: execution refuses, the day is skipped."""
    from dataclasses import replace as copy_with

    from shared.venues.simulated.broker import SimulatedBroker

    original = SimulatedBroker.get_clock

    def closed_for_execution(self):
        clock = original(self)
        executing = "execution" in os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        return copy_with(clock, is_open=False) if executing else clock

    monkeypatch.setattr(SimulatedBroker, "get_clock", closed_for_execution)
    outcome = _quiet_day(tmp_path)
    assert outcome.orders_at_broker == 0 and outcome.lost == outcome.orders_planned > 0
    assert any("skipped on a trading day" in p for p in outcome.problems)


def test_an_orchestrator_that_believes_forged_events_is_caught(tmp_path, monkeypatch):
    """The old bug: a hand-made WorkflowFailed at 09:31 failed the day, notified, and the run then sent nothing."""
    from services.orchestrator import app

    monkeypatch.setattr(app, "_unverified", lambda event, source, deps: None)
    outcome = _quiet_day(tmp_path, forged=True)
    assert outcome.false_terminal >= 3  # opened and failed before the run, notified, changed after the day
    assert outcome.misreported >= 1 and outcome.orders_at_broker == 0
    assert any("ended on a forged event" in p for p in outcome.problems)


def test_a_runtime_that_ignores_its_faults_is_caught(tmp_path, monkeypatch):
    """The old bug: the runtime picked a fault and dropped it, and the drill still counted it."""
    from alchemiser.local.runtime import LocalRuntime

    original = LocalRuntime._invoke

    def ignore_fault(self, spec, event, *, fault=None, **kwargs):
        return original(self, spec, event, **kwargs)

    monkeypatch.setattr(LocalRuntime, "_invoke", ignore_fault)
    noisy = run_scenario(Scenario(seed=12, days=(DAY,), faults={}, poison=False, storm=0,
                                  chaos={**QUIET, "p_transient": 0.5, "p_crash_after": 0.4}), tmp_path)
    assert noisy.applied["transient"] == noisy.applied["crash after effects"] == 0
    assert unapplied_kinds([noisy]) == ["crash after effects", "transient"]


def _record(plans: list[dict], trades: list[dict], **kwargs) -> DayRecord:
    events = [{"detail-type": "RebalancePlanned", "detail": p} for p in plans]
    events += [{"detail-type": "TradeExecuted", "detail": t} for t in trades]
    return DayRecord(DAY, ["completed"], "run-x", events=events, **kwargs)


def _plan(plan_id: str, legs: list[tuple[str, str]]) -> dict:
    return {"plan_id": plan_id, "correlation_id": "run-x",
            "orders": [{"symbol": s, "side": d, "estimated_value": "1000"} for s, d in legs]}


def _order(broker_id: str, symbol: str, side: str = "buy"):
    return SimpleNamespace(broker_order_id=broker_id, client_order_id=f"c-{broker_id}", symbol=symbol, side=side,
                           filled_qty=Decimal(1), is_terminal=True)


def _trade(plan_id: str, rows: list[tuple[str, str]], status: str = "executed") -> dict:
    return {"event_id": f"te-{plan_id}", "plan_id": plan_id, "correlation_id": "run-x", "status": status,
            "success": status == "executed",
            "orders": [{"broker_order_id": b, "symbol": s, "side": "buy", "filled_qty": "1", "status": "filled"}
                       for b, s in rows]}


def test_the_checker_catches_one_event_id_published_with_two_different_reports():
    plan = _plan("p1", [("SPY", "buy")])
    out = Outcome(generate(0))
    check_orders(out, _record([plan], [_trade("p1", [], status="failed"), _trade("p1", [("b1", "SPY")])]),
                 [_order("b1", "SPY")], Decimal(100_000), "completed", {})
    assert out.misreported == 1 and "published twice with different contents" in out.problems[0]


def test_the_checker_counts_two_plans_of_one_workflow_both_filled_as_duplicated():
    first, second = _plan("p1", [("SPY", "buy"), ("TLT", "buy")]), _plan("p2", [("SPY", "buy")])
    out = Outcome(generate(0))
    orders = [_order("b1", "SPY"), _order("b2", "TLT"), _order("b3", "SPY")]
    check_orders(out, _record([first, second], [_trade("p1", [("b1", "SPY"), ("b2", "TLT")])]), orders,
                 Decimal(100_000), "completed", {})
    assert out.duplicated == 1 and out.lost == 0
    assert out.misreported == 1  # b3: at the broker, in no report


def test_the_checker_counts_orders_for_a_refused_plan_as_misreported():
    plan = _plan("p1", [("SPY", "buy")])
    out = Outcome(generate(0))
    check_orders(out, _record([plan], [_trade("p1", [], status="halted")], refused_by_drill=True),
                 [_order("b1", "SPY")], Decimal(100_000), "failed", {})
    assert out.misreported >= 1 and any("refused" in p for p in out.problems)


def test_the_checker_accepts_a_rejected_leg_and_an_unaffordable_buy_but_not_a_missing_one():
    plan = _plan("p1", [("SPY", "sell"), ("TLT", "buy"), ("GLD", "buy")])
    rows = [("b1", "GLD")]
    faults = {"by_symbol": {"SPY": {"kind": "reject"}}}
    out = Outcome(generate(0))
    check_orders(out, _record([plan], [_trade("p1", rows, status="failed")]), [_order("b1", "GLD")],
                 Decimal(50), "failed", faults)  # TLT: $1000 wanted, $50 of buying power left
    assert (out.lost, out.duplicated, out.misreported) == (0, 0, 0) and out.applied["broker reject"] == 1
    rich = Outcome(generate(0))
    check_orders(rich, _record([plan], [_trade("p1", rows, status="failed")]), [_order("b1", "GLD")],
                 Decimal(100_000), "failed", faults)
    assert rich.lost == 1  # TLT could have been bought
