"""The EventBridge pattern matcher: the shared case table and the EventBridge guide's examples, invalid
patterns, and properties."""

from __future__ import annotations

import copy
import ipaddress
import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from alchemiser.local.event_patterns import MAX_BRANCHES, Pattern, PatternError, compile_pattern, matches
from tests.cases.pattern_cases import (
    INVALID_PATTERNS,
    PATTERN_CASES,
    SAMPLE_ENVELOPES,
    TEMPLATE_ROUTES,
    TEMPLATE_RULES,
    InvalidPattern,
    PatternCase,
    envelope,
)
from tests.cases.pattern_doc_examples import DOC_EXAMPLES
from tests.conftest import TEMPLATE

# ---------------------------------------------------------------- the table


@pytest.mark.parametrize("case", [*PATTERN_CASES, *DOC_EXAMPLES], ids=lambda c: c.name)
def test_matcher_gives_the_documented_answer(case: PatternCase) -> None:
    assert matches(case.pattern, case.event) is case.expected_match


@pytest.mark.parametrize("case", [*PATTERN_CASES, *DOC_EXAMPLES], ids=lambda c: c.name)
def test_json_text_pattern_gives_the_same_answer_as_the_dict(case: PatternCase) -> None:
    assert compile_pattern(json.dumps(case.pattern)).matches(case.event) is case.expected_match


def test_matching_changes_neither_the_pattern_nor_the_event() -> None:
    for case in PATTERN_CASES:
        pattern, event = copy.deepcopy(case.pattern), copy.deepcopy(case.event)
        compile_pattern(pattern).matches(event)
        assert (pattern, event) == (case.pattern, case.event), case.name


def test_a_compiled_rule_routes_every_sample_envelope_as_the_template_intends() -> None:
    for rule, raw in TEMPLATE_RULES.items():
        compiled = compile_pattern(raw)  # once, then many events
        taken = {name for name, event in SAMPLE_ENVELOPES.items() if compiled.matches(event)}
        assert taken == TEMPLATE_ROUTES[rule], rule


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads the template without resolving !Ref, !Sub and friends (the patterns use none)."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_table_holds_the_rule_patterns_that_infra_template_declares() -> None:
    resources = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)["Resources"]
    declared = {name: res["Properties"]["EventPattern"] for name, res in resources.items()
                if res["Type"] == "AWS::Events::Rule"}
    assert declared == TEMPLATE_RULES


# ---------------------------------------------------------------- invalid patterns


@pytest.mark.parametrize("case", INVALID_PATTERNS, ids=lambda c: c.name)
def test_invalid_pattern_is_refused_with_its_path_and_problem(case: InvalidPattern) -> None:
    with pytest.raises(PatternError) as raised:
        compile_pattern(case.pattern)
    assert str(raised.value).startswith(case.message)


def test_unknown_operator_message_names_the_path_and_the_operator() -> None:
    with pytest.raises(PatternError) as raised:
        compile_pattern({"detail": {"price": [{"greater-than": 5}]}})
    assert str(raised.value) == "detail.price: unknown operator 'greater-than'"
    assert (raised.value.path, raised.value.problem) == ("detail.price", "unknown operator 'greater-than'")


def test_pattern_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty arrays"):
        matches({"source": []}, envelope({}))


@pytest.mark.parametrize("text", ['{"n": [NaN]}', '{"n": [{"numeric": [">", Infinity]}]}'])
def test_non_standard_json_numbers_are_refused(text: str) -> None:
    with pytest.raises(PatternError, match="not valid JSON"):
        compile_pattern(text)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_numbers_in_a_dict_pattern_are_refused(value: float) -> None:
    with pytest.raises(PatternError, match="not a JSON number"):
        compile_pattern({"n": [value]})


def test_non_string_field_names_are_refused() -> None:
    with pytest.raises(PatternError, match="field names must be strings"):
        compile_pattern({"detail": {1: ["a"]}})


