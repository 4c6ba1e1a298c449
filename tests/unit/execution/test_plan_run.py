"""The use case answers with a value: Ran, Refused, Taken or AlreadyDone (plan_run.execute), never an exception."""

from __future__ import annotations

from decimal import Decimal
from decimal import Decimal as D

import pytest

from services.execution.placer import Placer
from services.execution.plan_run import AlreadyDone, Ran, Refused, Taken, execute
from shared.limits.model import Limits
from shared.runtime import metric_names
from tests.fakes.execution_support import buy, make_deps, make_plan, seed_positions, sell, sim_broker
from tests.fakes.in_memory import FixedKillSwitch


@pytest.fixture
def broker(tmp_path):
    inner = sim_broker(tmp_path / "sim")
    seed_positions(inner, {"SPY": "40"})
    return inner


def run(plan, deps):
    placer = Placer(deps.broker, deps.timing, sleep=deps.sleep, monotonic=deps.monotonic)
    return execute(plan, deps, placer)


def test_a_plan_that_runs_is_a_frozen_report_of_its_placements(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    outcome = run(make_plan([sell("SPY", "10"), buy("TLT", notional="1000")]), deps)
    assert isinstance(outcome, Ran)
    assert [(p.leg.symbol, p.how) for p in outcome.placements] == [("SPY", "submitted"), ("TLT", "submitted")]
    assert outcome.account_before is not None and outcome.account_after is not None
    assert not outcome.resumed and not outcome.empty
    with pytest.raises(AttributeError):
        outcome.notes = ("changed",)  # type: ignore[misc]
    assert deps.guard.peek("wf-test-1").plan_id == "plan-test-1"  # claimed before placing


def test_a_halted_switch_is_a_refusal_value_and_nothing_is_claimed(tmp_path, broker):
    deps = make_deps(broker, tmp_path, kill_switch=FixedKillSwitch("halted"))
    outcome = run(make_plan([buy("TLT", notional="1000")]), deps)
    assert isinstance(outcome, Refused)
    assert (outcome.status, outcome.metric, outcome.switch.state) == ("halted", metric_names.KILL_SWITCH_BLOCKS,
                                                                      "halted")
    assert outcome.reason.endswith("; nothing placed")
    assert deps.guard.peek("wf-test-1") is None
    assert [o for o in broker.list_orders() if not o.client_order_id.startswith("seed-")] == []


def test_a_limit_the_plan_carries_binds_on_a_fresh_run_as_a_refusal_value(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    capped = Limits(max_position_weight=D("0.75"), sources={"max_position_weight": "portfolio.toml:7"})
    outcome = run(make_plan([buy("TLT", notional="90000")], limits=capped), deps)
    assert isinstance(outcome, Refused)
    assert (outcome.status, outcome.metric) == ("rejected", metric_names.RISK_LIMIT_BREACHES)
    assert [b.limit for b in outcome.bindings] == ["max_position_weight"]
    assert "TLT would be 90% of equity" in outcome.reason and "portfolio.toml:7" in outcome.reason
    assert deps.guard.peek("wf-test-1") is None


def test_the_defaults_let_a_single_asset_plan_through(tmp_path, broker):
    outcome = run(make_plan([buy("TLT", notional="99000")]), make_deps(broker, tmp_path))
    assert isinstance(outcome, Ran) and [p.how for p in outcome.placements] == ["submitted"]


def test_the_plans_limits_win_over_the_functions_own(tmp_path, broker):
    deps = make_deps(broker, tmp_path, limits=Limits(max_position_weight=D("0.5")))
    assert isinstance(run(make_plan([buy("TLT", notional="90000")]), deps), Refused)
    assert isinstance(run(make_plan([buy("TLT", notional="90000")], limits=Limits()), deps), Ran)


def test_a_workflow_held_by_another_plan_is_taken(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    deps.guard.claim("wf-test-1", "plan-other")
    outcome = run(make_plan([buy("TLT", notional="1000")]), deps)
    assert isinstance(outcome, Taken) and outcome.claim.plan_id == "plan-other"


def test_a_finished_plan_is_already_done_and_places_nothing(tmp_path, broker):
    deps = make_deps(broker, tmp_path)
    deps.guard.claim("wf-test-1", "plan-test-1")
    deps.guard.finish("wf-test-1", "plan-test-1", "success")
    outcome = run(make_plan([buy("TLT", notional="1000")]), deps)
    assert isinstance(outcome, AlreadyDone)
    assert outcome.claim.done and not outcome.claim.refused and outcome.switch.state == "active"
    assert [o for o in broker.list_orders() if not o.client_order_id.startswith("seed-")] == []


def test_an_empty_plan_runs_empty_with_the_account_recorded(tmp_path, broker):
    outcome = run(make_plan([]), make_deps(broker, tmp_path))
    assert isinstance(outcome, Ran) and outcome.empty and outcome.placements == ()
    assert outcome.account_before is not None and outcome.account_before.equity > Decimal(0)
