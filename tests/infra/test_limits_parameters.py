"""The limits' template parameters: one per limit, empty by default (the portfolio file decides), wired to the
strategy function only (it resolves the workflow's limits), and a value set for a stage overrides the file."""

from __future__ import annotations

import re
from decimal import Decimal

from alchemiser.local.template import load_template
from services.strategy.settings import StrategySettings
from shared.limits.model import Limits, parse
from shared.limits.specs import SPECS
from tests.infra import cfn


def test_every_limit_has_an_empty_by_default_parameter_that_accepts_its_values():
    params = cfn.raw()["Parameters"]
    for spec in SPECS:
        param = params[spec.parameter]
        assert param["Default"] == "", spec.parameter
        pattern, allowed = param.get("AllowedPattern"), param.get("AllowedValues")
        good = {"weight": "0.75", "fraction": "1.05", "count": "20", "mode": "clip", "symbol": "BIL",
                "switch": "true"}[spec.kind]
        parse(spec.key, good)
        assert (re.fullmatch(pattern, good) and re.fullmatch(pattern, "")) if pattern else good in allowed


def test_the_parameters_reach_the_strategy_function_only():
    wired = {spec.env: {"Ref": spec.parameter} for spec in SPECS}
    for service in cfn.SERVICES:
        _, fn = cfn.function_of(service)
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        mine = {k: v for k, v in env.items() if k in wired}
        assert mine == (wired if service == "strategy" else {}), service


def test_a_stage_parameter_overrides_the_portfolio_files_limit_and_says_so():
    template = load_template(parameters={"MaxPositionWeight": "0.5", "PositionCap": "clip"})
    settings = StrategySettings.from_env(dict(template.function_for("strategy").environment))
    file_limits = Limits(max_position_weight=Decimal("0.75"), sources={"max_position_weight": "portfolio.toml:7"})
    limits = settings.limits_for(file_limits)
    assert (limits.max_position_weight, limits.position_cap) == (Decimal("0.5"), "clip")
    assert limits.source("max_position_weight") == "template parameter MaxPositionWeight " \
                                                   "(ALCHEMISER_MAX_POSITION_WEIGHT)"
    unset = StrategySettings.from_env(dict(load_template().function_for("strategy").environment))
    assert unset.limits_for(file_limits) == file_limits
