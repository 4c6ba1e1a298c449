"""Composer's own spellings and habits: float-noise weights, aliases, empty blocks, duplicate candidates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.strategy.language import evaluate, parse_text, to_text
from services.strategy.language.analysis import normalised_weights
from services.strategy.language.nodes import Asset, Filter, WeightInverseVolatility, WeightSpecified
from tests.unit.strategy.language.conftest import error_of, history, random_history, strategy


def test_composers_float_noise_weights_are_accepted_and_normalised_exactly():
    s = strategy('(weight-specified 0.8332999999999999 (asset "SPY" nil) 0.16670000000000001 (asset "BIL" nil))')
    node = s.body
    assert isinstance(node, WeightSpecified)
    assert sum(node.weights, Decimal(0)) == 1
    assert abs(node.weights[0] - Decimal("0.8333")) < Decimal("1e-15")
    result = evaluate(s, random_history(["SPY", "BIL"], 30))
    assert result.weights == {"SPY": Decimal("0.833300000"), "BIL": Decimal("0.166700000")}


def test_weights_further_than_1e9_from_one_stay_an_error_with_file_line_col():
    err = error_of('(defsymphony "x" {}\n  (weight-specified 0.6 (asset "SPY") 0.3999999 (asset "BIL")))', "w.clj")
    assert (err.file, err.line, err.column) == ("w.clj", 2, 3)
    assert "must sum to 1 (within 1e-9)" in err.message


def test_normalisation_keeps_exact_sums_and_leaves_other_sums_alone():
    exact = (Decimal("0.6"), Decimal("0.4"))
    assert normalised_weights(exact) is exact
    far = (Decimal("0.6"), Decimal("0.3"))
    assert normalised_weights(far) is far
    thirds = normalised_weights((Decimal("0.3333333333"), Decimal("0.3333333333"), Decimal("0.3333333334")))
    assert sum(thirds, Decimal(0)) == 1


def test_weight_inverse_vol_and_the_cash_spellings_are_composers_aliases():
    s = strategy('(weight-inverse-vol 10 [(asset "SPY") (asset "TLT")])')
    assert isinstance(s.body, WeightInverseVolatility) and s.body.window == 10
    assert "(weight-inverse-volatility 10" in to_text(s)
    assert strategy('(weight-cash-equal [(asset "SPY") (asset "TLT")])') == strategy(
        '(weight-equal [(asset "SPY") (asset "TLT")])')
    assert strategy('(weight-cash-specified 0.5 (asset "SPY") 0.5 (asset "TLT"))') == strategy(
        '(weight-specified 0.5 (asset "SPY") 0.5 (asset "TLT"))')


def test_an_empty_block_is_cash_held_as_bil_and_prints_back_as_empty():
    s = strategy('(if (> (current-price "SPY") 1000000) [(asset "SPY")] [(empty)])')
    assert "BIL" in s.symbols
    result = evaluate(s, random_history(["SPY", "BIL"], 30))
    assert result.weights == {"BIL": Decimal(1)}
    assert "empty (cash): held as BIL" in result.render()
    assert "[(empty)]" in to_text(s)
    assert parse_text(to_text(s)) == s
    assert "empty takes no arguments" in error_of('(defsymphony "x" {} (empty "SPY"))').message


def test_duplicate_filter_candidates_are_counted_once():
    s = strategy('(filter (cumulative-return {:window 1}) (select-top 2)'
                 ' [(asset "SPXS") (asset "SPXS" "Direxion") (asset "SQQQ")])')
    node = s.body
    assert isinstance(node, Filter)
    assert [c.ticker for c in node.children if isinstance(c, Asset)] == ["SPXS", "SQQQ"]
    assert node.duplicates == 1
    # SPXS rises most; counted twice it would take both places and hold 100 %
    h = history({"SPXS": [10, 12], "SQQQ": [10, 11]})
    result = evaluate(s, h)
    assert result.weights == {"SPXS": Decimal("0.5"), "SQQQ": Decimal("0.5")}
    assert "1 duplicate candidate counted once" in result.render()


def test_identical_group_candidates_are_deduplicated_but_different_ones_are_not():
    group = '(group "g" [(weight-equal [(asset "SPY") (asset "TLT")])])'
    other = '(group "g" [(weight-equal [(asset "SPY") (asset "GLD")])])'
    s = strategy(f'(filter (cumulative-return {{:window 5}}) (select-top 2) [{group} {group} {other}])')
    assert isinstance(s.body, Filter) and len(s.body.children) == 2


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly", "quarterly", "yearly", "none"])
def test_every_composer_rebalance_frequency_is_read(frequency):
    assert strategy('(asset "SPY")', f"{{:rebalance-frequency :{frequency}}}").rebalance_frequency == frequency
