"""The strategy step resolves the workflow's limits once: the portfolio file's [limits], then its environment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.strategy.portfolio_config import PortfolioConfigError, load_portfolio
from shared.events.signal_generated import SignalGenerated
from shared.limits.model import Limits
from tests.unit.strategy.support import DIRECT, harness


def portfolio(tmp_path, limits: str = ""):
    (tmp_path / "ugl.clj").write_text('(defsymphony "ugl" {} (asset "UGL"))\n')
    path = tmp_path / "portfolio.toml"
    path.write_text(f'[[strategy]]\nname = "ugl"\nfile = "ugl.clj"\nallocation = "1"\n{limits}')
    return path


def test_the_portfolio_file_carries_its_limits(tmp_path):
    loaded = load_portfolio(portfolio(tmp_path, '\n[limits]\nmax_position_weight = "0.75"\nposition_cap = "clip"\n'))
    assert (loaded.limits.max_position_weight, loaded.limits.position_cap) == (Decimal("0.75"), "clip")
    assert loaded.limits.source("max_position_weight").endswith("portfolio.toml:7")


def test_a_bad_limit_fails_the_load_naming_file_and_line(tmp_path):
    with pytest.raises(PortfolioConfigError, match=r"portfolio\.toml:6: \[limits\] max_position_weight = 1\.5"):
        load_portfolio(portfolio(tmp_path, "[limits]\nmax_position_weight = 1.5\n"))


def test_an_unknown_top_level_key_is_still_refused(tmp_path):
    with pytest.raises(PortfolioConfigError, match=r"unknown top-level key\(s\) limit;"):
        load_portfolio(portfolio(tmp_path, "[limit]\nmax_position_weight = 0.5\n"))


def test_the_signal_carries_the_files_limits(state_dir, tmp_path):
    h = harness(state_dir, strategy_config=portfolio(tmp_path, "[limits]\nmax_position_weight = 0.75\n"))
    assert h.invoke(DIRECT)["status"] == "success"
    [signal] = [e for e in h.published if isinstance(e, SignalGenerated)]
    assert signal.limits is not None and signal.limits.max_position_weight == Decimal("0.75")
    assert signal.target_weights == {"UGL": Decimal(1)}  # the strategy's weights, as written


def test_the_environment_overrides_the_file_and_says_so(state_dir, tmp_path):
    h = harness(state_dir, strategy_config=portfolio(tmp_path, "[limits]\nmax_position_weight = 0.75\n"),
                max_position_weight="1", position_cap="clip")
    h.invoke(DIRECT)
    [signal] = [e for e in h.published if isinstance(e, SignalGenerated)]
    assert signal.limits == Limits(max_position_weight=Decimal(1), position_cap="clip", sources={
        "max_position_weight": "ALCHEMISER_MAX_POSITION_WEIGHT", "position_cap": "ALCHEMISER_POSITION_CAP"})


def test_a_deployed_function_labels_an_override_with_its_template_parameter(tmp_path):
    from services.strategy.settings import StrategySettings

    settings = StrategySettings.from_env({"ALCHEMISER_MAX_ORDERS_PER_RUN": "20", "ALCHEMISER_MAX_PRICE_MOVE": ""})
    limits = settings.limits_for(Limits())
    assert limits.max_orders_per_run == 20 and limits.max_price_move == Limits().max_price_move
    assert limits.source("max_orders_per_run") == "template parameter MaxOrdersPerRun (ALCHEMISER_MAX_ORDERS_PER_RUN)"


def test_a_bad_override_is_a_settings_error_naming_the_variable():
    from services.strategy.settings import StrategySettings
    from shared.runtime.settings import SettingsError

    with pytest.raises(SettingsError, match="ALCHEMISER_MAX_POSITION_WEIGHT"):
        StrategySettings.from_env({"ALCHEMISER_MAX_POSITION_WEIGHT": "nan"})
