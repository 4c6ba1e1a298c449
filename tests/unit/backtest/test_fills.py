"""The backtest's fill model: the simulated paper broker's rounding, slippage against the trader, fees."""

from __future__ import annotations

from decimal import Decimal

import pytest

from alchemiser.backtest.fills import FillModel, SimAccount

D = Decimal


def test_a_notional_buy_gets_the_shares_it_pays_for_at_the_slipped_price():
    account = SimAccount(D("1000"))
    fill = account.buy("2025-01-02", "SPY", None, D("500"), D("100"), True, FillModel(D("5")))
    assert fill.fill_price == D("100.0500")  # 5 bps up, to $0.0001
    assert fill.qty == D("4.997501249")  # 500 / 100.05, 9 places rounded down
    assert fill.amount == D("500.00")  # qty x price rounded up to the cent
    assert account.cash == D("500.00") and account.positions == {"SPY": D("4.997501249")}
    assert fill.slippage == D("0.25")


def test_a_sell_receives_the_price_moved_down_rounded_down_to_the_cent():
    account = SimAccount(D("0"), {"SPY": D("3")})
    fill = account.sell("2025-01-02", "SPY", D("3"), D("100.01"), FillModel(D("10")))
    assert fill.fill_price == D("99.9099")
    assert fill.amount == D("299.72") and account.cash == D("299.72") and account.positions == {}


def test_whole_shares_when_not_fractionable_and_the_fee_on_top():
    account = SimAccount(D("1000"))
    fill = account.buy("2025-01-02", "BRK.B", None, D("950"), D("300"), False, FillModel(fee_per_share=D("0.005")))
    assert fill.qty == 3 and fill.amount == D("900.00") and fill.fee == D("0.02")
    assert account.cash == D("99.98")


def test_a_buy_above_the_buying_power_is_rejected_as_the_broker_would():
    account = SimAccount(D("100"))
    fill = account.buy("2025-01-02", "SPY", D("2"), None, D("60"), True, FillModel())
    assert fill.rejected and "insufficient buying power" in fill.rejected
    assert account.cash == D("100") and account.positions == {}


def test_selling_more_than_held_is_rejected():
    account = SimAccount(D("0"), {"SPY": D("1")})
    fill = account.sell("2025-01-02", "SPY", D("2"), D("10"), FillModel())
    assert fill.rejected and account.positions == {"SPY": D("1")}


@pytest.mark.parametrize("bad", [{"slippage_bps": D("-1")}, {"fee_per_share": D("-0.01")}, {"slippage_bps": D("NaN")}])
def test_a_negative_or_undefined_cost_is_refused(bad):
    with pytest.raises(ValueError):
        FillModel(**bad)


def test_the_command_s_default_slippage_is_the_simulated_broker_s():
    from alchemiser.commands.backtest import SIM_SLIPPAGE_BPS
    from shared.venues.settings import BrokerSettings

    assert BrokerSettings.model_fields["sim_slippage_bps"].default == SIM_SLIPPAGE_BPS
