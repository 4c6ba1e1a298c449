"""The limits' rule: buys only, defaults that let any symphony through, every binding with its numbers."""

from __future__ import annotations

from decimal import Decimal as D

from shared.limits.model import Limits
from shared.limits.rules import Exposure, check, daily_binding, describe

EQUITY = D("100000")


def buy(symbol: str, value: str, price: str | None = None, reference: str | None = None) -> Exposure:
    return Exposure(symbol, "buy", D(value), None if price is None else D(price),
                    None if reference is None else D(reference))


def sell(symbol: str, value: str) -> Exposure:
    return Exposure(symbol, "sell", D(value))


def test_the_defaults_let_a_single_asset_symphony_hold_everything():
    assert check([buy("TQQQ", "99000")], equity=EQUITY, positions={}, limits=Limits()) == []


def test_the_defaults_let_a_full_switch_through():
    orders = [sell("TQQQ", "99000"), buy("BIL", "99000")]
    assert check(orders, equity=EQUITY, positions={"TQQQ": D("99000")}, limits=Limits()) == []


def test_a_sell_is_never_counted_however_large():
    """The account 95% in AAPL that could never be rebalanced (every run refused the sell)."""
    tight = Limits(max_order_equity_fraction=D("0.1"), max_turnover_equity_fraction=D("0.1"),
                   max_position_weight=D("0.1"), max_orders_per_run=1)
    orders = [sell("AAPL", "94857.58"), sell("MSFT", "4000")]
    assert check(orders, equity=EQUITY, positions={"AAPL": D("94857.58"), "MSFT": D("4000")}, limits=tight) == []


def test_the_position_cap_names_the_symbol_the_weight_and_where_to_change_it():
    limits = Limits(max_position_weight=D("0.75"), sources={"max_position_weight": "portfolio.toml:7"})
    [binding] = check([buy("UGL", "99000")], equity=EQUITY, positions={}, limits=limits)
    assert binding.limit == "max_position_weight" and binding.action == "refused"
    assert binding.message == "max_position_weight (75%): UGL would be 99% of equity ($99,000.00 of $100,000.00)"
    assert binding.values["symbol"] == "UGL" and binding.values["limit"] == "0.75"
    assert "portfolio.toml:7" in binding.change and "--max-position-weight" in binding.change
    assert "MaxPositionWeight" in binding.change


def test_a_plan_that_only_trims_an_oversized_position_is_not_refused():
    limits = Limits(max_position_weight=D("0.5"))
    assert check([sell("TQQQ", "10000")], equity=EQUITY, positions={"TQQQ": D("90000")}, limits=limits) == []
    # buying something else while TQQQ stays above the cap is not TQQQ's buy
    assert check([sell("TQQQ", "10000"), buy("BIL", "10000")], equity=EQUITY, positions={"TQQQ": D("90000")},
                 limits=limits) == []


def test_order_turnover_and_count_bind_on_buys():
    limits = Limits(max_order_equity_fraction=D("0.3"), max_turnover_equity_fraction=D("0.5"), max_orders_per_run=2)
    orders = [sell("X", "90000"), buy("A", "40000"), buy("B", "20000"), buy("C", "5000")]
    found = {b.limit: b.message for b in check(orders, equity=EQUITY, positions={"X": D("90000")}, limits=limits)}
    assert found == {
        "max_orders_per_run": "max_orders_per_run (2): the plan places 3 buy orders",
        "max_order_equity_fraction": "max_order_equity_fraction (30%): buy A $40,000.00 is 40% of equity $100,000.00",
        "max_turnover_equity_fraction": "max_turnover_equity_fraction (50%): the plan buys $65,000.00, 65% of equity "
                                        "$100,000.00",
    }


def test_the_boundaries_are_inclusive():
    limits = Limits(max_order_equity_fraction=D("0.75"), max_turnover_equity_fraction=D("0.75"),
                    max_position_weight=D("0.75"))
    assert check([buy("T", "75000")], equity=EQUITY, positions={}, limits=limits) == []
    assert {b.limit for b in check([buy("T", "75000.01")], equity=EQUITY, positions={}, limits=limits)} == {
        "max_order_equity_fraction", "max_turnover_equity_fraction", "max_position_weight"}


def test_a_price_that_moved_too_far_from_the_plans_refuses_a_share_sized_buy():
    ok = [buy("BRK.A", "60000", price="600000", reference="580000")]
    assert check(ok, equity=EQUITY, positions={}, limits=Limits()) == []
    [binding] = check([buy("BRK.A", "60000", price="60000", reference="600000")], equity=EQUITY, positions={},
                      limits=Limits())
    assert binding.limit == "max_price_move" and "90% from the plan's $600,000.00" in binding.message


def test_no_buy_can_be_sized_against_no_equity_but_sells_still_can():
    assert [b.limit for b in check([buy("A", "10")], equity=D(0), positions={}, limits=Limits())] == ["equity"]
    assert check([sell("A", "10")], equity=D(0), positions={"A": D(10)}, limits=Limits()) == []


def test_the_daily_cap_binding_and_the_description_carry_the_numbers():
    binding = daily_binding(Limits(), amount=D("60000"), used_before=D("99000"), cap=D("150000"), account="PA1")
    assert binding.limit == "max_daily_turnover_equity_fraction"
    assert binding.message.startswith("max_daily_turnover_equity_fraction (150%): this plan buys $60,000.00")
    assert describe([binding]).startswith("limit bound: max_daily_turnover_equity_fraction (150%)")


def test_a_cap_broken_by_hundreds_of_positions_names_the_worst_and_counts_the_rest():
    orders = [buy(f"S{i:03d}", str(1000 + i)) for i in range(300)]
    only_the_cap = Limits(max_position_weight=D("0.05"), max_order_equity_fraction=D(100),
                          max_turnover_equity_fraction=D(1000))
    [binding] = check(orders, equity=D("10000"), positions={}, limits=only_the_cap)
    assert binding.message.startswith("max_position_weight (5%): S299 would be 12.99% of equity")
    assert binding.message.endswith("(also S298, S297, S296, S295, S294 and 294 more)")