def test_a_pattern_that_expands_to_too_many_alternatives_is_refused() -> None:
    nested: dict[str, Any] = {"x": ["1"]}
    for level in range(MAX_BRANCHES.bit_length()):  # each level doubles the alternatives
        nested = {"$or": [{f"p{level}": ["1"]}, {f"q{level}": ["2"]}], "inner": nested}
    with pytest.raises(PatternError, match="too complex"):
        compile_pattern(nested)


def test_event_that_is_not_an_object_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be a JSON object"):
        compile_pattern({"source": ["a"]}).matches(["not", "an", "envelope"])  # type: ignore[arg-type]


# ---------------------------------------------------------------- documented details


def test_the_last_definition_of_a_path_wins() -> None:
    # "If multiple patterns are specified for the same JSON field, EventBridge only uses the last one."
    pattern = compile_pattern({"detail": {"a": {"b": ["first"]}, "a.b": ["last"]}})
    assert pattern.matches(envelope({"a": {"b": "last"}}))
    assert not pattern.matches(envelope({"a": {"b": "first"}}))


def test_deeply_nested_event_arrays_do_not_exhaust_the_stack() -> None:
    value: Any = "needle"
    for _ in range(1500):
        value = [value]
    assert matches({"detail": {"x": ["needle"]}}, envelope({"x": value}))


def test_pattern_repr_shows_the_pattern() -> None:
    assert repr(compile_pattern({"source": ["a"]})) == 'Pattern({"source": ["a"]})'
    assert isinstance(compile_pattern('{"source": ["a"]}'), Pattern)


# ---------------------------------------------------------------- properties

# The first text() draw on a fresh machine builds Hypothesis's Unicode tables; that is not slowness.
_PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
_KEYS = st.text(alphabet="abcdefghij_-", min_size=1, max_size=6)
_STRINGS = st.text(max_size=12)
_NUMBERS = st.integers(min_value=-10**12, max_value=10**12) | st.floats(allow_nan=False, allow_infinity=False)
_SCALARS = st.none() | st.booleans() | _NUMBERS | _STRINGS
_DETAILS = st.recursive(
    st.dictionaries(_KEYS, _SCALARS, max_size=4),
    lambda inner: st.dictionaries(
        _KEYS, _SCALARS | inner | st.lists(_SCALARS, max_size=3) | st.lists(inner, min_size=1, max_size=3),
        max_size=4),
    max_leaves=12,
)


def _pattern_from(obj: dict[str, Any]) -> dict[str, Any]:
    """A pattern asking for values the object really has (from the first element of each array)."""
    pattern: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, list):
            value = value[0] if value else None
            if value is None or isinstance(value, list):
                continue
        if isinstance(value, dict):
            sub = _pattern_from(value)
            if sub:
                pattern[key] = sub
        else:
            pattern[key] = [value]
    return pattern


@_PROPERTY
@given(_DETAILS)
def test_pattern_built_from_an_events_own_values_matches_it(detail: dict[str, Any]) -> None:
    pattern = _pattern_from(detail)
    assume(pattern)
    assert matches({"detail": pattern}, envelope(detail))


@_PROPERTY
@given(_STRINGS | _NUMBERS)
def test_anything_but_a_value_never_matches_that_value(value: Any) -> None:
    assert not matches({"detail": {"x": [{"anything-but": value}]}}, envelope({"x": value}))


@_PROPERTY
@given(st.lists(_STRINGS, min_size=1, max_size=4, unique=True), st.data())
def test_anything_but_a_list_never_matches_a_member(values: list[str], data: st.DataObject) -> None:
    member = data.draw(st.sampled_from(values))
    assert not matches({"detail": {"x": [{"anything-but": values}]}}, envelope({"x": member}))


@_PROPERTY
@given(_STRINGS.filter(bool), st.integers(min_value=1, max_value=12))
def test_anything_but_prefix_of_a_string_never_matches_it(value: str, cut: int) -> None:
    pattern = {"detail": {"x": [{"anything-but": {"prefix": value[:cut]}}]}}
    assert not matches(pattern, envelope({"x": value}))


