"""Risk limits, each with the numbers in its message; a normal plan passes the defaults."""

from __future__ import annotations

from decimal import Decimal

from services.execution.risk import Exposure, RiskLimits, check, describe

D = Decimal
EQUITY = D("100000")


def buy(symbol: str, value: str) -> Exposure:
    return Exposure(symbol, "buy", D(value))


def sell(symbol: str, value: str) -> Exposure:
    return Exposure(symbol, "sell", D(value))


def test_a_normal_rebalance_passes_the_default_limits():
    orders = [sell("SPY", "40000"), sell("QQQ", "30000"), buy("TQQQ", "49500"), buy("TLT", "24750"),
              buy("GLD", "24750")]
    assert check(orders, equity=EQUITY, positions={"SPY": D("40000"), "QQQ": D("30000")}, limits=RiskLimits()) == []


def test_a_full_rotation_sell_all_buy_all_passes_the_default_turnover():
    orders = [sell("SPY", "50000"), sell("QQQ", "49000"), buy("TLT", "49500"), buy("GLD", "49500")]
    assert check(orders, equity=EQUITY, positions={"SPY": D("50000"), "QQQ": D("49000")}, limits=RiskLimits()) == []


def test_largest_single_order_limit_names_the_order_and_numbers():
    breaches = check([buy("TQQQ", "80000")], equity=EQUITY, positions={},
                     limits=RiskLimits(max_position_weight=D("1")))
    assert [b.limit for b in breaches] == ["max_order_equity_fraction"]
    assert breaches[0].message == ("largest single order: buy TQQQ $80,000.00 is 80.0% of equity $100,000.00 "
                                   "(limit 75.0%)")


def test_turnover_limit_reports_total_and_share():
    orders = [sell("SPY", "60000"), sell("QQQ", "40000"), buy("TLT", "60000"), buy("GLD", "60000")]
    breaches = check(orders, equity=EQUITY, positions={"SPY": D("60000"), "QQQ": D("40000")}, limits=RiskLimits())
    assert [b.limit for b in breaches] == ["max_turnover_equity_fraction"]
    assert breaches[0].message == "turnover: $220,000.00 is 220.0% of equity $100,000.00 (limit 210.0%)"


def test_resulting_position_weight_counts_what_is_already_held():
    breaches = check([buy("TQQQ", "30000")], equity=EQUITY, positions={"TQQQ": D("50000")}, limits=RiskLimits())
    assert [b.limit for b in breaches] == ["max_position_weight"]
    assert breaches[0].message == ("largest resulting position: TQQQ would be $80,000.00, 80.0% of equity "
                                   "$100,000.00 (limit 75.0%)")


def test_trimming_an_oversized_position_is_not_blocked_by_the_weight_limit():
    assert check([sell("TQQQ", "5000")], equity=EQUITY, positions={"TQQQ": D("90000")}, limits=RiskLimits()) == []


def test_sells_in_the_plan_offset_buys_of_the_same_symbol():
    orders = [sell("TQQQ", "20000"), buy("TQQQ", "10000")]
    assert check(orders, equity=EQUITY, positions={"TQQQ": D("70000")}, limits=RiskLimits()) == []


def test_orders_per_run_limit():
    orders = [buy(f"S{i:03d}", "100") for i in range(101)]
    breaches = check(orders, equity=EQUITY, positions={}, limits=RiskLimits())
    assert [b.message for b in breaches] == ["orders per run: 101 orders (limit 100)"]


def test_every_broken_limit_is_reported_together():
    orders = [buy("TQQQ", "150000"), buy("SPY", "90000")]
    breaches = check(orders, equity=EQUITY, positions={}, limits=RiskLimits(max_orders_per_run=1))
    assert [b.limit for b in breaches] == ["max_orders_per_run", "max_order_equity_fraction",
                                           "max_turnover_equity_fraction", "max_position_weight"]
    assert "(also SPY)" in breaches[-1].message
    assert describe(breaches).startswith("risk limits broken: orders per run: 2 orders (limit 1); ")


def test_no_equity_blocks_any_order():
    breaches = check([buy("SPY", "10")], equity=D("0"), positions={}, limits=RiskLimits())
    assert [b.limit for b in breaches] == ["equity"]
    assert "$0.00" in breaches[0].message


def test_an_empty_plan_breaks_nothing():
    assert check([], equity=D("0"), positions={}, limits=RiskLimits()) == []


def test_limits_are_strict_inequalities_at_the_boundary():
    assert check([buy("TQQQ", "75000")], equity=EQUITY, positions={}, limits=RiskLimits()) == []
    assert check([buy("TQQQ", "75000.01")], equity=EQUITY, positions={}, limits=RiskLimits()) != []
