"""Fault tests over the whole chain: seeded days under duplicated, delayed, reordered and failing
deliveries, crashes after effects, a poison event and an error storm (bench/fault_chain.py runs
thousands of these and prints the figures)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from bench.fault_chain import Outcome, Scenario, _check_orders, generate, run_scenario
from services.execution.order_ids import plan_order_ids

SEEDS = range(24)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_seeded_day_under_faults_ends_terminal_with_every_order_exactly_once(seed, tmp_path):
    outcome = run_scenario(generate(seed), tmp_path)
    assert outcome.problems == []
    assert (outcome.duplicated, outcome.lost, outcome.stuck) == (0, 0, 0)
    assert outcome.poison_not_dead_lettered == 0
    assert outcome.storm_events_published == 0 and outcome.storm_notifications_wrong == 0


def test_the_seeds_cover_every_kind_of_fault():
    scenarios = [generate(seed) for seed in SEEDS]
    assert any(s.poison for s in scenarios) and any(s.storm for s in scenarios)
    assert any(s.faults for s in scenarios) and any(len(s.days) > 1 for s in scenarios)
    for knob in ("p_duplicate", "p_reorder", "p_transient", "p_crash_after"):
        assert any(s.chaos[knob] > 0 for s in scenarios), knob


def test_a_heavily_faulted_multi_day_run_with_poison_and_storm_holds(tmp_path):
    scenario = Scenario(seed=4242, days=(date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)),
                        faults={"by_symbol": {"SHY": {"kind": "partial", "steps": ["0.5", "1"]}}},
                        poison=True, storm=10,
                        chaos={"p_duplicate": 0.6, "p_delay": 0.3, "p_reorder": 0.6, "p_transient": 0.3,
                               "p_crash_after": 0.3})
    outcome = run_scenario(scenario, tmp_path)
    assert outcome.problems == []
    assert outcome.statuses[-1] == "skipped"  # Thanksgiving
    assert outcome.duplicates_delivered > 0 and outcome.orders_at_broker > 0


def _day(plan_id: str, legs: list[tuple[str, str]], reported: list[dict]) -> SimpleNamespace:
    plan = {"plan_id": plan_id, "correlation_id": "run-x", "orders": [{"symbol": s, "side": d} for s, d in legs]}
    trade = {"plan_id": plan_id, "correlation_id": "run-x", "status": "executed", "orders": reported}
    return SimpleNamespace(correlation_id="run-x", events=[
        {"detail-type": "RebalancePlanned", "detail": plan}, {"detail-type": "TradeExecuted", "detail": trade}])


def test_the_checker_catches_a_duplicated_and_a_lost_order():
    legs = [("SPY", "buy"), ("TLT", "buy")]
    spy, tlt = plan_order_ids("plan-abc", legs)
    reported = [{"client_order_id": spy, "broker_order_id": "b1", "status": "filled"},
                {"client_order_id": tlt, "broker_order_id": "b2", "status": "filled"}]
    order = lambda coid, symbol: SimpleNamespace(client_order_id=coid, symbol=symbol, side="buy",  # noqa: E731
                                                 submitted_at=None)
    out = Outcome(generate(0))
    _check_orders(out, _day("plan-abc", legs, reported), [order(spy, "SPY"), order("other-plan-SPY", "SPY")],
                  date(2026, 11, 25))
    assert out.duplicated >= 1  # a second SPY buy from no executed plan
    assert out.lost == 1  # TLT reported placed, but not at the broker
