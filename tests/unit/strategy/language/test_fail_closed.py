"""Missing data stops the evaluation with a located, explained StrategyError, never a guess."""

from __future__ import annotations

import math

import pytest

from services.strategy.language import StrategyError, evaluate
from tests.unit.strategy.language.conftest import history, random_history, strategy

NAN = math.nan
UP = [100.0 + i for i in range(30)]


def _error(body: str, closes: dict[str, list[float]]) -> StrategyError:
    with pytest.raises(StrategyError) as info:
        evaluate(strategy(body), history(closes))
    assert info.value.file == "test.clj"
    return info.value


def test_ticker_without_any_data_fails_even_in_a_branch_not_taken() -> None:
    body = '(if (> (current-price "A") 0) [(asset "A")]\n  [(asset "TYPO")])'
    exc = _error(body, {"A": UP})
    assert (exc.line, exc.column) == (3, 4)
    assert exc.message == ("no price data for ticker 'TYPO' on or before 2020-01-30; check the ticker "
                           "(a young one has no data before its first day)")


def test_ticker_with_only_nan_closes_counts_as_no_data_and_indicator_positions_are_named() -> None:
    exc = _error('(if (> (rsi "GONE" {:window 2}) 1) [(asset "A")] [(asset "A")])', {"A": UP, "GONE": [NAN] * 30})
    assert (exc.line, exc.column) == (2, 10)
    assert "no price data for ticker 'GONE'" in exc.message


def test_not_enough_history_for_an_indicator_says_what_was_needed_and_what_there_was() -> None:
    young = [NAN] * 25 + [10.0, 11.0, 12.0, 13.0, 14.0]
    body = '(if (> (moving-average-price "Y" {:window 10}) 1) [(asset "A")] [(asset "A")])'
    exc = _error(body, {"A": UP, "Y": young})
    assert (exc.line, exc.column) == (2, 10)
    assert exc.message == (
        "not enough history for moving-average-price(Y, 10) on 2020-01-30: it needs 10 "
        "consecutive daily closes, 'Y' has 5"
    )


def test_rsi_needs_window_plus_one_closes() -> None:
    closes = [NAN] * 20 + [float(i) for i in range(1, 11)]
    exc = _error('(if (> (rsi "Y" {:window 10}) 1) [(asset "A")] [(asset "A")])', {"A": UP, "Y": closes})
    assert "it needs 11 consecutive daily closes, 'Y' has 10" in exc.message
    closes[19] = 0.5
    evaluate(strategy('(if (> (rsi "Y" {:window 10}) 1) [(asset "A")] [(asset "A")])'), history({"A": UP, "Y": closes}))


def test_a_gap_in_the_window_makes_the_value_undefined() -> None:
    gappy = [*UP[:25], NAN, *UP[26:]]
    exc = _error('(if (> (cumulative-return "G" {:window 5}) 0) [(asset "A")] [(asset "A")])', {"A": UP, "G": gappy})
    assert "not enough history for cumulative-return(G, 5)" in exc.message and "'G' has 4" in exc.message


def test_an_indicator_on_a_ticker_without_a_close_on_the_evaluation_day_fails() -> None:
    exc = _error('(if (> (current-price "G") 0) [(asset "A")] [(asset "A")])', {"A": UP, "G": [*UP[:29], NAN]})
    assert exc.message == "current-price(G) is undefined on 2020-01-30: 'G' has no close that day"


def test_holding_an_asset_without_a_close_on_the_evaluation_day_fails() -> None:
    exc = _error('(weight-equal [(asset "A") (asset "G")])', {"A": UP, "G": [*UP[:29], NAN]})
    assert (exc.line, exc.column) == (2, 30)
    assert exc.message == "'G' has no close on 2020-01-30, so it cannot be held"


def test_filter_candidate_without_enough_history_fails_instead_of_being_dropped() -> None:
    young = [NAN] * 27 + [1.0, 2.0, 3.0]
    exc = _error(
        '(filter (cumulative-return {:window 5}) (select-top 1) [(asset "A") (asset "Y")])', {"A": UP, "Y": young}
    )
    assert (exc.line, exc.column) == (2, 11)
    assert exc.message.startswith("not enough history for cumulative-return(Y, 5) on 2020-01-30")


GROUP_OR_B = (
    "(filter (cumulative-return {{:window {window}}}) (select-top 1)\n"
    ' [(group "G" [(if (> (rsi "A" {{:window 14}}) 50) [(asset "A")] [(asset "B")])]) (asset "B")])'
)


