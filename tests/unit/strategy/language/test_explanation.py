"""The explanation answers "why am I in UVXY today?": values compared, branches, scores, selections."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.strategy.language import evaluate
from services.strategy.language.indicators import compute
from tests.unit.strategy.language.conftest import history, random_history, strategy

UP = [100.0 + i for i in range(40)]
DOWN = [200.0 - 2 * i for i in range(40)]

TREE = """(if (> (rsi "TQQQ" {:window 10}) 79)
    [(asset "UVXY" "ProShares Ultra VIX")]
    [(filter (cumulative-return {:window 5}) (select-bottom 1)
       [(asset "A") (asset "B") (group "Both" [(asset "A") (asset "B")])])])"""


def test_if_records_both_values_the_operator_and_the_branch_taken() -> None:
    result = evaluate(strategy(TREE), history({"TQQQ": UP, "UVXY": DOWN, "A": UP, "B": DOWN}))
    (decision,) = result.explanation.find("if")
    rsi = compute("rsi", history({"T": UP}).closes["T"], 10)[-1]
    assert decision.facts["operator"] == ">"
    assert decision.facts["left"] == {"expression": "rsi(TQQQ, 10)", "value": rsi}
    assert decision.facts["right"] == {"expression": "79", "value": 79.0}
    assert decision.facts["result"] is True and decision.facts["branch"] == "then"
    assert decision.text == "if rsi(TQQQ, 10) = 100.0000 > 79: true → then branch"
    assert (decision.line, decision.column) == (2, 3)
    assert result.weights == {"UVXY": Decimal(1)}
    assert "UVXY" in result.explanation.text and "100.00%" in result.explanation.text


def test_filter_records_every_score_the_ranking_and_the_selection() -> None:
    result = evaluate(strategy(TREE), history({"TQQQ": DOWN, "UVXY": DOWN, "A": UP, "B": DOWN}))
    (decision,) = result.explanation.find("if")
    assert decision.facts["branch"] == "else"
    (chosen,) = result.explanation.find("filter")
    scores = dict(chosen.facts["scores"])
    assert scores["A"] == pytest.approx((UP[-1] / UP[-6] - 1) * 100)
    assert scores["B"] == pytest.approx((DOWN[-1] / DOWN[-6] - 1) * 100)
    assert set(scores) == {"A", "B", "group 'Both'"}
    assert chosen.facts["ranking"][0] == "B" and chosen.facts["selected"] == ("B",)
    assert chosen.facts["select"] == "bottom" and chosen.facts["count"] == 1
    assert chosen.text.startswith("filter cumulative-return(5) select-bottom 1 of 3: holds B; ranked B -")
    assert [c.text for c in chosen.children] == ["B"]


def test_inverse_volatility_records_each_volatility_and_weight() -> None:
    h = random_history(["A", "B"], 60, seed=8)
    result = evaluate(strategy('(weight-inverse-volatility 20 [(asset "A") (asset "B")])'), h)
    (node,) = result.explanation.find("weight-inverse-volatility")
    vols = dict(node.facts["volatilities"])
    assert vols["A"] == pytest.approx(compute("stdev-return", h.closes["A"], 20)[-1])
    weights = dict(node.facts["weights"])
    assert weights["A"] == pytest.approx(float(result.weights["A"]), abs=1e-9)
    assert "A vol " in node.text and "% → " in node.text


def test_render_shows_the_taken_path_as_an_indented_tree_with_shares_and_lines() -> None:
    result = evaluate(strategy(TREE), history({"TQQQ": DOWN, "UVXY": DOWN, "A": UP, "B": DOWN}))
    lines = result.render().splitlines()
    assert lines[0].startswith("test (test.clj) on 2020-02-09: B 100.00%")
    assert lines[1].startswith("  if rsi(TQQQ, 10) = 0.0000 > 79: false → else branch [100.00%, line 2]")
    assert lines[2].startswith("    filter cumulative-return(5)")
    assert lines[3] == "      B [100.00%, line 5]"
    assert "UVXY" not in result.render()  # untaken branches are not expanded


def test_summary_lines_are_bounded_in_count_and_length() -> None:
    candidates = " ".join(f'(group "G{i}" [(asset "A") (asset "B")])' for i in range(300))
    body = f"(weight-equal [(filter (rsi {{:window 3}}) (select-top 300) [{candidates}])])"
    result = evaluate(strategy(body), random_history(["A", "B"], 30))
    full = result.render().splitlines()
    assert len(full) > 600
    summary = result.summary_lines()
    assert len(summary) == 200 and all(len(line) <= 240 for line in summary)
    assert summary[0] == full[0]
    assert summary[-1] == f"… {len(full) - 199} more lines (see the full explanation)"
    assert result.summary_lines(limit=1) == (full[0],)
    assert len(result.summary_lines(limit=5000)) == len(full)
    with pytest.raises(ValueError):
        result.summary_lines(limit=0)
