"""The portfolio's step of the day: the position cap's clip mode, the plan, and what the Lambda publishes."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from services.portfolio.day import clip_targets, gather, over_cap, plan_day
from services.portfolio.planner import StrategyPart, Tradability
from services.portfolio.validation import Rejection
from shared.broker.port import Asset
from shared.events.rebalance_planned import RebalancePlanned
from shared.limits.model import Limits
from tests.unit.portfolio.support import NO_SKIP, FakeBroker, inputs, signal
from tests.unit.portfolio.test_app import World

D = Decimal
def with_bil(made):
    """The inputs as `gather` builds them in clip mode: the cash symbol's asset is read too."""
    return dataclasses.replace(made, assets={**made.assets, "BIL": Tradability(True)})


CAP = Limits(max_position_weight=D("0.75"), position_cap="clip", sources={"max_position_weight": "p.toml:7"})


def test_refuse_mode_plans_the_symphony_as_written():
    planned = plan_day(inputs(targets={"UGL": "1"}, prices={"UGL": "80"}), Limits(max_position_weight=D("0.75")), {})
    assert not isinstance(planned, Rejection) and planned.bindings == ()
    [order] = planned.plan.orders
    assert order.notional == D("100000.00")


def test_clip_mode_scales_the_position_to_the_cap_and_the_rest_stays_in_cash():
    planned = plan_day(inputs(targets={"UGL": "1"}, prices={"UGL": "80"}), CAP, {})
    assert not isinstance(planned, Rejection)
    [order] = planned.plan.orders
    assert order.notional == D("75000.00") and planned.inputs.target_weights == {"UGL": D("0.75")}
    [binding] = planned.bindings
    assert (binding.limit, binding.action) == ("max_position_weight", "clipped")
    assert binding.message == "max_position_weight (75%): UGL clipped from 100% to 75%; the rest stays in cash"
    assert "p.toml:7" in binding.change


def test_clip_mode_sends_the_freed_weight_to_the_cash_symbol_up_to_the_cap():
    limits = CAP.model_copy(update={"cash_symbol": "BIL"})
    planned = plan_day(with_bil(inputs(targets={"UGL": "1"}, prices={"UGL": "80", "BIL": "91.5"})), limits, {})
    assert not isinstance(planned, Rejection)
    assert {o.symbol: o.notional for o in planned.plan.orders} == {"BIL": D("25000.00"), "UGL": D("75000.00")}
    assert "25% to BIL" in planned.bindings[0].message
    full = plan_day(inputs(targets={"UGL": "0.9", "BIL": "0.1"}, prices={"UGL": "80", "BIL": "91.5"}),
                    limits.model_copy(update={"max_position_weight": D("0.1")}), {})
    assert not isinstance(full, Rejection)
    assert full.inputs.target_weights == {"UGL": D("0.1"), "BIL": D("0.1")}
    assert "BIL is at the cap already" in full.bindings[0].message


def test_clipping_scales_each_strategys_share_alike_so_attribution_still_adds_up():
    parts = [StrategyPart("a", D("0.5"), {"UGL": D(1)}),
             StrategyPart("b", D("0.5"), {"UGL": D("0.6"), "TLT": D("0.4")})]
    targets, strategies, _ = clip_targets({"UGL": D("0.8"), "TLT": D("0.2")}, parts, CAP.model_copy(
        update={"cash_symbol": "BIL"}))
    assert targets == {"UGL": D("0.75"), "TLT": D("0.2"), "BIL": D("0.05")}
    net = {s: sum(p.allocation * p.weights.get(s, D(0)) for p in strategies) for s in targets}
    assert all(abs(net[s] - targets[s]) < D("1e-20") for s in targets)
    made = inputs(strategies=[("a", "0.5", {"UGL": "1"}, None), ("b", "0.5", {"UGL": "0.6", "TLT": "0.4"}, None)],
                  prices={"UGL": "80", "TLT": "92", "BIL": "91.5"})
    planned = plan_day(with_bil(made), CAP.model_copy(update={"cash_symbol": "BIL"}), {})
    assert not isinstance(planned, Rejection)  # check_plan: every order's attribution adds up to it
    assert {o.symbol for o in planned.plan.orders} == {"UGL", "TLT", "BIL"}


def test_the_limits_are_part_of_the_plans_identity():
    base = inputs(targets={"UGL": "0.5", "TLT": "0.5"}, prices={"UGL": "80", "TLT": "92"}, parameters=NO_SKIP)
    one, two = plan_day(base, Limits(), {}), plan_day(base, Limits(max_orders_per_run=3), {})
    assert not isinstance(one, Rejection) and not isinstance(two, Rejection)
    assert one.plan.orders == two.plan.orders and one.plan.plan_id != two.plan.plan_id


def test_over_cap_names_the_targets_above_it():
    assert over_cap({"A": D("0.8"), "B": D("0.2")}, CAP) == {"A": D("0.8")}


def test_gather_reads_the_cash_symbols_asset_and_price_in_clip_mode_and_refuses_an_unknown_one():
    broker = FakeBroker()
    limits = CAP.model_copy(update={"cash_symbol": "BIL"})
    gathered = gather(signal({"TQQQ": "1"}), broker, NO_SKIP, limits)
    assert not isinstance(gathered, Rejection) and gathered.inputs.prices == {"TQQQ": D("60"), "BIL": D("91.5")}
    unknown = FakeBroker(assets={"TQQQ": Asset("TQQQ", tradable=True, fractionable=True)})
    rejection = gather(signal({"TQQQ": "1"}), unknown, NO_SKIP, limits)
    assert isinstance(rejection, Rejection) and rejection.error_type == "UnknownSymbol" and "BIL" in rejection.reason


def test_the_lambda_plans_with_the_signals_limits_and_publishes_them_with_the_clipping(state_dir):
    world = World(state_dir)
    world.deliver(signal({"TQQQ": "1"}).model_copy(update={"limits": CAP}))
    [event] = world.publisher.events
    assert isinstance(event, RebalancePlanned)
    assert event.limits == CAP and [b.action for b in event.limit_bindings] == ["clipped"]
    assert event.target_weights == {"TQQQ": D("0.75")}
    assert [o.notional for o in event.orders] == [D("74250.00")]  # 75% of the deployable 99%


def test_a_signal_without_limits_is_planned_with_the_defaults(state_dir):
    world = World(state_dir)
    world.deliver(signal({"TQQQ": "1"}))
    [event] = world.publisher.events
    assert event.limits == Limits() and event.limit_bindings == ()
