"""Deep nesting and very long files parse, evaluate, print and explain at the default recursion limit."""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest

from services.strategy.language import StrategyError, evaluate, parse_text, to_text
from tests.unit.strategy.language.conftest import random_history

DEPTH = 5_000
COND = '(> (rsi "A" {:window 3}) 0)'


@pytest.fixture(autouse=True)
def _default_recursion_limit() -> None:
    assert sys.getrecursionlimit() <= 1_000


def _deep_then_chain(depth: int) -> str:
    opening = "".join(f"(if {COND}\n [" for _ in range(depth))
    closing = "".join(']\n [(asset "B")])' for _ in range(depth))
    return opening + '(asset "A")' + closing


def test_five_thousand_deep_if_parses_evaluates_prints_and_explains() -> None:
    text = f'(defsymphony "deep" {{}}\n{_deep_then_chain(DEPTH)})'
    symphony = parse_text(text, "deep.clj")
    result = evaluate(symphony, random_history(["A", "B"], 40))
    assert result.weights == {"A": Decimal(1)}
    assert len(result.explanation.find("if")) == DEPTH
    assert len(result.render().splitlines()) == DEPTH + 2
    assert len(result.summary_lines()) == 200
    printed = to_text(symphony)
    assert parse_text(printed) == symphony
    assert len(printed) < 400 * DEPTH  # indentation is capped: size grows linearly


def test_five_thousand_deep_else_chain_evaluates() -> None:
    body = "".join('(if (< (rsi "A" {:window 3}) 0) [(asset "B")] [' for _ in range(DEPTH)) + '(asset "A")'
    body += "])" * DEPTH
    result = evaluate(parse_text(f'(defsymphony "else" {{}} {body})'), random_history(["A", "B"], 40))
    assert result.weights == {"A": Decimal(1)}


def test_deep_tree_inside_a_ranked_group_is_replayed_without_recursion() -> None:
    group = f'(group "Deep" [{_deep_then_chain(DEPTH)}])'
    text = f'(defsymphony "g" {{}} (filter (cumulative-return {{:window 5}}) (select-top 1) [{group} (asset "B")]))'
    symphony = parse_text(text)
    result = evaluate(symphony, random_history(["A", "B"], 60, seed=4))
    (chosen,) = result.explanation.find("filter")
    assert set(dict(chosen.facts["scores"])) == {"group 'Deep'", "B"}
    assert sum(result.weights.values()) == 1


def test_option_values_nest_up_to_a_bound_and_deeper_is_a_located_error() -> None:
    nested = "{:a " * 30 + "1" + "}" * 30
    symphony = parse_text(f'(defsymphony "o" {{:meta {nested}, :v {"[" * 31}{"]" * 31}}} (asset "A"))')
    assert parse_text(to_text(symphony)) == symphony
    with pytest.raises(StrategyError) as info:
        parse_text('(defsymphony "o" {:v\n ' + "[" * 3_000 + "]" * 3_000 + '} (asset "A"))', "o.clj")
    assert (info.value.line, info.value.column) == (2, 34)
    assert info.value.message == "option values may nest at most 32 levels deep"


def test_twenty_thousand_line_file_parses_and_evaluates() -> None:
    blocks = []
    for i in range(2_000):
        blocks.append(
            "\n".join(
                [
                    f'   (group "Block {i}"',
                    "    [(if",
                    f'      (> (rsi "S{i % 50}" {{:window {5 + i % 10}}}) {30 + i % 40})',
                    f'      [(asset "S{(i + 1) % 50}" nil)]',
                    "      [(filter",
                    f"        (cumulative-return {{:window {3 + i % 7}}})",
                    "        (select-top 1)",
                    f'        [(asset "S{(i + 2) % 50}" nil)',
                    f'         (asset "S{(i + 3) % 50}" nil)])])])',
                    "   ;",
                ]
            )
        )
    text = '(defsymphony "large" {}\n (weight-equal\n  [\n' + "\n".join(blocks) + "\n  ]))\n"
    assert text.count("\n") >= 20_000
    symphony = parse_text(text, "large.clj")
    assert len(symphony.symbols) == 50
    result = evaluate(symphony, random_history([f"S{i}" for i in range(50)], 60))
    assert sum(result.weights.values()) == 1
    assert len(result.explanation.find("group")) == 2_000