@_PROPERTY
@given(_STRINGS)
def test_anything_but_equals_ignore_case_never_matches_the_same_string(value: str) -> None:
    pattern = {"detail": {"x": [{"anything-but": {"equals-ignore-case": value}}]}}
    assert not matches(pattern, envelope({"x": value}))


@_PROPERTY
@given(_STRINGS, st.integers(min_value=0, max_value=12))
def test_prefix_and_suffix_of_a_string_match_it(value: str, cut: int) -> None:
    event = envelope({"x": value})
    assert matches({"detail": {"x": [{"prefix": value[:cut]}]}}, event)
    assert matches({"detail": {"x": [{"suffix": value[cut:]}]}}, event)


_ASCII = st.text(alphabet="abcXYZ09-.", max_size=12)


@_PROPERTY
@given(_ASCII, st.integers(min_value=0, max_value=12))
def test_ignore_case_operators_match_any_ascii_casing(value: str, cut: int) -> None:
    event = envelope({"x": value})
    assert matches({"detail": {"x": [{"equals-ignore-case": value.swapcase()}]}}, event)
    assert matches({"detail": {"x": [{"prefix": {"equals-ignore-case": value[:cut].swapcase()}}]}}, event)
    assert matches({"detail": {"x": [{"suffix": {"equals-ignore-case": value[cut:].swapcase()}}]}}, event)


def _escape_wildcard(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*")


@_PROPERTY
@given(_STRINGS, _STRINGS, _STRINGS)
def test_wildcard_star_stands_for_any_middle_run(head: str, middle: str, tail: str) -> None:
    glob = _escape_wildcard(head) + "*" + _escape_wildcard(tail)
    assert matches({"detail": {"x": [{"wildcard": glob}]}}, envelope({"x": head + middle + tail}))


@_PROPERTY
@given(_STRINGS, _STRINGS.filter(bool))
def test_wildcard_without_star_is_exact_match(value: str, extra: str) -> None:
    glob = _escape_wildcard(value)
    assert matches({"detail": {"x": [{"wildcard": glob}]}}, envelope({"x": value}))
    assert not matches({"detail": {"x": [{"wildcard": glob}]}}, envelope({"x": value + extra}))


@_PROPERTY
@given(_NUMBERS, _NUMBERS, _NUMBERS)
def test_numeric_range_matches_exactly_the_numbers_inside_it(value: float, low: float, high: float) -> None:
    assume(low < high)
    pattern = {"detail": {"x": [{"numeric": [">=", low, "<", high]}]}}
    assert matches(pattern, envelope({"x": value})) is (low <= value < high)


@_PROPERTY
@given(_DETAILS, _KEYS)
def test_exists_true_and_exists_false_are_complementary(detail: dict[str, Any], key: str) -> None:
    event = envelope(detail)
    present = matches({"detail": {key: [{"exists": True}]}}, event)
    absent = matches({"detail": {key: [{"exists": False}]}}, event)
    assert present is not absent


@_PROPERTY
@given(st.integers(-5, 5), st.integers(-5, 5), st.integers(-5, 5), st.integers(-5, 5))
def test_or_matches_when_either_alternative_matches(x: int, y: int, bound: int, wanted: int) -> None:
    first = {"x": [{"numeric": [">", bound]}]}
    second = {"y": [wanted]}
    event = envelope({"x": x, "y": y})
    either = matches({"detail": first}, event) or matches({"detail": second}, event)
    assert matches({"detail": {"$or": [first, second]}}, event) is either


@_PROPERTY
@given(st.ip_addresses(), st.data())
def test_cidr_matches_every_address_of_its_network(address: Any, data: st.DataObject) -> None:
    length = data.draw(st.integers(min_value=0, max_value=address.max_prefixlen))
    network = ipaddress.ip_network((address, length), strict=False)
    assert matches({"detail": {"ip": [{"cidr": str(network)}]}}, envelope({"ip": str(address)}))
