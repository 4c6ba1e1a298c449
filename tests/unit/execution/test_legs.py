"""From planned orders to broker requests: whole shares where needed, buys fitted to buying power."""

from __future__ import annotations

from decimal import Decimal

from services.execution.legs import Leg, build_legs, fit_to_budget
from tests.fakes.execution_support import SIM_ACCOUNT, buy, coid, make_plan, sell

D = Decimal


def leg(symbol: str, *, notional: str | None = None, qty: str | None = None, fractionable: bool = True,
        price: str = "100", index: int = 0) -> Leg:
    return Leg(index, f"alch-p-{symbol}-buy-0", symbol, "buy", D(qty) if qty else None,
               D(notional) if notional else None, fractionable, D(price))


def test_legs_keep_plan_order_and_get_deterministic_ids():
    plan = make_plan([sell("SPY", "3"), buy("TLT", notional="1000"), buy("GLD", qty="2.5")], plan_id="p1")
    legs, skips = build_legs(plan, {}, SIM_ACCOUNT)
    assert [(x.client_order_id, x.qty, x.notional) for x in legs] == [
        (coid("SPY", "sell"), D("3"), None), (coid("TLT", "buy"), None, D("1000")),
        (coid("GLD", "buy"), D("2.5"), None)]
    assert skips == []


def test_a_second_plan_for_the_same_workflow_gets_the_same_ids():
    first = make_plan([sell("SPY", "3"), buy("TLT", notional="1000")], plan_id="p1")
    second = make_plan([sell("SPY", "2"), buy("TLT", notional="900")], plan_id="p2")
    ids = [[x.client_order_id for x in build_legs(p, {}, SIM_ACCOUNT)[0]] for p in (first, second)]
    assert ids[0] == ids[1]
    other_account = [x.client_order_id for x in build_legs(first, {}, "PA-other")[0]]
    assert set(other_account).isdisjoint(ids[0])


def test_a_notional_buy_of_a_non_fractionable_asset_becomes_whole_shares_at_the_broker_price():
    plan = make_plan([buy("BRK.A", notional="1900", fractionable=False, price="500")])
    legs, _ = build_legs(plan, {"BRK.A": D("600")}, SIM_ACCOUNT)
    assert (legs[0].qty, legs[0].notional) == (D("3"), None)


def test_a_fractional_qty_of_a_non_fractionable_asset_is_floored():
    legs, _ = build_legs(make_plan([buy("BRK.A", qty="2.7", fractionable=False)]), {}, SIM_ACCOUNT)
    assert legs[0].qty == D("2")


def test_less_than_one_whole_share_is_skipped_with_the_reason():
    legs, skips = build_legs(make_plan([buy("BRK.A", notional="500", fractionable=False)]), {"BRK.A": D("600")},
                              SIM_ACCOUNT)
    assert legs == [] and len(skips) == 1
    assert "not fractionable" in skips[0].reason and "less than one share" in skips[0].reason


def test_buys_within_the_budget_are_not_scaled():
    fit = fit_to_budget([leg("TLT", notional="500"), leg("GLD", notional="500")], D("1000"))
    assert fit.factor is None and fit.note is None and [x.notional for x in fit.legs] == [D("500"), D("500")]


def test_buys_over_the_budget_are_scaled_pro_rata_and_rounded_down():
    fit = fit_to_budget([leg("TLT", notional="1000"), leg("GLD", notional="2000"),
                         leg("BRK.A", qty="7", fractionable=False, price="100"),
                         leg("QQQ", qty="3.333333333", price="30")], D("1900"))
    assert fit.factor == D("0.5")
    assert [(x.notional, x.qty) for x in fit.legs] == [
        (D("500.00"), None), (D("1000.00"), None), (None, D("3")), (None, D("1.666666666"))]
    assert sum(x.value for x in fit.legs) <= D("1900")
    assert fit.note == "buys scaled by 0.500000 to fit buying power: wanted 3800.00, available 1900.00"


def test_scaling_drops_buys_below_one_dollar_and_says_so():
    fit = fit_to_budget([leg("TLT", notional="1.50"), leg("GLD", notional="1000")], D("500"))
    assert [x.symbol for x in fit.legs] == ["GLD"]
    assert [s.leg.symbol for s in fit.skipped] == ["TLT"]
    assert "below the $1 minimum" in fit.skipped[0].reason


def test_scaling_a_whole_share_buy_to_zero_shares_skips_it():
    fit = fit_to_budget([leg("BRK.A", qty="1", fractionable=False, price="600"), leg("GLD", notional="600")],
                        D("700"))
    assert [s.leg.symbol for s in fit.skipped] == ["BRK.A"]


def test_no_buying_power_skips_every_buy():
    fit = fit_to_budget([leg("TLT", notional="100")], D("-5"))
    assert fit.legs == [] and fit.factor == 0
    assert fit.skipped[0].reason == "no buying power left for buys (available 0.00)"
