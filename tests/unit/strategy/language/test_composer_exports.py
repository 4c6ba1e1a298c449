"""Composer text as its editor and API export it: the Def tab, weight-specified vectors, EQUITIES::
tickers, ##NaN, windows as strings, the PPO and its signal (also wrapped as `unimplemented`), and
the boolean operators Composer's language does not have."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import numpy as np
import pytest

from services.strategy.language import evaluate, parse_text, to_text
from services.strategy.language.composer_json import parse_score, to_score
from services.strategy.language.indicators import compute
from services.strategy.language.nodes import If, IndicatorCall, WeightSpecified
from tests.unit.strategy.language.conftest import error_of, random_history

WITH_PARENTHESES = '''(defsymphony "Def tab" {:asset-class "EQUITIES", :rebalance-frequency :daily}
  (weight-specified 0.6 (asset "SPY" "SPDR S&P 500 ETF Trust")
                    0.4 (if (> (rsi "QQQ" {:window 10}) 70) [(asset "BIL")] [(asset "QQQ")])))
'''

DEF_TAB = '''defsymphony
 "Def tab"
 {:asset-class "EQUITIES", :rebalance-frequency :daily}
 (weight-specified
  [0.6 0.4]
  [(asset "EQUITIES::SPY//USD" "SPDR S&P 500 ETF Trust")
   (if (> (rsi "EQUITIES::QQQ//USD" {:window "10"}) 70)
    [(asset "EQUITIES::BIL//USD")]
    [(asset "EQUITIES::QQQ//USD")])])
'''


def test_the_def_tab_text_reads_as_the_same_symphony():
    exported, written = parse_text(DEF_TAB, "def.clj"), parse_text(WITH_PARENTHESES, "w.clj")
    assert exported == written
    assert exported.symbols == ("BIL", "QQQ", "SPY")
    assert (exported.pos.line, exported.pos.column) == (1, 1)
    assert isinstance(exported.body, WeightSpecified) and (exported.body.pos.line, exported.body.pos.column) == (4, 2)
    h = random_history(["SPY", "QQQ", "BIL"], 60, seed=2)
    assert evaluate(exported, h).weights == evaluate(written, h).weights


def test_weight_specified_takes_a_vector_of_weights_with_children_in_a_vector_or_bare():
    vector = parse_text('(defsymphony "v" {}\n (weight-specified [0.7 0.3] [(asset "A") [(asset "B") (asset "C")]]))')
    bare = parse_text('(defsymphony "v" {}\n (weight-specified [0.7 0.3] (asset "A") [(asset "B") (asset "C")]))')
    pairs = parse_text('(defsymphony "v" {}\n (weight-specified 0.7 (asset "A") 0.3 [(asset "B") (asset "C")]))')
    assert vector == bare == pairs
    err = error_of('(defsymphony "v" {}\n (weight-specified [0.7 0.3] [(asset "A")]))', "v.clj")
    assert (err.line, err.column) == (2, 2)
    assert err.message.startswith("weight-specified has 2 weights and 1 children")


def test_an_unset_weight_is_refused_as_weight_not_set_where_it_is():
    err = error_of('(defsymphony "n" {}\n  (weight-specified 0.5 (asset "A")\n    ##NaN (asset "B")))', "n.clj")
    assert (err.file, err.line, err.column) == ("n.clj", 3, 5)
    assert err.message.startswith("weight not set (Composer exports a value nobody entered as ##NaN)")
    vector = error_of('defsymphony "n" {}\n (weight-specified [##NaN 0.5] [(asset "A") (asset "B")])', "n.clj")
    assert (vector.line, vector.column) == (2, 21) and vector.message.startswith("weight not set")
    compared = error_of('(defsymphony "n" {}\n (if (> (rsi "A" {:window 5}) ##NaN) [(asset "A")] [(asset "B")]))')
    assert compared.message.startswith("the number compared not set")
    assert "reader macros" not in compared.message


def test_windows_and_counts_written_as_strings_are_the_numbers_they_spell():
    text = '(defsymphony "s" {}\n (filter (rsi {:window "7"}) (select-top "1") [(asset "A") (asset "B")]))'
    assert parse_text(text) == parse_text(text.replace('"7"', "7").replace('"1"', "1"))


PPO = '(percentage-price-oscillator "SPY" {:short-window 12, :long-window 26})'
SIGNAL = '(percentage-price-oscillator-signal "SPY" {:short-window 12, :long-window 26, :smooth-window 9})'


def _if(left: str) -> str:
    return f'(defsymphony "p" {{}}\n (if (> {left} 0) [(asset "QQQ")] [(asset "BIL")]))'


def test_the_ppo_and_its_signal_are_read_printed_and_evaluated_by_the_standard_definition():
    h = random_history(["SPY", "QQQ", "BIL"], 400, seed=4)
    closes = h.closes["SPY"]
    for call in (PPO, SIGNAL):
        symphony = parse_text(_if(call))
        assert isinstance(symphony.body, If)
        left = symphony.body.condition.left
        assert isinstance(left, IndicatorCall) and left.symbol == "SPY"
        assert parse_text(to_text(symphony)) == symphony
        value = evaluate(symphony, h).explanation.find("if")[0].facts["left"]["value"]
        if left.name == "percentage-price-oscillator":
            short, long = compute("exponential-moving-average-price", closes, 12), compute(
                "exponential-moving-average-price", closes, 26)
            assert value == pytest.approx((short[-1] - long[-1]) / long[-1] * 100, rel=1e-12)
        else:
            ppo = compute("percentage-price-oscillator", closes, (12, 26))
            assert value == pytest.approx(compute("exponential-moving-average-price", ppo[25:], 9)[-1], rel=1e-12)
            assert not math.isnan(value)


def test_composers_unimplemented_wrapper_names_the_function_it_wraps():
    wrapped = '((unimplemented :percentage-price-oscillator) "SPY" {:short-window 12, :long-window 26})'
    inside = '(unimplemented :percentage-price-oscillator "SPY" {:short-window 12, :long-window 26})'
    expected = parse_text(_if(PPO))
    assert parse_text(_if(wrapped)) == expected and parse_text(_if(inside)) == expected
    unknown = error_of(_if('((unimplemented :lower-bollinger) "SPY" {:window 20})'))
    assert "unknown indicator 'lower-bollinger'" in unknown.message


def test_the_ppo_needs_its_windows_and_cannot_rank_a_group():
    missing = error_of(_if('(percentage-price-oscillator "SPY" {:short-window 12})'))
    assert "percentage-price-oscillator needs :long-window" in missing.message
    backwards = error_of(_if('(percentage-price-oscillator "SPY" {:short-window 26, :long-window 12})'))
    assert "needs :short-window below :long-window" in backwards.message
    group = error_of('(defsymphony "g" {}\n (filter (percentage-price-oscillator {:short-window 12, :long-window 26})'
                     ' (select-top 1) [(group "G" [(asset "A")]) (asset "B")]))')
    assert "has no price; use a return-based indicator" in group.message


def test_the_ppo_survives_the_json_score_in_fn_params():
    symphony = parse_text(_if(SIGNAL))
    score = to_score(symphony)
    test = score["children"][0]["children"][0]["children"][0]
    assert test["lhs-fn-params"] == {"short-window": 12, "long-window": 26, "smooth-window": 9}
    again = parse_score(json.dumps(score))
    assert isinstance(again.body, If) and isinstance(symphony.body, If)
    assert again.body.condition.left.args == symphony.body.condition.left.args == (12, 26, 9)
    assert again.body.condition.left.name == "percentage-price-oscillator-signal"
    assert parse_score(json.dumps(to_score(again))) == again


@pytest.mark.parametrize(("form", "nested"), [
    ("and", "(if A (if B [then] [else]) [else])"),
    ("or", "(if A [then] (if B [then] [else]))"),
    ("not", "(if A [else] [then])"),
])
def test_boolean_operators_are_refused_with_the_nested_if_that_means_the_same(form: str, nested: str):
    condition = f'({form} (> (rsi "A" {{:window 5}}) 70) (< (rsi "B" {{:window 5}}) 30))'
    err = error_of(f'(defsymphony "b" {{}}\n  (if {condition} [(asset "A")] [(asset "B")]))', "b.clj")
    assert (err.line, err.column) == (2, 7)
    assert err.message.startswith(f"({form} ...) is not part of Composer's language: an if takes one comparison")
    assert nested in err.message


def test_json_scores_with_numbers_written_as_strings_read_as_numbers():
    score = {"step": "root", "name": "strings", "children": [{"step": "wt-cash-specified", "children": [
        {"step": "filter", "sort-by-fn": "relative-strength-index", "sort-by-window-days": "10", "select-fn": "top",
         "select-n": "1", "weight": {"num": "60", "den": "100"},
         "children": [{"step": "asset", "ticker": "EQUITIES::SPY//USD"}, {"step": "asset", "ticker": "QQQ"}]},
        {"step": "if", "weight": {"num": "40", "den": 100}, "children": [
            {"step": "if-child", "is-else-condition?": False, "comparator": "lt", "lhs-fn": "cumulative-return",
             "lhs-val": "SPY", "lhs-window-days": "20", "rhs-fixed-value?": True, "rhs-val": "-2.5",
             "children": [{"step": "asset", "ticker": "BIL"}]},
            {"step": "if-child", "is-else-condition?": True, "children": [
                {"step": "wt-inverse-vol", "window-days": "30", "children": [
                    {"step": "asset", "ticker": "GLD"}, {"step": "asset", "ticker": "TLT"}]}]}]}]}]}
    expected = parse_text('(defsymphony "strings" {}\n (weight-specified 0.6 (filter (rsi {:window 10}) (select-top 1)'
                          ' [(asset "SPY") (asset "QQQ")]) 0.4 (if (< (cumulative-return "SPY" {:window 20}) -2.5)'
                          ' [(asset "BIL")] [(weight-inverse-volatility 30 [(asset "GLD") (asset "TLT")])])))')
    assert parse_score(json.dumps(score)) == expected
    assert isinstance(expected.body, WeightSpecified) and expected.body.weights == (Decimal("0.6"), Decimal("0.4"))
    bad = dict(score, children=[{"step": "wt-cash-equal", "children": [
        {"step": "filter", "sort-by-fn": "relative-strength-index", "sort-by-window-days": "ten", "select-fn": "top",
         "select-n": 1, "children": [{"step": "asset", "ticker": "SPY"}]}]}])
    with pytest.raises(ValueError, match="'sort-by-window-days' must be a whole number of days, got 'ten'"):
        parse_score(json.dumps(bad))
    assert np.isfinite(float(expected.body.weights[0]))
