"""Forms parse to the tree they mean; mistakes are located and explained."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.strategy.language import Symphony
from services.strategy.language.nodes import (
    Asset,
    Filter,
    Group,
    If,
    IndicatorCall,
    Keyword,
    Number,
    Pos,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
)
from tests.unit.strategy.language.conftest import error_of, strategy

BRIEF_EXAMPLE = """(defsymphony "TQQQ or not" {:asset-class "EQUITIES", :rebalance-threshold 0.05}
  (weight-equal
    [(if (> (current-price "SPY") (moving-average-price "SPY" {:window 200}))
       [(if (> (rsi "TQQQ" {:window 10}) 79)
          [(asset "UVXY" "ProShares Ultra VIX Short-Term Futures ETF")]
          [(weight-specified 0.6 (asset "TQQQ" nil) 0.4 [(asset "BIL" nil)])])]
       [(filter (rsi {:window 7}) (select-bottom 2)
          [(asset "SOXL" nil) (asset "TECL" nil)
           (group "Bonds" [(weight-equal [(asset "TLT" nil) (asset "BND" nil)])])])])]))
"""


def test_brief_example_parses_into_the_tree_it_describes() -> None:
    from services.strategy.language import parse_text

    s = parse_text(BRIEF_EXAMPLE, "tqqq.clj")
    assert s.name == "TQQQ or not" and s.source_file == "tqqq.clj"
    assert s.rebalance_threshold == Decimal("0.05")
    assert dict(s.options) == {"asset-class": "EQUITIES", "rebalance-threshold": Decimal("0.05")}
    assert s.symbols == ("BIL", "BND", "SOXL", "SPY", "TECL", "TLT", "TQQQ", "UVXY")
    assert isinstance(s.body, WeightEqual) and len(s.body.children) == 1
    outer = s.body.children[0]
    assert isinstance(outer, If) and outer.pos == Pos(3, 6)
    cond = outer.condition
    assert cond.op == ">" and isinstance(cond.left, IndicatorCall) and isinstance(cond.right, IndicatorCall)
    assert (cond.left.name, cond.left.symbol, cond.left.window) == ("current-price", "SPY", None)
    assert (cond.right.name, cond.right.symbol, cond.right.window) == ("moving-average-price", "SPY", 200)
    inner = outer.then[0]
    assert isinstance(inner, If) and isinstance(inner.condition.right, Number)
    assert inner.condition.right.value == 79
    uvxy = inner.then[0]
    assert isinstance(uvxy, Asset) and uvxy.name == "ProShares Ultra VIX Short-Term Futures ETF"
    spec = inner.otherwise[0]
    assert isinstance(spec, WeightSpecified) and spec.weights == (Decimal("0.6"), Decimal("0.4"))
    assert [c.ticker for c in spec.children if isinstance(c, Asset)] == ["TQQQ", "BIL"]
    filt = outer.otherwise[0]
    assert isinstance(filt, Filter) and (filt.select, filt.count) == ("bottom", 2)
    assert (filt.indicator.name, filt.indicator.symbol, filt.indicator.window) == ("rsi", None, 7)
    assert isinstance(filt.children[2], Group) and filt.children[2].name == "Bonds"


def test_lookback_covers_the_longest_indicator_plus_rsi_warm_up() -> None:
    s = strategy('(if (> (rsi "SPY" {:window 10}) 50) [(asset "A")] [(asset "B")])')
    assert s.lookback_days == 11 + 132  # n + 1 closes, then (1 - 1/10)^132 < 1e-6
    s = strategy('(if (> (moving-average-price "SPY" {:window 200}) 1) [(asset "A")] [(asset "B")])')
    assert s.lookback_days == 200


def test_lookback_adds_a_ranked_groups_own_needs_to_the_indicator_span() -> None:
    s = strategy(
        "(filter (cumulative-return {:window 20}) (select-top 1) "
        '[(group "G" [(if (> (moving-average-price "X" {:window 50}) 1) [(asset "A")] [(asset "B")])]) '
        '(asset "C")])'
    )
    assert s.lookback_days == 50 + 21 - 1


def test_composer_liberties_are_accepted() -> None:
    s = strategy(
        '(weight-specified 1 (if (> (rsi "SPY" 10) 50) (asset "EQUITIES::SPY//USD") '
        '(filter (standard-deviation-return 5) (select-top 1) [(asset "A") (asset "B")])))'
    )
    assert isinstance(s.body, WeightSpecified)
    branch = s.body.children[0]
    assert isinstance(branch, If)
    assert isinstance(branch.condition.left, IndicatorCall) and branch.condition.left.window == 10
    assert isinstance(branch.then[0], Asset) and branch.then[0].ticker == "SPY" and branch.then[0].name is None
    assert isinstance(branch.otherwise[0], Filter) and branch.otherwise[0].indicator.name == "stdev-return"


def test_options_may_be_omitted_and_a_body_vector_is_held_equally() -> None:
    from services.strategy.language import parse_text

    s = parse_text('(defsymphony "x" [(asset "A") (asset "B")])')
    assert dict(s.options) == {} and s.rebalance_threshold is None
    assert isinstance(s.body, WeightEqual) and len(s.body.children) == 2


def test_option_values_keep_their_edn_types() -> None:
    s = strategy('(asset "A")', '{:rebalance-frequency :daily, :tags ["a" 1], :flag true, :none nil, :m {:k 2}}')
    assert s.options["rebalance-frequency"] == Keyword("daily")
    assert s.options["tags"] == ("a", Decimal(1))
    assert s.options["flag"] is True and s.options["none"] is None
    assert dict(s.options["m"]) == {Keyword("k"): Decimal(2)}


def test_inverse_volatility_window_and_current_price_without_window() -> None:
    s = strategy('(weight-inverse-volatility {:window 20} [(asset "A") (asset "B")])')
    assert isinstance(s.body, WeightInverseVolatility) and s.body.window == 20
    s = strategy('(if (> (current-price "A" {:window 3}) 1) [(asset "A")] [(asset "B")])')
    assert isinstance(s.body, If) and isinstance(s.body.condition.left, IndicatorCall)
    assert s.body.condition.left.window is None


def test_symphony_equality_is_structural_and_ignores_file_and_positions() -> None:
    a = strategy('(weight-equal [(asset "A") (asset "B")])')
    from services.strategy.language import parse_text

    b = parse_text('(defsymphony "test" {}\n\n\n   (weight-equal\n [(asset "A")\n (asset "B")]))', "other.clj")
    c = strategy('(weight-equal [(asset "B") (asset "A")])')
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert isinstance(a, Symphony)


# --- errors -------------------------------------------------------------------------------------


def _body_error(body: str, options: str = "{}") -> tuple[int, int, str]:
    exc = error_of(f'(defsymphony "x" {options}\n  {body})')
    assert exc.file == "bad.clj"
    return exc.line, exc.column, exc.message


def test_unknown_form_suggests_the_closest_name() -> None:
    line, col, message = _body_error('(weight-equl [(asset "SPY")])')
    assert (line, col) == (2, 4)
    assert message.startswith("unknown form 'weight-equl' (did you mean 'weight-equal'?); expected one of asset,")


def test_unknown_indicator_in_a_condition_suggests_the_closest_name() -> None:
    line, col, message = _body_error('(if (> (rsii "SPY" {:window 10}) 70) [(asset "A")] [(asset "B")])')
    assert (line, col) == (2, 10)
    assert message.startswith("unknown indicator 'rsii' (did you mean 'rsi'?)")


def test_indicator_used_as_a_node_is_explained() -> None:
    line, col, message = _body_error('(weight-equal [(rsi "SPY" {:window 10})])')
    assert (line, col) == (2, 19)
    assert message.startswith("rsi is an indicator, not a node")


@pytest.mark.parametrize(
    ("body", "where", "wording"),
    [
        ('(asset "A" "name" "extra")', (2, 3), "asset takes a ticker and an optional name, found 3 arguments"),
        ("(asset)", (2, 3), "asset takes a ticker and an optional name, found 0 arguments"),
        (
            '(if (> (rsi "A" {:window 2}) 1) [(asset "A")])',
            (2, 3),
            "if takes a condition, a then-branch and an else-branch, found 2 arguments",
        ),
        ('(weight-specified 0.5 (asset "A") 0.5)', (2, 3), "weight-specified takes weight/child pairs, found 3"),
        (
            '(filter (rsi {:window 2}) [(asset "A")])',
            (2, 3),
            "filter takes an indicator, a selection and candidates, found 2",
        ),
        ('(group "G")', (2, 3), "group takes a name and its children, found 1 argument"),
        ("(weight-inverse-volatility 10)", (2, 3), "weight-inverse-volatility takes a window and its children"),
        (
            '(if (> (rsi "A" {:window 2})) [(asset "A")] [(asset "B")])',
            (2, 7),
            "comparison > takes exactly 2 operands, found 1",
        ),
        ('(filter (rsi {:window 2}) (select-top 1 2) [(asset "A")])', (2, 29), "select-top takes exactly one count"),
    ],
)
def test_wrong_arity_is_named_with_what_was_expected(body: str, where: tuple[int, int], wording: str) -> None:
    line, col, message = _body_error(body)
    assert (line, col) == where
    assert wording in message


@pytest.mark.parametrize(
    ("body", "where", "wording"),
    [
        (
            '(if (> (rsi "A" {:window 10.5}) 1) [(asset "A")] [(asset "B")])',
            (2, 28),
            "the window of rsi must be a whole number from 1 to 5000, found 10.5",
        ),
        ('(if (> (rsi "A" {:window 0}) 1) [(asset "A")] [(asset "B")])', (2, 28), "from 1 to 5000, found 0"),
        (
            '(if (> (rsi "A" {:window "ten"}) 1) [(asset "A")] [(asset "B")])',
            (2, 28),
            'expected the window of rsi as a number, found the string "ten"',
        ),
        (
            '(if (> (rsi "A" {:days 3}) 1) [(asset "A")] [(asset "B")])',
            (2, 20),
            "unknown option the keyword :days for rsi",
        ),
        ("(asset SPY)", (2, 10), "expected a ticker as a string in double quotes, found the symbol SPY"),
        ('(asset "S P Y")', (2, 10), "invalid ticker 'S P Y'"),
        ('(if (> (rsi {:window 3}) 1) [(asset "A")] [(asset "B")])', (2, 10), "rsi needs a ticker"),
        (
            '(if (=> (rsi "A" {:window 3}) 1) [(asset "A")] [(asset "B")])',
            (2, 7),
            "expected a comparison (> < >= <= =)",
        ),
        (
            '(if (> (rsi "A" {:window 3}) "70") [(asset "A")] [(asset "B")])',
            (2, 32),
            'expected an indicator such as (rsi "SPY" {:window 10}) or a number',
        ),
        (
            '(filter (rsi "A" {:window 2}) (select-top 1) [(asset "A")])',
            (2, 16),
            "a filter's indicator takes no ticker",
        ),
        (
            '(filter (rsi {:window 2}) (select-top 0) [(asset "A")])',
            (2, 41),
            "the count of select-top must be a whole number",
        ),
        ('(filter (rsi {:window 2}) (pick 1) [(asset "A")])', (2, 29), "expected (select-top N) or (select-bottom N)"),
        ('(weight-equal [(asset "A") 3])', (2, 30), 'expected a node such as (asset "SPY") or (if ...)'),
        ("(weight-equal [])", (2, 17), "weight-equal is empty"),
        ('(weight-specified "half" (asset "A"))', (2, 21), "expected a weight as a number"),
        ('(group 7 [(asset "A")])', (2, 10), "expected the group's name as a string"),
        (
            '(weight-inverse-volatility 1 [(asset "A") (asset "B")])',
            (2, 3),
            "weight-inverse-volatility needs a window from 2 to 5000",
        ),
    ],
)
def test_wrong_argument_types_are_named(body: str, where: tuple[int, int], wording: str) -> None:
    line, col, message = _body_error(body)
    assert (line, col) == where
    assert wording in message


def test_weight_specified_weights_must_sum_to_one() -> None:
    line, col, message = _body_error('(weight-specified 0.5 (asset "A") 0.4 (asset "B"))')
    assert (line, col) == (2, 3)
    assert message == "the weights of weight-specified must sum to 1 (within 1e-9), but 0.5 + 0.4 = 0.9"
    _, _, message = _body_error('(weight-specified 60 (asset "A") 40 (asset "B"))')
    assert message.endswith("= 100; write fractions such as 0.6, not percentages")
    _, _, message = _body_error('(weight-specified 1.5 (asset "A") -0.5 (asset "B"))')
    assert message == "weight-specified weights cannot be negative"


def test_filter_over_a_group_rejects_a_price_indicator() -> None:
    line, col, message = _body_error('(filter (current-price) (select-top 1) [(asset "A") (group "G" [(asset "B")])])')
    assert (line, col) == (2, 11)
    assert message.startswith("this filter ranks a group (line 2) by current-price, but a group has no price")


def test_header_options_are_validated() -> None:
    exc = error_of('(defsymphony "x" {:rebalance-threshold 5}\n (asset "A"))')
    assert (exc.line, exc.column) == (1, 18)
    assert ":rebalance-threshold must be a number between 0 and 1" in exc.message
    exc = error_of('(defsymphony "x" {:asset-class "CRYPTO"} (asset "A"))')
    assert ":asset-class 'CRYPTO' is not supported" in exc.message
    exc = error_of('(defsymphony "x" {"asset-class" "EQUITIES"} (asset "A"))')
    assert (exc.line, exc.column) == (1, 19) and "expected an option keyword" in exc.message
    exc = error_of('(defsymphony "x" {:a 1 :a 2} (asset "A"))')
    assert "option :a is given twice" in exc.message


def test_file_level_structure_is_checked() -> None:
    exc = error_of('(defsymphony "x" {} (asset "A"))\n(defsymphony "y" {} (asset "B"))')
    assert (exc.line, exc.column) == (2, 1) and "expected only one defsymphony per file" in exc.message
    exc = error_of('(weight-equal [(asset "A")])')
    assert (exc.line, exc.column) == (1, 1) and "expected (defsymphony" in exc.message
    exc = error_of('(defsymphony "x" {})')
    assert "defsymphony needs a body" in exc.message
    exc = error_of('(defsymphony x {} (asset "A"))')
    assert (exc.line, exc.column) == (1, 14) and "expected the symphony's name as a string" in exc.message
    exc = error_of('(defsymphony "x" {} (asset "A") (defsymphony "y" {} (asset "B")))')
    assert "defsymphony can only appear once" in exc.message
