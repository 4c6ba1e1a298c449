"""Differential tests: our EventBridge matcher (alchemiser/local/event_patterns.py) against moto's.

moto's `EventPattern` (moto/events/models.py) is the matcher moto's EventBridge runs for every rule;
it is an independent implementation, so random patterns and events on which the two disagree point
at a bug in one of them. Where they disagree, the AWS documentation decides: the case tables
(tests/cases/pattern_cases.py, tests/cases/pattern_doc_examples.py) record every known moto
departure with the documentation's words, and the generator (tests/cases/random_patterns.py) stays
off that ground, so any disagreement here is new.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from moto.events.models import EventPattern

from alchemiser.local.event_patterns import compile_pattern
from tests.cases.pattern_cases import PatternCase
from tests.cases.pattern_doc_examples import DOC_EXAMPLES
from tests.cases.random_patterns import operators_in, random_case

SEEDED_CASES = 3000
# Every operator (and anything-but / prefix / suffix form) the generator must exercise, both ways.
OPERATORS = {
    "exact", "prefix", "suffix", "prefix/equals-ignore-case", "suffix/equals-ignore-case", "equals-ignore-case",
    "wildcard", "anything-but", "anything-but/prefix", "anything-but/suffix", "anything-but/equals-ignore-case",
    "anything-but/wildcard", "numeric", "exists", "cidr", "$or",
}


def moto_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))


def ours_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return compile_pattern(pattern).matches(event)


@pytest.mark.parametrize("case", DOC_EXAMPLES, ids=lambda c: c.name)
def test_moto_gives_the_guides_answer_unless_recorded(case: PatternCase) -> None:
    moto = moto_matches(case.pattern, case.event)
    if case.moto_differs:
        assert moto is not case.expected_match, f"moto now follows AWS; drop moto_differs. AWS: {case.aws_says}"
    else:
        assert moto is case.expected_match


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_ours_and_moto_agree_on_random_patterns_and_events(rng: random.Random) -> None:
    pattern, event = random_case(rng)
    note(f"pattern: {json.dumps(pattern)}")
    note(f"event:   {json.dumps(event)}")
    assert ours_matches(pattern, event) is moto_matches(pattern, event)


def test_ours_and_moto_agree_on_seeded_cases_covering_every_operator_both_ways() -> None:
    """A fixed draw, so the coverage of the generator itself is asserted, not hoped for."""
    rng = random.Random(20261208)
    outcomes: Counter[tuple[str, bool]] = Counter()
    disagreements = []
    for _ in range(SEEDED_CASES):
        pattern, event = random_case(rng)
        ours = ours_matches(pattern, event)
        if ours is not moto_matches(pattern, event):
            disagreements.append((pattern, event, ours))
        for operator in operators_in(pattern):
            outcomes[operator, ours] += 1
    assert not disagreements[:5], f"{len(disagreements)} disagreements, first: {disagreements[:5]}"
    never = sorted(f"{op} {'matched' if ok else 'unmatched'}" for op in OPERATORS for ok in (True, False)
                   if outcomes[op, ok] < 10)
    assert not never, f"the generator rarely or never produces: {never}"
    assert set(op for op, _ in outcomes) <= OPERATORS, "an operator the table above does not list"
