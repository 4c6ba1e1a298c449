"""The rule of which positions a plan manages (services/portfolio/managed.py), through the public step plan_day."""

from __future__ import annotations

from decimal import Decimal

from services.portfolio.day import plan_day
from services.portfolio.managed import scope
from services.portfolio.planner import Holding
from services.portfolio.validation import Rejection
from shared.limits.model import Limits
from tests.unit.portfolio.support import inputs

D = Decimal
HAND = [Holding("AAPL", D(50), D(10000), D(200)), Holding("MSFT", D(20), D(8000), D(400))]


def test_positions_the_system_never_bought_are_left_alone_and_out_of_the_equity():
    planned = plan_day(inputs(targets={"TLT": "1"}, holdings=HAND, prices={"TLT": "90"}), Limits(), {})
    assert not isinstance(planned, Rejection)
    assert [o.symbol for o in planned.plan.orders] == ["TLT"]  # no sell of AAPL or MSFT
    assert planned.inputs.account.equity == D(100000)  # 118,000 less the 18,000 bought by hand
    assert [(n.symbol, n.qty) for n in planned.scope.not_managed] == [("AAPL", D(50)), ("MSFT", D(20))]
    assert planned.inputs.holdings == {}


def test_manage_whole_account_sells_them():
    planned = plan_day(inputs(targets={"TLT": "1"}, holdings=HAND, prices={"TLT": "90"}),
                       Limits(manage_whole_account=True), {})
    assert not isinstance(planned, Rejection)
    assert {(o.side, o.symbol, o.qty) for o in planned.plan.sells} == {("sell", "AAPL", D(50)), ("sell", "MSFT", D(20))}
    assert planned.scope.not_managed == () and planned.inputs.account.equity == D(118000)


def test_what_the_system_holds_is_sold_when_dropped_and_never_beyond_its_shares():
    held = [Holding("GLD", D(30), D(7200), D(240))]  # 20 bought by the system, 10 by hand
    planned = plan_day(inputs(targets={"TLT": "1"}, holdings=held, prices={"TLT": "90"}), Limits(), {"GLD": D(20)})
    assert not isinstance(planned, Rejection)
    [sell] = planned.plan.sells
    assert (sell.symbol, sell.qty, sell.full_exit) == ("GLD", D(20), True)
    [left] = planned.scope.not_managed
    assert (left.symbol, left.qty, left.market_value) == ("GLD", D(10), D(2400))


def test_a_record_above_what_the_broker_holds_sells_only_what_is_held():
    held = [Holding("GLD", D(5), D(1200), D(240))]  # the user sold 15 of the system's 20 by hand
    planned = plan_day(inputs(targets={"TLT": "1"}, holdings=held, prices={"TLT": "90"}), Limits(), {"GLD": D(20)})
    assert not isinstance(planned, Rejection)
    assert [(s.symbol, s.qty) for s in planned.plan.sells] == [("GLD", D(5))]
    assert planned.scope.not_managed == ()


def test_a_targeted_symbol_bought_by_hand_is_managed_whole_and_said_so():
    made = inputs(targets={"AAPL": "0.5", "TLT": "0.5"}, holdings=HAND, prices={"TLT": "90"})
    scoped, decided = scope(made, Limits(), {"AAPL": D(10)})
    assert [(a.symbol, a.qty) for a in decided.adopted] == [("AAPL", D(40))]
    assert decided.managed == {"AAPL": D(50)} and scoped.account.equity == D(110000)


def test_nothing_left_to_manage_fails_closed_naming_the_setting():
    made = inputs(targets={"TLT": "1"}, holdings=HAND, cash="0", prices={"TLT": "90"})
    refused = plan_day(made, Limits(), {})
    assert isinstance(refused, Rejection) and refused.error_type == "NothingManaged"
    assert "manage_whole_account" in refused.reason
