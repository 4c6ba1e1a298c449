"""The planning rules, one by one, with hand-computed Decimal expectations."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from services.portfolio.planner import UNATTRIBUTED, Parameters, plan
from tests.unit.portfolio.support import DEFAULTS, holding, inputs

D = Decimal
SAMPLE_STRATEGIES = [
    ("trend-switcher", "0.5", {"TQQQ": "1"}, "0.05"),
    ("risk-parity", "0.5", {"TLT": "0.5", "GLD": "0.5"}, None),
]


def orders_by_symbol(result):
    return {o.symbol: o for o in result.orders}


def skipped_by_symbol(result):
    return {s.symbol: s for s in result.skipped}


# ------------------------------------------------------------------------------ deployable capital


def test_a_fresh_account_buys_each_target_by_notional_on_equity_less_the_cash_reserve():
    result = plan(inputs(strategies=SAMPLE_STRATEGIES, cash="100000", parameters=DEFAULTS,
                         prices={"TQQQ": "82.41", "TLT": "91.17", "GLD": "241.05"}))
    orders = orders_by_symbol(result)
    # deployable = 100000 x 0.99 = 99000; TQQQ 0.5 -> 49500, TLT and GLD 0.25 -> 24750
    assert [o.symbol for o in result.orders] == ["GLD", "TLT", "TQQQ"]
    assert orders["TQQQ"].notional == D("49500.00") and orders["TQQQ"].qty is None
    assert orders["TLT"].notional == orders["GLD"].notional == D("24750.00")
    assert orders["TQQQ"].reference_price == D("82.41")
    assert orders["TQQQ"].reason == "new position: target 50.00%"
    assert result.deployable == D("99000.00")
    assert result.scaling is None and result.skipped == ()
    assert result.summary == "3 buys ($99,000.00); 0 sells ($0.00); nothing skipped"


def test_the_order_for_a_symbol_is_target_dollars_minus_current_market_value():
    # equity 100000 = cash 50000 + SPY 100 x 500; reserve 0: SPY 0.3 -> 30000, BIL 0.7 -> 70000
    result = plan(inputs(targets={"SPY": "0.3", "BIL": "0.7"}, cash="50000",
                         holdings=[holding("SPY", "100", "500")], prices={"BIL": "91.5"}))
    orders = orders_by_symbol(result)
    assert (orders["SPY"].side, orders["SPY"].qty, orders["SPY"].estimated_value) == ("sell", D("40"), D("20000.00"))
    assert (orders["BIL"].side, orders["BIL"].notional) == ("buy", D("70000.00"))
    assert orders["SPY"].reason == "reduce: 50.00% of equity -> target 30.00%"
    assert orders["SPY"].full_exit is False


def test_current_weights_are_market_value_over_equity():
    result = plan(inputs(targets={"SPY": "1"}, cash="25000", holdings=[holding("SPY", "150", "500")]))
    assert result.current_weights == {"SPY": D("0.750000")}


# ------------------------------------------------------------------------------ full exits


def test_a_position_whose_target_is_zero_is_sold_by_its_exact_quantity():
    result = plan(inputs(targets={"SPY": "1"}, cash="1000", parameters=DEFAULTS, prices={"SPY": "500"},
                         holdings=[holding("XYZ", "3.123456789", "10.01")]))
    exit_ = orders_by_symbol(result)["XYZ"]
    assert (exit_.side, exit_.qty, exit_.notional, exit_.full_exit) == ("sell", D("3.123456789"), None, True)
    assert exit_.estimated_value == D("31.26")  # 31.2658... rounded down to the cent
    assert exit_.attribution == {UNATTRIBUTED: D("-31.26")}


def test_an_explicit_zero_weight_is_a_full_exit_too():
    result = plan(inputs(targets={"SPY": "1", "QQQ": "0"}, cash="0", holdings=[
        holding("SPY", "10", "500"), holding("QQQ", "7.5", "430")]))
    assert orders_by_symbol(result)["QQQ"].qty == D("7.5")
    assert orders_by_symbol(result)["QQQ"].full_exit


def test_a_tiny_exit_is_never_skipped_by_the_minimum_or_the_band():
    # $0.50 of dust, 0.0005% of equity: under min_trade_value and inside the band, still sold in full
    result = plan(inputs(targets={"SPY": "1"}, cash="100000", parameters=DEFAULTS, prices={"SPY": "500"},
                         holdings=[holding("DUST", "0.001", "500")]))
    assert orders_by_symbol(result)["DUST"].qty == D("0.001")
    assert "DUST" not in skipped_by_symbol(result)


def test_a_partial_sell_never_asks_for_more_than_is_held():
    # the broker's market value (15.01) is above qty x price (15.00): the computed qty 1.5008... is capped
    result = plan(inputs(targets={"SPY": "0.0001", "BIL": "0.9999"}, cash="0",
                         holdings=[holding("SPY", "1.5", "10", market_value="15.01")], prices={"BIL": "91.5"}))
    sell = orders_by_symbol(result)["SPY"]
    assert sell.qty == D("1.5") and sell.full_exit


def test_a_fractional_partial_sell_is_rounded_down_to_nine_places():
    # equity 100 = cash 10 + 10 x 9; SPY 0.5 -> 50; sell 40 / 9 = 4.444444444(4)
    result = plan(inputs(targets={"SPY": "0.5", "BIL": "0.5"}, cash="10", holdings=[holding("SPY", "10", "9")],
                         prices={"BIL": "1"}))
    sell = orders_by_symbol(result)["SPY"]
    assert sell.qty == D("4.444444444")
    assert sell.estimated_value == D("39.99")
    assert not sell.full_exit


# ------------------------------------------------------------------------------ small trades


def small_trade_inputs(spy_qty: str, parameters: Parameters = DEFAULTS, threshold: str | None = None,
                       split: bool = False):
    """Equity 100000: SPY held, the rest cash; SPY's target is 0.5 with no cash reserve. `split`: SPY is
    wanted by strategy a with allocation 0.5 (weight 1), BIL by strategy b; else a wants both."""
    held = holding("SPY", spy_qty, "500")
    cash = str(D(100000) - held.market_value)
    strategies = ([("a", "0.5", {"SPY": "1"}, threshold), ("b", "0.5", {"BIL": "1"}, None)] if split
                  else [("a", "1", {"SPY": "0.5", "BIL": "0.5"}, threshold)])
    return inputs(strategies=strategies, cash=cash, holdings=[held], prices={"BIL": "91.5"},
                  parameters=dataclasses.replace(parameters, cash_reserve=D(0)))


def test_a_trade_below_the_minimum_trade_value_is_skipped_with_the_reason():
    result = plan(small_trade_inputs("99.99"))  # SPY 49995 -> 50000: a $5 buy
    assert "SPY" not in orders_by_symbol(result)
    skip = skipped_by_symbol(result)["SPY"]
    assert (skip.side, skip.estimated_value) == ("buy", D("5.00"))
    assert skip.reason == "below the minimum trade value of $10"


def test_a_held_position_inside_the_drift_band_is_left_alone():
    result = plan(small_trade_inputs("99"))  # SPY 49500 -> 50000: $500, 0.5% of equity < 1%
    assert skipped_by_symbol(result)["SPY"].reason == "drift 0.50% is inside the 1.00% band"


def test_a_held_position_outside_the_drift_band_is_traded():
    result = plan(small_trade_inputs("97"))  # 48500 -> 50000: 1.5% of equity
    assert orders_by_symbol(result)["SPY"].notional == D("1500.00")


def test_a_strategy_threshold_sets_the_band_for_its_symbols_scaled_by_its_allocation():
    # threshold 0.05 x allocation 0.5 = a 2.5% band on the account: a 2% drift stays, a 3% drift trades
    inside = plan(small_trade_inputs("96", threshold="0.05", split=True))
    assert skipped_by_symbol(inside)["SPY"].reason == "drift 2.00% is inside the 2.50% band"
    outside = plan(small_trade_inputs("94", threshold="0.05", split=True))
    assert orders_by_symbol(outside)["SPY"].notional == D("3000.00")


def test_a_symbol_several_strategies_want_uses_the_smallest_band():
    # a: threshold 0.05 x 0.5 = 2.5%; b: no threshold -> the 1% setting. SPY's target is 0.5 + 0.25 = 0.75
    # ($75000); held at $73000 it drifts 2%: traded.
    held = holding("SPY", "146", "500")
    result = plan(inputs(strategies=[("a", "0.5", {"SPY": "1"}, "0.05"),
                                     ("b", "0.5", {"SPY": "0.5", "BIL": "0.5"}, None)],
                         cash=str(D(100000) - held.market_value), holdings=[held], prices={"BIL": "91.5"},
                         parameters=dataclasses.replace(DEFAULTS, cash_reserve=D(0))))
    assert orders_by_symbol(result)["SPY"].notional == D("2000.00")


def test_a_new_position_is_bought_even_when_its_whole_target_is_inside_the_band():
    # 0.5% of a $100000 account with a 1% band: 0.005 x 99000 = 495
    result = plan(inputs(targets={"SPY": "0.995", "BIL": "0.005"}, parameters=DEFAULTS,
                         prices={"SPY": "500", "BIL": "91.5"}))
    assert orders_by_symbol(result)["BIL"].notional == D("495.00")


# ------------------------------------------------------------------------------ fractionable or not


def test_a_non_fractionable_asset_is_bought_in_whole_shares_rounded_down():
    # deployable 990000 / 600000 = 1.65 -> 1 share
    result = plan(inputs(targets={"BRK.A": "1"}, cash="1000000", non_fractionable=["BRK.A"],
                         prices={"BRK.A": "600000"}, parameters=DEFAULTS))
    order = orders_by_symbol(result)["BRK.A"]
    assert (order.qty, order.notional, order.estimated_value, order.fractionable) == (D(1), None, D(600000), False)


def test_a_non_fractionable_buy_of_less_than_one_share_is_skipped_with_the_reason():
    result = plan(inputs(targets={"BRK.A": "1"}, cash="100000", non_fractionable=["BRK.A"],
                         prices={"BRK.A": "600000"}, parameters=DEFAULTS))
    assert result.orders == ()
    skip = skipped_by_symbol(result)["BRK.A"]
    assert skip.reason == "$99,000.00 buys less than one whole share at $600000 (not fractionable)"


def test_a_non_fractionable_partial_sell_is_whole_shares_rounded_down():
    # equity 1000 (10 x 100); target 0.55 -> 550; sell 450 / 100 = 4.5 -> 4
    result = plan(inputs(targets={"BRK.B": "0.55", "BIL": "0.45"}, cash="0", non_fractionable=["BRK.B"],
                         holdings=[holding("BRK.B", "10", "100")], prices={"BIL": "1"}))
    assert orders_by_symbol(result)["BRK.B"].qty == D(4)


def test_a_notional_buy_under_the_brokers_one_dollar_minimum_is_skipped():
    # equity 100; 0.005 -> $0.50
    result = plan(inputs(targets={"SPY": "0.995", "BIL": "0.005"}, cash="100", prices={"SPY": "500", "BIL": "91.5"}))
    assert skipped_by_symbol(result)["BIL"].reason == "$0.50 is below the broker's $1 minimum for a notional order"


def test_notional_buys_are_rounded_down_to_the_cent():
    result = plan(inputs(targets={"SPY": "0.333333333", "BIL": "0.666666667"}, cash="100",
                         prices={"SPY": "500", "BIL": "91.5"}))
    assert orders_by_symbol(result)["SPY"].notional == D("33.33")
    assert orders_by_symbol(result)["BIL"].notional == D("66.66")


# ------------------------------------------------------------------------------ order and budget


def test_sells_come_before_buys():
    result = plan(inputs(targets={"AAA": "0.5", "ZZZ": "0.5"}, cash="0",
                         holdings=[holding("MMM", "10", "100"), holding("ZZZ", "15", "100")],
                         prices={"AAA": "10"}))
    assert [(o.side, o.symbol) for o in result.orders] == [("sell", "MMM"), ("sell", "ZZZ"), ("buy", "AAA")]


def test_buys_are_funded_by_the_expected_proceeds_of_the_plans_sells():
    # cash 0 and buying power 0: the rotation spends only what SPY's sale brings in
    result = plan(inputs(targets={"SPY": "0.5", "BIL": "0.5"}, cash="0", buying_power="0",
                         holdings=[holding("SPY", "200", "500")], prices={"BIL": "91.5"}))
    orders = orders_by_symbol(result)
    assert orders["SPY"].estimated_value == D("50000.00")
    assert orders["BIL"].notional == D("50000.00")
    assert result.scaling is None and result.buy_budget == D("50000.00")


def test_buys_beyond_cash_and_proceeds_are_scaled_down_pro_rata_and_the_plan_says_so():
    # SPY's $5000 sell is inside a 6% band, so it is skipped: BIL wants 55000 of 50000 cash
    held = holding("SPY", "100", "500")
    result = plan(inputs(targets={"SPY": "0.45", "BIL": "0.55"}, cash="50000", holdings=[held],
                         prices={"BIL": "91.5"},
                         parameters=Parameters(cash_reserve=D(0), min_trade_value=D(0), drift_band=D("0.06"))))
    assert result.scaling is not None
    assert result.scaling.factor == D("0.909090")  # 50000 / 55000, rounded down
    assert orders_by_symbol(result)["BIL"].notional == D("49999.95")
    assert "exceed what the plan may spend, $50,000.00" in result.scaling.reason
    assert orders_by_symbol(result)["BIL"].reason.endswith("; scaled by 0.909090")
    assert result.summary.endswith("buys scaled by 0.909090")


def test_scaling_is_pro_rata_across_buys():
    # wants 60000 + 40000 of 50000 cash: factor 0.5
    result = plan(inputs(targets={"SPY": "0.6", "BIL": "0.4"}, cash="50000", equity="100000",
                         prices={"SPY": "500", "BIL": "91.5"}))
    orders = orders_by_symbol(result)
    assert result.scaling is not None and result.scaling.factor == D("0.5")
    assert (orders["SPY"].notional, orders["BIL"].notional) == (D("30000.00"), D("20000.00"))


def test_buys_never_exceed_the_buying_power_when_it_is_below_cash():
    result = plan(inputs(targets={"SPY": "0.6", "BIL": "0.4"}, cash="100000", buying_power="20000",
                         prices={"SPY": "500", "BIL": "91.5"}))
    total = sum(o.estimated_value for o in result.buys)
    assert total <= D(20000)
    assert result.scaling is not None and result.scaling.factor == D("0.2")


def test_a_buy_scaled_under_the_minimum_trade_value_is_skipped():
    result = plan(inputs(targets={"SPY": "1"}, cash="5", equity="100000", prices={"SPY": "500"},
                         parameters=DEFAULTS))
    assert result.orders == ()
    assert skipped_by_symbol(result)["SPY"].reason.startswith("scaled to $4.95, below the minimum trade value")


def test_with_negative_cash_nothing_is_bought_beyond_the_sells_proceeds():
    result = plan(inputs(targets={"SPY": "1"}, cash="-100", equity="1000", holdings=[holding("QQQ", "1", "1100")],
                         prices={"SPY": "500"}))
    assert sum(o.estimated_value for o in result.buys) <= D("1100")


# ------------------------------------------------------------------------------ attribution


def test_each_order_says_how_much_of_it_each_strategy_wants():
    # a: 0.5 of X; b: 0.5 x 0.4 of X and 0.5 x 0.6 of Y; equity 100000, no reserve
    result = plan(inputs(strategies=[("a", "0.5", {"X": "1"}, None), ("b", "0.5", {"X": "0.4", "Y": "0.6"}, None)],
                         prices={"X": "100", "Y": "100"}))
    orders = orders_by_symbol(result)
    assert orders["X"].attribution == {"a": D("50000.00"), "b": D("20000.00")}
    assert orders["Y"].attribution == {"b": D("30000.00")}


def test_a_strategy_leaving_a_symbol_never_sells_the_share_another_strategy_still_wants():
    # a moves from X to Z; b still wants 0.5 x 0.4 = 0.2 of X = $20000. X is held at $70000.
    held = holding("X", "700", "100")
    result = plan(inputs(strategies=[("a", "0.5", {"Z": "1"}, None), ("b", "0.5", {"X": "0.4", "Y": "0.6"}, None)],
                         cash="30000", holdings=[held], prices={"Y": "100", "Z": "100"}))
    sell = orders_by_symbol(result)["X"]
    assert sell.qty == D(500) and not sell.full_exit
    assert held.market_value - sell.qty * sell.reference_price == D(20000)  # b's target, kept
    assert "a" not in sell.attribution


def test_attribution_adds_up_to_the_order_to_the_cent_with_the_residue_on_the_largest():
    strategies = [(name, "0.333333333333333333333333333", {"X": "1"}, None) for name in ("c", "a", "b")]
    result = plan(inputs(strategies=strategies, targets={"X": "1"}, cash="100", prices={"X": "1"}))
    order = orders_by_symbol(result)["X"]
    assert order.notional == D("100.00")
    assert order.attribution == {"a": D("33.34"), "b": D("33.33"), "c": D("33.33")}
    assert sum(order.attribution.values()) == order.estimated_value


def test_a_sell_is_attributed_with_a_negative_amount():
    result = plan(inputs(targets={"SPY": "0.3", "BIL": "0.7"}, cash="50000",
                         holdings=[holding("SPY", "100", "500")], prices={"BIL": "91.5"}))
    assert orders_by_symbol(result)["SPY"].attribution == {"main": D("-20000.00")}


# ------------------------------------------------------------------------------ empty plans, tradability


def test_an_account_already_at_its_targets_gets_an_empty_plan():
    result = plan(inputs(targets={"SPY": "1"}, cash="0", holdings=[holding("SPY", "200", "500")]))
    assert result.orders == () and result.skipped == ()
    assert result.summary == "already balanced: no orders; nothing skipped"


def test_a_trade_in_an_untradable_asset_is_skipped_with_the_reason():
    result = plan(inputs(targets={"SPY": "1"}, cash="0", untradable=["OLD"], prices={"SPY": "500"},
                         holdings=[holding("OLD", "10", "5")]))
    assert skipped_by_symbol(result)["OLD"].reason == "exit wanted, but the asset is not tradable at the broker"


# ------------------------------------------------------------------------------ determinism


def base_inputs(**overrides):
    kwargs = dict(strategies=SAMPLE_STRATEGIES, cash="1000", parameters=DEFAULTS,
                  holdings=[holding("TQQQ", "100", "60"), holding("SPY", "1", "500")],
                  prices={"TLT": "92", "GLD": "190"})
    kwargs.update(overrides)
    return inputs(**kwargs)


def test_the_same_inputs_give_the_same_plan_and_plan_id():
    first, second = plan(base_inputs()), plan(base_inputs())
    assert first == second
    assert first.plan_id.startswith("plan-") and len(first.plan_id) == 5 + 24


def test_equal_decimals_written_differently_give_the_same_plan_id():
    assert plan(inputs(targets={"SPY": "0.5", "BIL": "0.5"}, prices={"SPY": "500", "BIL": "91.5"})).plan_id == \
        plan(inputs(targets={"SPY": "0.50", "BIL": "0.500"}, prices={"SPY": "500.00", "BIL": "91.50"})).plan_id


@pytest.mark.parametrize("change", [
    {"correlation_id": "run-2"},
    {"signal_event_id": "signal-2"},
    {"strategies": [("trend-switcher", "0.5", {"TQQQ": "1"}, "0.04"),
                    ("risk-parity", "0.5", {"TLT": "0.5", "GLD": "0.5"}, None)]},
    {"strategies": [("trend-switcher", "0.5", {"TQQQ": "1"}, "0.05"),
                    ("risk-parity", "0.5", {"TLT": "0.4", "GLD": "0.6"}, None)]},
    {"cash": "1000.01"},
    {"buying_power": "999"},
    {"equity": "7600"},
    {"holdings": [holding("TQQQ", "100.5", "60"), holding("SPY", "1", "500")]},
    {"holdings": [holding("TQQQ", "100", "60.01"), holding("SPY", "1", "500")]},
    {"holdings": [holding("TQQQ", "100", "60")]},
    {"prices": {"TLT": "92.01", "GLD": "190"}},
    {"non_fractionable": ["GLD"]},
    {"untradable": ["SPY"]},
    {"parameters": dataclasses.replace(DEFAULTS, cash_reserve=D("0.02"))},
    {"parameters": dataclasses.replace(DEFAULTS, min_trade_value=D(11))},
    {"parameters": dataclasses.replace(DEFAULTS, drift_band=D("0.02"))},
    {"parameters": dataclasses.replace(DEFAULTS, min_notional=D(2))},
    {"captured_at": base_inputs().account.captured_at.replace(microsecond=1)},
], ids=lambda change: next(iter(change)))
def test_changing_any_input_changes_the_plan_id(change):
    assert plan(base_inputs(**change)).plan_id != plan(base_inputs()).plan_id


def test_the_plan_id_does_not_depend_on_the_order_of_the_inputs():
    forward = base_inputs()
    backward = dataclasses.replace(
        forward,
        target_weights=dict(reversed(list(forward.target_weights.items()))),
        holdings=dict(reversed(list(forward.holdings.items()))),
        strategies=tuple(reversed(forward.strategies)),
    )
    assert plan(forward) == plan(backward)
