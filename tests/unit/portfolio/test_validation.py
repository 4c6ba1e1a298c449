"""The safety checks: each bad input is named with a clear reason; good input passes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.portfolio.planner import OrderLine, plan
from services.portfolio.validation import (
    WEIGHT_TOLERANCE,
    check_account,
    check_assets,
    check_plan,
    check_positions,
    check_prices,
    check_signal,
)
from shared.broker.port import Account, Asset, Position
from tests.unit.portfolio.support import CAPTURED_AT, SIGNAL_AT, holding, inputs, position, signal

D = Decimal


def account(**changes) -> Account:
    base = Account("A", "ACTIVE", D(1000), D(1000), D(1000), False, False, CAPTURED_AT)
    return dataclasses.replace(base, **changes)


# ------------------------------------------------------------------------------ signal


def test_a_well_formed_signal_passes():
    assert check_signal(signal({"SPY": "0.5", "BIL": "0.5"})) is None


def test_a_negative_weight_is_refused():
    rejection = check_signal(signal({"SPY": "1.5", "BIL": "-0.5"}, construct=True))
    assert rejection is not None and rejection.error_type == "InvalidWeights"
    assert "BIL" in rejection.reason


def test_a_negative_strategy_allocation_is_refused():
    strategies = [("a", "1.5", {"SPY": "1"}, None), ("b", "-0.5", {"SPY": "1"}, None)]
    rejection = check_signal(signal({"SPY": "1"}, strategies=strategies, construct=True))
    assert rejection is not None and rejection.error_type == "InvalidWeights"


def test_weights_summing_away_from_one_beyond_the_tolerance_are_refused():
    rejection = check_signal(signal({"SPY": "0.5", "BIL": "0.4999989"}, construct=True))
    assert rejection is not None and rejection.error_type == "WeightsDoNotSumToOne"
    assert rejection.reason.startswith("target weights sum to 0.9999989, not 1")


def test_weights_within_the_tolerance_pass():
    assert check_signal(signal({"SPY": "0.5", "BIL": "0.499999"})) is None


def test_strategies_that_do_not_add_up_to_the_targets_are_refused():
    strategies = [("a", "1", {"SPY": "1"}, None)]
    rejection = check_signal(signal({"SPY": "0.5", "BIL": "0.5"}, strategies=strategies))
    assert rejection is not None and rejection.error_type == "AttributionMismatch"
    assert "BIL, SPY" in rejection.reason


def test_duplicate_strategy_names_are_refused():
    strategies = [("a", "0.5", {"SPY": "1"}, None), ("a", "0.5", {"SPY": "1"}, None)]
    rejection = check_signal(signal(strategies=strategies))
    assert rejection is not None and rejection.error_type == "InvalidStrategies"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["AAA", "BBB", "CCC", "DDD"]),
                       st.decimals(min_value=-1, max_value=1, places=7, allow_nan=False, allow_infinity=False),
                       min_size=1))
def test_weights_pass_exactly_when_non_negative_and_summing_to_one(weights):
    one_strategy = [("main", "1", {s: str(w) for s, w in weights.items()}, None)]
    rejection = check_signal(signal({s: str(w) for s, w in weights.items()}, strategies=one_strategy,
                                    construct=True))
    valid = all(w >= 0 for w in weights.values()) and abs(sum(weights.values()) - 1) <= WEIGHT_TOLERANCE
    assert (rejection is None) == valid


# ------------------------------------------------------------------------------ account


def test_an_active_account_read_after_the_signal_passes():
    assert check_account(account(), SIGNAL_AT) is None


def test_a_blocked_account_is_refused():
    assert check_account(account(account_blocked=True), SIGNAL_AT).error_type == "AccountBlocked"


def test_blocked_trading_is_refused():
    rejection = check_account(account(trading_blocked=True), SIGNAL_AT)
    assert rejection.error_type == "AccountBlocked" and "trading" in rejection.reason


def test_an_account_that_is_not_active_is_refused():
    assert check_account(account(status="SUBMITTED"), SIGNAL_AT).error_type == "AccountNotActive"


def test_zero_equity_is_refused():
    assert check_account(account(equity=D(0)), SIGNAL_AT).error_type == "NoEquity"


def test_a_snapshot_older_than_the_signal_is_refused():
    rejection = check_account(account(captured_at=SIGNAL_AT - timedelta(microseconds=1)), SIGNAL_AT)
    assert rejection.error_type == "StaleSnapshot"
    assert "older than the signal" in rejection.reason


# ------------------------------------------------------------------------------ positions, assets, prices


def test_a_short_position_is_refused():
    rejection = check_positions([position("SPY", "-1", "500")])
    assert rejection.error_type == "ShortPosition"


def test_a_position_without_a_price_is_refused():
    rejection = check_positions([Position("SPY", D(1), D(0), D(0))])
    assert rejection.error_type == "MissingPrice"


def test_long_priced_positions_pass():
    assert check_positions([position("SPY", "1", "500"), position("GLD", "0.5", "190")]) is None


def test_a_symbol_unknown_to_the_broker_is_refused():
    assets = {"SPY": Asset("SPY", True, True)}
    rejection = check_assets({"SPY": D("0.5"), "NOPE": D("0.5")}, ["OLD"], assets)
    assert rejection.error_type == "UnknownSymbol"
    assert rejection.reason == "unknown to the broker: NOPE, OLD"
    assert rejection.details == {"symbols": "NOPE,OLD"}


def test_a_target_the_broker_cannot_trade_is_refused():
    assets = {"SPY": Asset("SPY", True, True), "OLD": Asset("OLD", False, True, status="inactive")}
    rejection = check_assets({"SPY": D("1"), "OLD": D("0")}, [], assets)
    assert rejection is None  # a zero weight is not bought
    assert check_assets({"SPY": D("0.5"), "OLD": D("0.5")}, [], assets).error_type == "NotTradable"


def test_a_target_without_a_price_is_refused():
    assert check_prices(["SPY", "BIL"], {"SPY": D(500)}).error_type == "MissingPrice"
    assert check_prices(["SPY"], {"SPY": D(0)}).error_type == "MissingPrice"
    assert check_prices(["SPY"], {"SPY": D(500)}) is None


# ------------------------------------------------------------------------------ the plan itself


def test_a_plan_that_sells_more_than_is_held_fails_the_plan_check():
    planned_inputs = inputs(targets={"SPY": "0.5", "BIL": "0.5"}, cash="0", holdings=[holding("SPY", "10", "100")],
                            prices={"BIL": "1"})
    good = plan(planned_inputs)
    assert check_plan(good, planned_inputs) is None
    oversell = dataclasses.replace(good, orders=tuple(
        dataclasses.replace(o, qty=D(11), estimated_value=D(1100), attribution={"main": D(-1100)})
        if o.side == "sell" else o for o in good.orders))
    rejection = check_plan(oversell, planned_inputs)
    assert rejection.error_type == "PlanCheckFailed" and "SPY: sells more than is held" in rejection.reason


def test_a_plan_that_overspends_or_trades_fractions_of_whole_share_assets_fails_the_plan_check():
    planned_inputs = inputs(targets={"BRK.A": "1"}, cash="1000", non_fractionable=["BRK.A"], prices={"BRK.A": "100"})
    bad = OrderLine("BRK.A", "buy", D("20.5"), None, D(100), D(2050), {"main": D(2050)}, "x", False, False)
    rejection = check_plan(dataclasses.replace(plan(planned_inputs), orders=(bad,)), planned_inputs)
    assert "BRK.A: a fractional order for an asset that is not fractionable" in rejection.reason
    assert "exceed cash/buying power" in rejection.reason
