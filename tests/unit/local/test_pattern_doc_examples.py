"""Our matcher gives the EventBridge user guide's answer on each of the guide's examples."""

from __future__ import annotations

import json

import pytest

from alchemiser.local.patterns import compile_pattern, matches
from tests.cases.pattern_cases import PatternCase
from tests.cases.pattern_doc_examples import DOC_EXAMPLES


@pytest.mark.parametrize("case", DOC_EXAMPLES, ids=lambda c: c.name)
def test_matcher_gives_the_guides_answer(case: PatternCase) -> None:
    assert matches(case.pattern, case.event) is case.expected_match


@pytest.mark.parametrize("case", DOC_EXAMPLES, ids=lambda c: c.name)
def test_json_text_gives_the_same_answer(case: PatternCase) -> None:
    assert compile_pattern(json.dumps(case.pattern)).matches(case.event) is case.expected_match
