"""One loader: the portfolio file's [limits], ALCHEMISER_<KEY>, flags; every bad value named with where."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.limits.loader import LimitsError, key_lines, read_file, resolve
from shared.limits.model import KEYS, SPECS, Limits, LimitValueError, parse
from shared.limits.overrides import LimitOverrides


def portfolio(tmp_path, limits: str):
    path = tmp_path / "portfolio.toml"
    path.write_text('[[strategy]]\nname = "a"\nfile = "a.clj"\nallocation = "1"\n\n' + limits, encoding="utf-8")
    return path


def test_a_file_without_limits_gives_the_defaults(tmp_path):
    assert read_file(portfolio(tmp_path, "")) == Limits()


def test_the_limits_table_sets_values_each_with_its_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = portfolio(tmp_path, '[limits]\nmax_position_weight = 0.75  # a cap\nposition_cap = "clip"\n'
                                'cash_symbol = "bil"\nmax_orders_per_run = 20\n')
    limits = read_file(path)
    assert (limits.max_position_weight, limits.position_cap, limits.cash_symbol, limits.max_orders_per_run) == (
        D("0.75"), "clip", "BIL", 20)
    assert limits.sources == {"max_position_weight": "portfolio.toml:7", "position_cap": "portfolio.toml:8",
                              "cash_symbol": "portfolio.toml:9", "max_orders_per_run": "portfolio.toml:10"}
    assert limits.source("max_price_move") == "default"


@pytest.mark.parametrize("line,expected", [
    ("max_position_weight = -0.5", "must be greater than 0"),
    ("max_position_weight = nan", "must be a finite number"),
    ('max_position_weight = "1.5"', "at most 1 (100%)"),
    ("max_order_equity_fraction = 0", "must be greater than 0"),
    ("max_orders_per_run = 2.5", "whole number"),
    ('position_cap = "trim"', '"refuse" or "clip"'),
    ("max_postion_weight = 0.5", "unknown limit"),
])
def test_an_out_of_range_value_names_the_key_and_file_line(tmp_path, monkeypatch, line, expected):
    monkeypatch.chdir(tmp_path)
    path = portfolio(tmp_path, f"[limits]\nmax_turnover_equity_fraction = 1\n{line}\n")
    with pytest.raises(LimitsError) as caught:
        read_file(path)
    assert str(caught.value).startswith("portfolio.toml:8: [limits] ")
    assert expected in str(caught.value)


def test_lines_are_found_for_dotted_and_inline_tables():
    assert key_lines('x = 1\nlimits.max_position_weight = 0.5\n') == {"max_position_weight": 2}
    assert key_lines('limits = { position_cap = "clip", max_orders_per_run = 3 }\n') == {
        "position_cap": 1, "max_orders_per_run": 1}
    assert key_lines('[[strategy]]\nmax_position_weight = 1\n[limits]\nmax_position_weight = 2\n') == {
        "max_position_weight": 4}


def test_environment_then_flags_override_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = portfolio(tmp_path, "[limits]\nmax_position_weight = 0.75\nmax_orders_per_run = 20\n")
    limits = resolve(path, env={"ALCHEMISER_MAX_POSITION_WEIGHT": "0.9", "ALCHEMISER_MAX_PRICE_MOVE": ""},
                     flags={"max_position_weight": "1", "position_cap": "clip"})
    assert (limits.max_position_weight, limits.position_cap, limits.max_orders_per_run) == (D(1), "clip", 20)
    assert limits.sources == {"max_position_weight": "--max-position-weight", "position_cap": "--position-cap",
                              "max_orders_per_run": "portfolio.toml:8"}
    only_env = resolve(path, env={"ALCHEMISER_MAX_POSITION_WEIGHT": "0.9"})
    assert only_env.max_position_weight == D("0.9")
    assert only_env.source("max_position_weight") == "ALCHEMISER_MAX_POSITION_WEIGHT"


def test_a_bad_override_names_the_variable_or_the_flag(tmp_path):
    with pytest.raises(LimitsError, match=r"^ALCHEMISER_MAX_POSITION_WEIGHT: 2: is a weight"):
        resolve(None, env={"ALCHEMISER_MAX_POSITION_WEIGHT": "2"})
    with pytest.raises(LimitsError, match=r"^--max-orders-per-run: 0: must be at least 1"):
        resolve(None, env={}, flags={"max_orders_per_run": "0"})


def test_the_settings_mixin_has_one_field_per_limit_and_labels_deployed_overrides():
    assert [f for f in LimitOverrides.model_fields if f != "limits_set_by"] == list(KEYS)
    overrides = LimitOverrides(max_position_weight="0.6")
    deployed = overrides.with_overrides(Limits(), deployed=True)
    assert deployed.max_position_weight == D("0.6")
    assert deployed.source("max_position_weight") == "template parameter MaxPositionWeight " \
                                                     "(ALCHEMISER_MAX_POSITION_WEIGHT)"
    local = LimitOverrides(max_position_weight="0.6", limits_set_by={"max_position_weight": "--max-position-weight"})
    assert local.with_overrides(Limits(), deployed=False).source("max_position_weight") == "--max-position-weight"
    with pytest.raises(ValueError, match="at most 1"):
        LimitOverrides(max_position_weight="1.01")


def test_limits_survive_a_json_round_trip_exactly():
    limits = Limits(max_position_weight=D("0.333333"), position_cap="clip", cash_symbol="SGOV",
                    sources={"max_position_weight": "p.toml:3"})
    assert Limits.model_validate_json(limits.model_dump_json()) == limits


@given(st.sampled_from(SPECS), st.one_of(st.decimals(allow_nan=True, allow_infinity=True), st.integers(),
                                         st.text(max_size=6), st.none(), st.booleans()))
def test_parse_either_returns_an_in_range_value_or_says_why(spec, raw):
    try:
        value = parse(spec.key, raw)
    except LimitValueError as exc:
        assert exc.key == spec.key and exc.detail
        return
    if spec.kind in ("weight", "fraction"):
        assert value.is_finite() and value > 0 and (spec.kind == "fraction" or value <= 1)
    elif spec.kind == "count":
        assert isinstance(value, int) and value >= 1
    elif spec.kind == "mode":
        assert value in ("refuse", "clip")