def test_a_group_counts_as_cash_before_it_can_first_decide_so_its_score_starts_there() -> None:
    """RSI(14) decides from the 15th close on; the group's 20-day window reaches before that: those
    days count as cash (a flat NAV), so the score is the group's return since it started."""
    result = evaluate(strategy(GROUP_OR_B.format(window=20)), history({"A": UP, "B": UP}))
    scores = dict(result.explanation.find("filter")[0].facts["scores"])
    assert scores["group 'G'"] == pytest.approx((UP[29] / UP[14] - 1) * 100, rel=1e-12)
    assert scores["B"] == pytest.approx((UP[29] / UP[9] - 1) * 100, rel=1e-12)
    assert result.weights == {"B": 1}


def test_a_group_window_longer_than_the_history_fails_with_what_it_needs() -> None:
    exc = _error(GROUP_OR_B.format(window=40), {"A": UP, "B": UP})
    assert (exc.line, exc.column) == (2, 11)
    assert exc.message == (
        "not enough history to score group 'G' by cumulative-return(40) on 2020-01-30: "
        "its window needs 40 daily returns, the history holds 29"
    )


MA_OF_Y = (
    "(filter (moving-average-return {:window 10}) (select-top 1)\n"
    ' [(group "G" [(if (> (moving-average-price "Y" {:window 5}) 0) [(asset "A")] [(asset "B")])])'
    ' (asset "B")])'
)


def test_group_replay_failure_is_traced_to_its_root_cause() -> None:
    h = random_history(["A", "B", "Y"], 80, seed=3)
    h.closes["Y"][72] = NAN  # a gap: the group's 5-day average of Y is undefined from the 72nd to the 76th day
    with pytest.raises(StrategyError) as info:
        evaluate(strategy(MA_OF_Y), h)
    exc = info.value
    assert (exc.line, exc.column) == (3, 22)  # the moving-average-price that lacks data
    assert exc.message == (
        "cannot score group 'G' by moving-average-return(10) on 2020-03-20: "
        "replaying the group on 2020-03-17 failed: not enough history for "
        "moving-average-price(Y, 5) on 2020-03-17: it needs 5 consecutive daily closes, 'Y' has 4"
    )


def test_a_group_that_cannot_decide_on_any_day_yet_says_why_on_the_day_before() -> None:
    h = random_history(["A", "B", "Y"], 80, seed=3)
    h.closes["Y"][:77] = NAN  # Y's first close is on the 78th day: its 5-day average is undefined throughout
    with pytest.raises(StrategyError) as info:
        evaluate(strategy(MA_OF_Y), h)
    assert (info.value.line, info.value.column) == (3, 22)
    assert info.value.message.startswith(
        "cannot score group 'G' by moving-average-return(10) on 2020-03-20: the group cannot be decided on any "
        "day before it; on 2020-03-19: not enough history for moving-average-price(Y, 5) on 2020-03-19")


def test_nested_filters_over_groups_need_the_longest_window_not_the_sum_of_them() -> None:
    """Three filters over groups, each ranking by a 30-day return, one inside the other: 60 days of
    closes evaluate it (the sum of the windows, 90 and more, is not needed)."""
    body = '(if (> (moving-average-price "A" {:window 30}) 0) [(asset "A")] [(asset "B")])'
    for level in range(3):
        body = (f"(filter (cumulative-return {{:window 30}}) (select-top 1) "
                f'[(group "L{level}" [{body}]) (asset "B")])')
    result = evaluate(strategy(body), random_history(["A", "B"], 60, seed=1))
    assert sum(result.weights.values()) == 1
    assert len(result.explanation.find("filter")) >= 1


def test_zero_volatility_makes_inverse_volatility_weights_undefined() -> None:
    exc = _error('(weight-inverse-volatility 5 [(asset "A") (asset "FLAT")])', {"A": UP, "FLAT": [50.0] * 30})
    assert (exc.line, exc.column) == (2, 3)
    assert exc.message == ("the 5-day volatility of FLAT is 0 on 2020-01-30; inverse-volatility weights are undefined")


def test_empty_history_is_an_error_not_a_crash() -> None:
    with pytest.raises(StrategyError, match="the price history is empty"):
        evaluate(strategy('(asset "A")'), history({"A": []}))
