"""Composer's JSON score: read into the same tree as .clj, written back, round trips both ways."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings

from services.strategy.language import StrategyError, evaluate, parse_file, parse_text, to_text
from services.strategy.language.composer_json import parse_score, to_score
from services.strategy.language.nodes import Filter, If, WeightInverseVolatility, WeightSpecified
from tests.unit.strategy.language.conftest import random_history, symphonies

SCORE = {
    "id": "7f0b8f39-6f3e-4b3c-8d55-0a2d0c6c1a11", "step": "root", "name": "Score example",
    "description": "", "rebalance": "monthly", "rebalance-corridor-width": None,
    "children": [{"step": "wt-cash-equal", "children": [
        {"step": "if", "children": [
            {"step": "if-child", "is-else-condition?": False, "comparator": "gt",
             "lhs-fn": "relative-strength-index", "lhs-val": "SPY", "lhs-window-days": 10,
             "rhs-fixed-value?": True, "rhs-val": 70,
             "children": [{"step": "asset", "ticker": "BIL", "name": "T-bills"}]},
            {"step": "if-child", "is-else-condition?": True, "children": [
                {"step": "wt-cash-specified", "children": [
                    {"step": "asset", "ticker": "BRK/B", "name": None,
                     "weight": {"num": 83.32999999999999, "den": 100}},
                    {"step": "filter", "sort-by-fn": "cumulative-return", "sort-by-window-days": 20,
                     "select-fn": "top", "select-n": 1, "weight": {"num": 16.670000000000001, "den": 100},
                     "children": [{"step": "asset", "ticker": "QQQ"}, {"step": "asset", "ticker": "QQQ"},
                                  {"step": "asset", "ticker": "TLT"}]}]}]}]},
        {"step": "group", "name": "Risk parity", "children": [
            {"step": "wt-inverse-vol", "window-days": 20, "children": [
                {"step": "asset", "ticker": "GLD"}, {"step": "empty"}]}]}]}],
}

EQUIVALENT_CLJ = '''(defsymphony "Score example" {:rebalance-frequency :monthly}
  (weight-equal
    [(if (> (rsi "SPY" {:window 10}) 70)
       [(asset "BIL" "T-bills")]
       [(weight-specified
          0.8332999999999999 (asset "BRK.B" nil)
          0.1667 (filter (cumulative-return {:window 20}) (select-top 1) [(asset "QQQ") (asset "TLT")]))])
     (group "Risk parity" [(weight-inverse-vol 20 [(asset "GLD") (empty)])])]))
'''


def test_a_json_score_is_read_into_the_tree_the_clj_describes():
    s = parse_score(json.dumps(SCORE), "score.json")
    assert s == parse_text(EQUIVALENT_CLJ)
    assert s.rebalance_frequency == "monthly"
    assert s.symbols == ("BIL", "BRK.B", "GLD", "QQQ", "SPY", "TLT")


def test_the_json_score_evaluates_like_the_clj():
    history = random_history(["BIL", "BRK.B", "GLD", "QQQ", "SPY", "TLT"], 300, seed=3)
    a = evaluate(parse_score(json.dumps(SCORE)), history)
    b = evaluate(parse_text(EQUIVALENT_CLJ), history)
    assert a.weights == b.weights and sum(a.weights.values()) == Decimal(1)


def test_clj_to_json_to_clj_round_trips(tmp_path: Path):
    clj = parse_text(EQUIVALENT_CLJ)
    again = parse_score(json.dumps(to_score(clj)))
    assert again == clj
    assert parse_text(to_text(again)) == clj


def test_json_to_clj_to_json_round_trips():
    s = parse_score(json.dumps(SCORE))
    assert parse_score(json.dumps(to_score(parse_text(to_text(s))))) == s
    score = to_score(s)
    assert score["rebalance"] == "monthly"
    assert score["children"][0]["children"][0]["children"][1]["children"][0]["children"][0]["ticker"] == "BRK/B"


@settings(max_examples=60, deadline=None)
@given(symphonies)
def test_any_tree_survives_the_json_score(symphony):
    """One trip normalises what Composer cannot write (a one-child weight-equal, a number on the left
    of a comparison); from then on the score and the tree are a fixed point, and the weights agree."""
    try:
        once = parse_score(json.dumps(to_score(symphony)))
    except ValueError as exc:
        assert "compares two numbers" in str(exc)
        return
    twice = parse_score(json.dumps(to_score(once)))
    assert twice == once
    assert parse_text(to_text(once)) == once
    history = random_history(["AAA", "BBB", "CCC", "DDD", "EEE", "BIL"], 120, seed=1)
    try:
        expected = evaluate(symphony, history).weights
    except StrategyError:
        return
    assert evaluate(once, history).weights == expected


def test_node_kinds_survive():
    s = parse_score(json.dumps(SCORE))
    kinds = {type(n).__name__ for n in __import__("services.strategy.language.nodes", fromlist=["iter_nodes"])
             .iter_nodes(s.body)}
    assert {If.__name__, Filter.__name__, WeightSpecified.__name__, WeightInverseVolatility.__name__} <= kinds


def test_a_json_file_parses_through_parse_file(tmp_path: Path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCORE, indent=2))
    assert parse_file(path) == parse_text(EQUIVALENT_CLJ)


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.update(step="group"), 'expected a symphony score: a JSON object with "step": "root"'),
    (lambda s: s["children"][0]["children"][0]["children"][0].update(comparator="ge"), "comparator must be one of"),
    (lambda s: s["children"][0]["children"][1].update(step="weird"), "unknown step 'weird'"),
    (lambda s: s["children"][0]["children"][0]["children"][0].update({"lhs-fn": "rsii"}), "unknown function"),
])
def test_a_bad_score_names_what_and_where(change, message):
    score = json.loads(json.dumps(SCORE))
    change(score)
    with pytest.raises(StrategyError, match=message) as info:
        parse_score(json.dumps(score, indent=2), "bad.json")
    assert info.value.file == "bad.json"


def test_a_node_with_an_id_is_located_at_its_brace():
    score = json.loads(json.dumps(SCORE))
    score["children"][0]["children"][1]["id"] = "11111111-2222-3333-4444-555555555555"
    score["children"][0]["children"][1]["step"] = "weird"
    text = json.dumps(score, indent=2)
    with pytest.raises(StrategyError) as info:
        parse_score(text, "bad.json")
    line = text.splitlines()[info.value.line - 1]
    assert line[info.value.column - 1] == "{"
    assert "children[0].children[1]" in info.value.message


def test_invalid_json_points_at_line_and_column():
    with pytest.raises(StrategyError) as info:
        parse_score('{"step": "root",\n  "name": }', "x.json")
    assert (info.value.line, info.value.column) == (2, 11)


def test_alchemiser_convert_writes_the_canonical_clj_and_back(tmp_path: Path):
    source = tmp_path / "s.json"
    source.write_text(json.dumps(SCORE))
    exe = str(Path(sys.executable).parent / "alchemiser")
    out = subprocess.run([exe, "convert", str(source)], capture_output=True, text=True, check=True).stdout
    assert out.startswith('(defsymphony "Score example" {:rebalance-frequency :monthly}')
    assert parse_text(out) == parse_text(EQUIVALENT_CLJ)
    clj = tmp_path / "s.clj"
    clj.write_text(out)
    subprocess.run([exe, "convert", str(clj), "--to", "json", "-o", str(tmp_path / "back.json")], check=True,
                   capture_output=True)
    assert parse_file(tmp_path / "back.json") == parse_text(EQUIVALENT_CLJ)
    bad = subprocess.run([exe, "convert", str(tmp_path / "missing.json")], capture_output=True, text=True)
    assert bad.returncode == 1 and "missing.json:1:1: cannot read" in bad.stderr
