"""Evaluation semantics: branches, selection, weighting, group replay, Decimal weights."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from services.strategy.language import IndicatorCache, evaluate
from services.strategy.language.indicators import compute
from tests.unit.strategy.language.conftest import history, random_history, strategy

UP = [100.0 + i for i in range(30)]
DOWN = [200.0 - 2 * i for i in range(30)]
FLATISH = [100.0 + (i % 2) * 0.5 for i in range(30)]


def _weights(body: str, closes: dict[str, list[float]]) -> dict[str, Decimal]:
    return evaluate(strategy(body), history(closes)).weights


def test_if_takes_the_then_branch_when_the_condition_holds_on_the_last_day() -> None:
    body = '(if (> (current-price "A") (moving-average-price "A" {:window 5})) [(asset "A")] [(asset "B")])'
    assert _weights(body, {"A": UP, "B": DOWN}) == {"A": Decimal(1)}
    assert _weights(body, {"A": DOWN, "B": UP}) == {"B": Decimal(1)}


@pytest.mark.parametrize(("op", "then"), [(">", False), (">=", True), ("<", False), ("<=", True), ("=", True)])
def test_comparators_on_an_exact_tie(op: str, then: bool) -> None:
    body = f'(if ({op} (current-price "A") 129) [(asset "A")] [(asset "B")])'
    assert _weights(body, {"A": UP, "B": DOWN}) == ({"A": Decimal(1)} if then else {"B": Decimal(1)})


def test_branch_vector_of_several_nodes_is_held_equally() -> None:
    body = '(if (> 2 1) [(asset "A") (asset "B") (asset "C")] [(asset "A")])'
    weights = _weights(body, {"A": UP, "B": UP, "C": UP})
    assert weights == {"A": Decimal("0.333333334"), "B": Decimal("0.333333333"), "C": Decimal("0.333333333")}
    assert sum(weights.values()) == 1


def test_weight_specified_and_nested_weight_equal_multiply_down_the_tree() -> None:
    body = '(weight-specified 0.6 (asset "A") 0.4 (group "G" [(weight-equal [(asset "B") (asset "A")])]))'
    assert _weights(body, {"A": UP, "B": UP}) == {"A": Decimal("0.8"), "B": Decimal("0.2")}


def test_weight_specified_child_with_zero_weight_is_not_evaluated() -> None:
    body = '(weight-specified 1 (asset "A") 0 (if (> (rsi "B" {:window 50}) 1) [(asset "B")] [(asset "B")]))'
    assert _weights(body, {"A": UP, "B": UP}) == {"A": Decimal(1)}


def test_filter_select_top_holds_the_highest_scores_equally() -> None:
    body = '(filter (cumulative-return {:window 5}) (select-top 2) [(asset "A") (asset "B") (asset "C")])'
    assert _weights(body, {"A": UP, "B": DOWN, "C": [2 * p for p in UP[:25]] + [2 * p * 1.1 for p in UP[25:]]}) == {
        "A": Decimal("0.5"),
        "C": Decimal("0.5"),
    }


def test_filter_select_bottom_holds_the_lowest_scores() -> None:
    body = '(filter (cumulative-return {:window 5}) (select-bottom 1) [(asset "A") (asset "B")])'
    assert _weights(body, {"A": UP, "B": DOWN}) == {"B": Decimal(1)}


def test_filter_ties_go_to_the_candidate_written_first() -> None:
    body_ab = '(filter (cumulative-return {:window 5}) (select-top 1) [(asset "A") (asset "B")])'
    body_ba = '(filter (cumulative-return {:window 5}) (select-top 1) [(asset "B") (asset "A")])'
    same = {"A": UP, "B": [2 * p for p in UP]}  # identical returns
    assert _weights(body_ab, same) == {"A": Decimal(1)}
    assert _weights(body_ba, same) == {"B": Decimal(1)}
    bottom = body_ba.replace("select-top", "select-bottom")
    assert _weights(bottom, same) == {"B": Decimal(1)}


def test_filter_with_fewer_candidates_than_requested_holds_them_all_equally() -> None:
    body = '(filter (rsi {:window 3}) (select-top 5) [(asset "A") (asset "B")])'
    assert _weights(body, {"A": UP, "B": DOWN}) == {"A": Decimal("0.5"), "B": Decimal("0.5")}


def test_inverse_volatility_weights_are_proportional_to_one_over_stdev_return() -> None:
    h = random_history(["A", "B", "C"], 80, seed=5)
    s = strategy('(weight-inverse-volatility 20 [(asset "A") (asset "B") (asset "C")])')
    weights = evaluate(s, h).weights
    vols = {sym: compute("stdev-return", h.closes[sym], 20)[-1] for sym in "ABC"}
    total = sum(1 / v for v in vols.values())
    for sym in "ABC":
        assert float(weights[sym]) == pytest.approx((1 / vols[sym]) / total, abs=1e-9)


def _group_nav(h_closes: dict[str, np.ndarray], decide: list[str], days: int) -> list[float]:
    """Reference replay: the group holds `decide[d-1]` from the close of d-1 to the close of d."""
    nav = [1.0]
    for d in range(len(h_closes["A"]) - days, len(h_closes["A"])):
        held = decide[d - 1]
        nav.append(nav[-1] * h_closes[held][d] / h_closes[held][d - 1])
    return nav


def test_group_is_scored_by_its_own_daily_replayed_portfolio_return() -> None:
    # Group G switches between A and B on the 3-day trend of X; it is ranked against asset C
    # by its 10-day cumulative return, replayed from the decisions it made each previous day.
    h = random_history(["A", "B", "C", "X"], 60, seed=9)
    body = (
        "(filter (cumulative-return {:window 10}) (select-top 1) "
        '[(group "G" [(if (> (current-price "X") (moving-average-price "X" {:window 3})) '
        '[(asset "A")] [(asset "B")])]) (asset "C")])'
    )
    result = evaluate(strategy(body), h)
    x = h.closes["X"]
    decide = ["A" if t >= 2 and x[t] > np.mean(x[t - 2 : t + 1]) else "B" for t in range(60)]
    nav = _group_nav(h.closes, decide, 10)
    expected_group = (nav[-1] / nav[0] - 1) * 100
    scores = dict(result.explanation.find("filter")[0].facts["scores"])
    assert scores["group 'G'"] == pytest.approx(expected_group, rel=1e-9)
    c = h.closes["C"]
    assert scores["C"] == pytest.approx((c[-1] / c[-11] - 1) * 100, rel=1e-9)
    winner = "G" if expected_group >= scores["C"] else "C"
    assert set(result.weights) == ({decide[-1]} if winner == "G" else {"C"})


def test_weights_are_decimal_non_negative_nine_places_and_sum_to_exactly_one() -> None:
    h = random_history(["A", "B", "C"], 80, seed=1)
    s = strategy('(weight-inverse-volatility 7 [(asset "A") (asset "B") (weight-equal [(asset "C") (asset "A")])])')
    weights = evaluate(s, h).weights
    assert all(isinstance(w, Decimal) and w > 0 for w in weights.values())
    assert all(w.as_tuple().exponent >= -9 for w in weights.values())  # type: ignore[operator]
    assert sum(weights.values()) == Decimal(1)
    assert list(weights) == sorted(weights)


def test_the_cache_computes_each_indicator_once_across_nodes_and_strategies() -> None:
    h = random_history(["SPY", "A", "B"], 300, seed=2)
    cond = '(> (rsi "SPY" {:window 10}) 0)'
    one = strategy(f'(if {cond} [(if {cond} [(asset "A")] [(asset "B")])] [(asset "B")])')
    two = strategy(
        f'(weight-equal [(if {cond} [(asset "B")] [(asset "A")]) '
        '(filter (rsi {:window 10}) (select-top 1) [(asset "SPY") (asset "A")])])'
    )
    cache = IndicatorCache()
    evaluate(one, h, cache)
    evaluate(two, h, cache)
    assert cache.computations[("rsi", "SPY", 10)] == 1
    assert all(count == 1 for count in cache.computations.values())
    assert cache.hits >= 3


def test_group_return_series_is_cached_per_group_node_for_the_run() -> None:
    h = random_history(["A", "B", "C"], 100, seed=4)
    s = strategy('(filter (rsi {:window 5}) (select-top 1) [(group "G" [(asset "A") (asset "B")]) (asset "C")])')
    cache = IndicatorCache()
    evaluate(s, h, cache)
    group = s.body.children[0]  # type: ignore[union-attr]
    first = cache.node_returns[group]
    evaluate(s, h, cache)
    assert cache.node_returns[group] is first


def test_a_cache_refuses_a_second_history() -> None:
    cache = IndicatorCache(random_history(["A"], 10))
    with pytest.raises(ValueError, match="another PriceHistory"):
        evaluate(strategy('(asset "A")'), random_history(["A"], 10), cache)


def test_evaluation_day_is_the_last_day_of_the_history() -> None:
    h = random_history(["A"], 10)
    result = evaluate(strategy('(asset "A")'), h)
    assert result.as_of == h.as_of and str(h.dates[-1]) in result.render()
