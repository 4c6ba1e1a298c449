"""Portfolio settings: defaults, the environment, refusals; and the per-container adapter cache."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.portfolio.dependencies import clear_cache, dependencies
from services.portfolio.settings import PortfolioSettings
from shared.runtime.settings import SettingsError

D = Decimal


def test_defaults_are_a_small_reserve_a_ten_dollar_minimum_and_a_one_point_band():
    settings = PortfolioSettings.from_env({})
    assert (settings.cash_reserve, settings.min_trade_value, settings.drift_band, settings.min_notional) == (
        D("0.01"), D(10), D("0.01"), D(1))
    assert settings.plan_idempotency_days == 400
    assert settings.plan_idempotency_seconds == 400 * 86_400


def test_every_knob_is_read_from_its_alchemiser_variable():
    settings = PortfolioSettings.from_env({
        "ALCHEMISER_CASH_RESERVE": "0.02", "ALCHEMISER_MIN_TRADE_VALUE": "25", "ALCHEMISER_DRIFT_BAND": "0.05",
        "ALCHEMISER_MIN_NOTIONAL": "2", "ALCHEMISER_PLAN_IDEMPOTENCY_DAYS": "30", "ALCHEMISER_BROKER": "sim",
    })
    assert (settings.cash_reserve, settings.min_trade_value, settings.drift_band, settings.min_notional) == (
        D("0.02"), D(25), D("0.05"), D(2))
    assert settings.plan_idempotency_days == 30 and settings.broker_kind == "sim"


@pytest.mark.parametrize(("name", "value"), [
    ("CASH_RESERVE", "1"), ("CASH_RESERVE", "-0.01"), ("CASH_RESERVE", "NaN"), ("MIN_TRADE_VALUE", "-1"),
    ("DRIFT_BAND", "1.5"), ("PLAN_IDEMPOTENCY_DAYS", "0"),
])
def test_an_out_of_range_setting_is_refused_naming_the_variable(name, value):
    with pytest.raises(SettingsError, match=f"ALCHEMISER_{name}"):
        PortfolioSettings.from_env({f"ALCHEMISER_{name}": value})


def test_adapters_are_built_once_per_configuration(state_dir):
    clear_cache()
    settings = PortfolioSettings(backend="local", state_dir=state_dir)
    first = dependencies(settings)
    assert dependencies(PortfolioSettings(backend="local", state_dir=state_dir)) is first
    assert dependencies(PortfolioSettings(backend="local", state_dir=state_dir, drift_band=D("0.02"))) is not first
    clear_cache()


def test_different_alpaca_keys_never_share_adapters(state_dir):
    clear_cache()
    common = dict(backend="local", state_dir=state_dir, broker="alpaca", alpaca_trading_url="http://127.0.0.1:9",
                  alpaca_data_url="http://127.0.0.1:9")
    first = dependencies(PortfolioSettings(alpaca_api_key="PK1", alpaca_secret_key="s1", **common))
    second = dependencies(PortfolioSettings(alpaca_api_key="PK2", alpaca_secret_key="s2", **common))
    assert first is not second
    clear_cache()
