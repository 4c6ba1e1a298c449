"""Strategy settings from the environment, and adapters built once per container."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.strategy import dependencies as deps_module
from services.strategy.dependencies import dependencies, make_calendar, portfolio_loader
from services.strategy.portfolio_config import PortfolioConfigError
from services.strategy.settings import PACKAGED_CONFIG, StrategySettings
from shared.marketdata.calendar import ExchangeCalendar
from shared.runtime.settings import SettingsError


@pytest.fixture(autouse=True)
def _fresh_cache():
    deps_module.clear_cache()
    yield
    deps_module.clear_cache()


def test_the_default_portfolio_is_the_packaged_one_wherever_the_package_lives():
    settings = StrategySettings.from_env({})
    assert settings.strategy_config == PACKAGED_CONFIG
    assert PACKAGED_CONFIG.is_file() and PACKAGED_CONFIG.parent.parent.name == "strategy"


def test_the_calendar_is_the_offline_exchange_locally_and_alpaca_in_aws():
    assert StrategySettings.from_env({"ALCHEMISER_BACKEND": "local"}).calendar_source == "exchange"
    assert StrategySettings.from_env({}).calendar_source == "alpaca"
    assert StrategySettings.from_env({"ALCHEMISER_CALENDAR": "exchange"}).calendar_source == "exchange"


def test_settings_come_from_alchemiser_variables_and_bad_values_name_the_variable(tmp_path):
    settings = StrategySettings.from_env({"ALCHEMISER_STRATEGY_CONFIG": str(tmp_path / "p.toml"),
                                          "ALCHEMISER_RUN_IDEMPOTENCY_DAYS": "7",
                                          "ALCHEMISER_MAX_EXPLANATION_LINES": "20"})
    assert settings.strategy_config == tmp_path / "p.toml"
    assert settings.run_idempotency_seconds == 7 * 86_400 and settings.max_explanation_lines == 20
    with pytest.raises(SettingsError, match="ALCHEMISER_MAX_EXPLANATION_LINES"):
        StrategySettings.from_env({"ALCHEMISER_MAX_EXPLANATION_LINES": "500"})
    with pytest.raises(SettingsError, match="ALCHEMISER_CALENDAR"):
        StrategySettings.from_env({"ALCHEMISER_CALENDAR": "nyse"})


def test_a_local_run_uses_the_offline_calendar():
    assert isinstance(make_calendar(StrategySettings(backend="local")), ExchangeCalendar)


def test_adapters_are_built_once_per_configuration_while_each_invocation_keeps_its_clock(tmp_path):
    base = {"backend": "local", "state_dir": tmp_path}
    morning = StrategySettings.model_validate({**base, "as_of": datetime(2026, 11, 25, 14, 35, tzinfo=UTC)})
    later = StrategySettings.model_validate({**base, "as_of": datetime(2026, 11, 25, 15, 0, tzinfo=UTC)})
    first, second = dependencies(morning), dependencies(later)
    assert first.portfolio is second.portfolio and first.idempotency is second.idempotency
    assert (first.settings.as_of, second.settings.as_of) == (morning.as_of, later.as_of)
    other = dependencies(StrategySettings.model_validate({**base, "trading_mode": "live"}))
    assert other.idempotency is not first.idempotency


def test_the_portfolio_is_parsed_once_and_a_failed_load_is_tried_again(tmp_path):
    strategy = tmp_path / "a.clj"
    config = tmp_path / "portfolio.toml"
    config.write_text('[[strategy]]\nname = "a"\nfile = "a.clj"\nallocation = "1"\n')
    load = portfolio_loader(config)
    with pytest.raises(PortfolioConfigError, match="not found"):
        load()
    strategy.write_text('(defsymphony "a" {} (asset "SPY"))\n')
    loaded = load()
    strategy.write_text("not a strategy any more")
    assert load() is loaded and loaded.symbols == ("SPY",)
