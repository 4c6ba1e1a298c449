"""parse_text's fast path (quick.py) builds exactly the tree the reader and the builder build, positions
included, or hands the text to them: on generated real-like files in every dialect, on printed random
trees, on the shipped strategies, and on texts the fast path must not accept (they fall back and fail
with the builder's own message)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from bench.strategy_generator import DIALECTS, corpus_shapes, sample_shape, write
from services.strategy.language import StrategyError, Symphony, to_text
from services.strategy.language.nodes import If, Node, iter_nodes
from services.strategy.language.parser import parse_text, slow_parse
from services.strategy.language.quick import Unusual, quick_parse
from tests.unit.strategy.language.conftest import symphonies

STRATEGIES = Path(__file__).resolve().parents[4] / "services" / "strategy" / "strategies"


def _positions(body: Node) -> list[object]:
    out: list[object] = []
    for node in iter_nodes(body):
        out.append((type(node).__name__, node.pos))
        if isinstance(node, If):
            cond = node.condition
            out += [cond.pos, cond.left.pos, cond.right.pos]
        indicator = getattr(node, "indicator", None)
        if indicator is not None:
            out.append(indicator.pos)
    return out


def _same(text: str) -> Symphony:
    quick, slow = quick_parse(text, "f.clj"), slow_parse(text, "f.clj")
    assert quick == slow
    assert (quick.pos, quick.lookback_days, quick.symbols) == (slow.pos, slow.lookback_days, slow.symbols)
    assert _positions(quick.body) == _positions(slow.body)
    return quick


@pytest.mark.parametrize("dialect", DIALECTS)
def test_generated_files_of_every_dialect_build_the_same_tree_quickly(dialect: str) -> None:
    rng = random.Random(dialect)
    for seed in range(6):
        _same(write(sample_shape(rng, max_lines=600, max_tickers=40), seed, dialect))
    _same(write(corpus_shapes(100)[95], 1, dialect))  # a 16k-line file


def test_the_shipped_strategies_build_the_same_tree_quickly() -> None:
    for path in sorted(STRATEGIES.glob("*.clj")):
        text = path.read_text()
        try:
            _same(text)
        except Unusual:  # comments: the reader's path, which is what parse_text then takes
            assert parse_text(text, "f.clj") == slow_parse(text, "f.clj")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(symphonies)
def test_a_printed_random_tree_builds_the_same_tree_quickly(symphony: Symphony) -> None:
    text = to_text(symphony)
    try:
        _same(text)
    except Unusual:
        assert parse_text(text, "f.clj") == slow_parse(text, "f.clj")


@pytest.mark.parametrize("text", [
    '(defsymphony "x" {}\n  (asset "SPY")) (asset "QQQ")',
    '(defsymphony "x" {}\n  (weight-specified 60 (asset "SPY") 40 (asset "QQQ")))',
    '(defsymphony "x" {}\n  (if (and (> (rsi "SPY" {:window 10}) 70)) [(asset "A")] [(asset "B")]))',
    '(defsymphony "x" {}\n  (asset "SPY" "a \\"quoted\\" name"))',
    '(defsymphony "x" {}\n  ; a comment (with brackets\n  (asset "SPY"))',
    '(defsymphony "x" {}\n  (weight-specified ##NaN (asset "SPY") 1 (asset "QQQ")))',
    '(defsymphony "x" {}\n  (asset "SPY" nil)',
    '(defsymphony "x" {}\n  (asset "SP Y"))',
    '(defsymphony "x" {}\n  (filter (rsi "SPY" {:window 7}) (select-top 1) [(asset "A")]))',
    '(defsymphony "x" {:a 1 :a 2}\n  (asset "SPY"))',
    '(defsymphony "x" {}\n  (group "g (one)" [(asset "SPY")]))',
])
def test_whatever_the_fast_path_leaves_reads_as_the_builder_reads_it(text: str) -> None:
    try:
        expected: Symphony | str = slow_parse(text, "f.clj")
    except StrategyError as exc:
        expected = str(exc)
    try:
        got: Symphony | str = parse_text(text, "f.clj")
    except StrategyError as exc:
        got = str(exc)
    assert got == expected
