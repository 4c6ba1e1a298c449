"""EventBridge event-pattern matching, with the semantics of AWS's content filtering.

The local runtime routes events with the rules of infra/template.yaml, so a rule must match
here exactly when it would match on AWS. The model follows AWS's Event Ruler, the engine behind
EventBridge rules:

- A pattern compiles to field paths joined with "." (so `{"a": {"b": [...]}}` and
  `{"a.b": [...]}` are the same pattern, as the EventBridge guide documents), and `$or` forks
  the pattern into alternative branches. A later definition of the same path replaces an
  earlier one, as on AWS.
- The event is read as (path, leaf value) pairs. Arrays are "crushed out": every element of an
  array is a value of the array's path, and objects inside arrays continue the path. Objects
  and empty arrays are not leaves, so they satisfy no condition (and `exists: false` holds).
- A branch matches when every field has a leaf value that one of its conditions accepts, and
  the values it relies on come from the same element of any array they share (Ruler's
  "array-consistent" matching). `exists: false` holds when the path has no leaf value at all.

Values compare as JSON values: strings exactly, numbers by value (1 matches 1.0), and true,
false and null only themselves (never 1, 0 or ""). Ruler's numeric limits (about ±5e9, six
decimal places) are not emulated: numbers compare as Python floats and ints.

Validation is eager and strict: anything EventBridge would refuse at PutRule (an unknown
operator, a malformed operand, an empty array, a non-array leaf) raises PatternError, so a typo
fails loudly instead of silently never matching.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

__all__ = ["Pattern", "PatternError", "compile_pattern", "matches"]

Test = Callable[[Any], bool]
Chain = tuple[tuple[int, int], ...]
"""Where a leaf value sits: one (array id, element index) pair per array on its path."""

OPERATORS: Final = frozenset({
    "prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "wildcard", "cidr",
})
OR_KEY: Final = "$or"
# $or multiplies branches; AWS refuses patterns that are too complex, and so do we, well before
# matching could get slow.
MAX_BRANCHES: Final = 1024
_ROOT = "(pattern)"


class PatternError(ValueError):
    """The pattern is one EventBridge would refuse. `path` is where in the pattern, in JSON terms."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class _Field:
    path: str
    tests: tuple[Test, ...]
    any_value: bool  # exists: true
    absent_ok: bool  # exists: false

    def accepts(self, value: Any) -> bool:
        return self.any_value or any(test(value) for test in self.tests)


class _Leaf(NamedTuple):
    value: Any
    chain: Chain


Branch = tuple[_Field, ...]


class Pattern:
    """A compiled, validated event pattern (build it with compile_pattern). Compile once, match many."""

    def __init__(self, source: Mapping[str, Any], branches: Sequence[Branch]) -> None:
        self._text = json.dumps(source, sort_keys=True)
        self._branches = tuple(branches)
        paths = {f.path for branch in self._branches for f in branch}
        self._leaf_paths = frozenset(paths)
        # Only these parts of an event are read; everything else is skipped unvisited.
        self._prefixes = frozenset[str]().union(*(_prefixes(path) for path in paths))

    def __repr__(self) -> str:
        return f"Pattern({self._text})"

    def matches(self, event: Mapping[str, Any]) -> bool:
        """True if `event`, a JSON-decoded EventBridge envelope, matches the pattern."""
        if not isinstance(event, Mapping):
            raise TypeError(f"event must be a JSON object, got {type(event).__name__}")
        leaves = _collect(event, self._prefixes, self._leaf_paths)
        return any(_branch_matches(branch, leaves) for branch in self._branches)


def compile_pattern(pattern: Mapping[str, Any] | str) -> Pattern:
    """Validate `pattern` (a dict, or its JSON text) and compile it; raise PatternError if invalid."""
    if isinstance(pattern, str):
        pattern = _parse_json(pattern)
    if not isinstance(pattern, Mapping):
        raise PatternError(_ROOT, f"must be a JSON object, got {_json_type(pattern)}")
    branches = _compile_object(pattern, "", "", [{}], in_or=False)
    return Pattern(pattern, [tuple(b.values()) for b in branches])


def matches(pattern: Mapping[str, Any] | str, event: Mapping[str, Any]) -> bool:
    """Compile `pattern` and match `event` once. Prefer compile_pattern() for repeated use."""
    return compile_pattern(pattern).matches(event)


# ---------------------------------------------------------------- compiling the structure

def _parse_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise PatternError(_ROOT, f"{constant} is not valid JSON")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise PatternError(_ROOT, f"invalid JSON: {exc.msg} at position {exc.pos}") from exc


def _compile_object(node: Mapping[str, Any], where: str, prefix: str,
                    branches: list[dict[str, _Field]], *, in_or: bool) -> list[dict[str, _Field]]:
    if not node:
        raise PatternError(where or _ROOT, "empty objects are not allowed")
    for key, value in node.items():
        if not isinstance(key, str):
            raise PatternError(where or _ROOT, f"field names must be strings, got {key!r}")
        here = f"{where}.{key}" if where else key
        if key == OR_KEY:
            branches = _compile_or(value, here, prefix, branches)
            continue
        if in_or and key in OPERATORS:
            # Ruler reserves operator names inside $or, where they would be ambiguous.
            raise PatternError(here, f"'{key}' is an operator, not a field name, and cannot be used in $or")
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            branches = _compile_object(value, here, path, branches, in_or=in_or)
        elif isinstance(value, list):
            leaf = _compile_leaf(value, here, path)
            for branch in branches:
                branch[path] = leaf  # a later definition of the same path replaces it, as on AWS
        else:
            raise PatternError(here, f"must be an object or an array, got {_json_type(value)}")
    return branches


def _compile_or(value: Any, where: str, prefix: str,
                branches: list[dict[str, _Field]]) -> list[dict[str, _Field]]:
    if not isinstance(value, list):
        raise PatternError(where, f"must be an array of objects, got {_json_type(value)}")
    if len(value) < 2:
        raise PatternError(where, f"needs at least 2 alternatives, got {len(value)}")
    forked: list[dict[str, _Field]] = []
    for index, alternative in enumerate(value):
        here = f"{where}[{index}]"
        if not isinstance(alternative, Mapping):
            raise PatternError(here, f"must be an object, got {_json_type(alternative)}")
        copies = [dict(branch) for branch in branches]
        forked.extend(_compile_object(alternative, here, prefix, copies, in_or=True))
        if len(forked) > MAX_BRANCHES:
            raise PatternError(where, f"too complex: $or expands to more than {MAX_BRANCHES} alternatives")
    return forked


def _compile_leaf(values: list[Any], where: str, path: str) -> _Field:
    if not values:
        raise PatternError(where, "empty arrays are not allowed")
    tests: list[Test] = []
    any_value = absent_ok = False
    for value in values:
        if isinstance(value, Mapping):
            name, operand = _single_operator(value, where)
            if name == "exists":
                if not isinstance(operand, bool):
                    raise PatternError(where, f"exists must be true or false, got {_json(operand)}")
                any_value |= operand
                absent_ok |= not operand
            else:
                tests.append(_compile_operator(name, operand, where))
        else:
            tests.append(_exact(value, where))
    return _Field(path, tuple(tests), any_value, absent_ok)


def _single_operator(expression: Mapping[str, Any], where: str) -> tuple[str, Any]:
    if len(expression) != 1:
        names = ", ".join(repr(k) for k in expression) or "none"
        raise PatternError(where, f"an operator object needs exactly one operator, got {names}")
    ((name, operand),) = expression.items()
    return str(name), operand


def _compile_operator(name: str, operand: Any, where: str) -> Test:
    compiler = _OPERATOR_COMPILERS.get(name)
    if compiler is None:
        raise PatternError(where, f"unknown operator '{name}'")
    return compiler(operand, f"{where}: {name}")


# ---------------------------------------------------------------- value tests

def _is_number(value: Any) -> bool:
    # JSON true/false are keywords, not numbers, although Python's bool is an int.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _exact(value: Any, where: str) -> Test:
    if isinstance(value, str):
        return lambda v: isinstance(v, str) and v == value
    if isinstance(value, bool):
        return lambda v: isinstance(v, bool) and v == value
    if value is None:
        return lambda v: v is None
    if _is_number(value):
        _check_finite(value, where)
        return lambda v: _is_number(v) and v == value
    raise PatternError(where, "match values must be strings, numbers, true, false or null, "
                              f"got {_json_type(value)}")


def _check_finite(value: float, where: str) -> None:
    if not math.isfinite(value):
        raise PatternError(where, f"{value} is not a JSON number")


def _string(operand: Any, where: str, *, allow_empty: bool = True) -> str:
    if not isinstance(operand, str):
        raise PatternError(where, f"must be a string, got {_json_type(operand)}")
    if not allow_empty and not operand:
        raise PatternError(where, "must not be empty")
    return operand


def _affix(operand: Any, where: str, *, suffix: bool, in_anything_but: bool = False) -> Test:
    """prefix/suffix: a string, or {"equals-ignore-case": string} (not inside anything-but)."""
    allow_empty = not in_anything_but
    if isinstance(operand, Mapping) and not in_anything_but:
        name, inner = _single_operator(operand, where)
        if name != "equals-ignore-case":
            raise PatternError(where, f"unsupported modifier '{name}' (only equals-ignore-case)")
        folded = _string(inner, f"{where}: equals-ignore-case", allow_empty=allow_empty).lower()
        if suffix:
            return lambda v: isinstance(v, str) and v.lower().endswith(folded)
        return lambda v: isinstance(v, str) and v.lower().startswith(folded)
    text = _string(operand, where, allow_empty=allow_empty)
    if suffix:
        return lambda v: isinstance(v, str) and v.endswith(text)
    return lambda v: isinstance(v, str) and v.startswith(text)


def _prefix(operand: Any, where: str) -> Test:
    return _affix(operand, where, suffix=False)


def _suffix(operand: Any, where: str) -> Test:
    return _affix(operand, where, suffix=True)


def _equals_ignore_case(operand: Any, where: str) -> Test:
    folded = _string(operand, where).lower()
    return lambda v: isinstance(v, str) and v.lower() == folded


def _string_list(operand: Any, where: str) -> list[str]:
    """One string or a non-empty list of strings (the anything-but modifiers accept both)."""
    items = operand if isinstance(operand, list) else [operand]
    if not items:
        raise PatternError(where, "empty arrays are not allowed")
    return [_string(item, where) for item in items]


def _wildcard(operand: Any, where: str) -> Test:
    segments = _wildcard_segments(_string(operand, where), where)
    return lambda v: isinstance(v, str) and _glob_match(segments, v)


def _wildcard_segments(text: str, where: str) -> tuple[str, ...]:
    """Split at unescaped '*'. `\\*` is a literal star, `\\\\` a literal backslash."""
    segments: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            escaped = text[index + 1:index + 2]
            if escaped not in ("*", "\\"):
                raise PatternError(where, "a backslash may only escape '*' or '\\'")
            current.append(escaped)
            index += 2
            continue
        if char == "*":
            if text[index + 1:index + 2] == "*":
                raise PatternError(where, "consecutive '*' are not allowed")
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    segments.append("".join(current))
    return tuple(segments)


def _glob_match(segments: tuple[str, ...], value: str) -> bool:
    # Leftmost-first search is exact for '*'-only globs and never backtracks.
    if len(segments) == 1:
        return value == segments[0]
    first, *middle, last = segments
    if len(value) < len(first) + len(last) or not value.startswith(first) or not value.endswith(last):
        return False
    position, end = len(first), len(value) - len(last)
    for segment in middle:
        found = value.find(segment, position, end)
        if found < 0:
            return False
        position = found + len(segment)
    return True


def _anything_but(operand: Any, where: str) -> Test:
    excluded = _anything_but_target(operand, where)
    # Fields that are absent (or objects) never reach here: anything-but needs a value.
    return lambda v: not excluded(v)


def _anything_but_target(operand: Any, where: str) -> Test:
    if isinstance(operand, Mapping):
        name, inner = _single_operator(operand, where)
        if name in ("prefix", "suffix"):
            return _affix(inner, f"{where}: {name}", suffix=name == "suffix", in_anything_but=True)
        if name in ("equals-ignore-case", "wildcard"):
            strings = _string_list(inner, f"{where}: {name}")
            tests = [_equals_ignore_case(s, where) if name == "equals-ignore-case" else _wildcard(s, where)
                     for s in strings]
            return lambda v: any(test(v) for test in tests)
        raise PatternError(where, f"unsupported anything-but operator '{name}'")
    items = operand if isinstance(operand, list) else [operand]
    if not items:
        raise PatternError(where, "empty arrays are not allowed")
    if all(isinstance(item, str) for item in items):
        excluded_strings = frozenset(items)
        return lambda v: isinstance(v, str) and v in excluded_strings
    if all(_is_number(item) for item in items):
        for item in items:
            _check_finite(item, where)
        numbers = frozenset(items)
        return lambda v: _is_number(v) and v in numbers
    raise PatternError(where, "must be a string, a number, or a list of only strings or only numbers")


_LOWER_BOUNDS: Final = {">": False, ">=": True}
_UPPER_BOUNDS: Final = {"<": False, "<=": True}


def _numeric(operand: Any, where: str) -> Test:
    """["=", n] | [">"|">=", n] | ["<"|"<=", n] | [">"|">=", low, "<"|"<=", high], as Ruler parses it."""
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise PatternError(where, 'must be ["=", n], [op, n] or [">"|">=", low, "<"|"<=", high]')
    ops, bounds = operand[0::2], operand[1::2]
    for op, bound in zip(ops, bounds, strict=True):
        if not isinstance(op, str) or op not in ("=", *_LOWER_BOUNDS, *_UPPER_BOUNDS):
            raise PatternError(where, f"unknown comparison {_json(op)}")
        if not _is_number(bound):
            raise PatternError(where, f"the value after {op!r} must be a number, got {_json_type(bound)}")
        _check_finite(bound, where)
    if len(ops) == 1:
        return _single_comparison(ops[0], bounds[0])
    if ops[0] not in _LOWER_BOUNDS or ops[1] not in _UPPER_BOUNDS:
        raise PatternError(where, 'a range is a lower bound (">" or ">=") then an upper bound ("<" or "<=")')
    low, high = bounds
    if low >= high:
        raise PatternError(where, f"empty range: {low} is not below {high}")
    low_ok, high_ok = _single_comparison(ops[0], low), _single_comparison(ops[1], high)
    return lambda v: low_ok(v) and high_ok(v)


def _single_comparison(op: str, bound: float) -> Test:
    comparisons: dict[str, Test] = {
        "=": lambda v: v == bound, ">": lambda v: v > bound, ">=": lambda v: v >= bound,
        "<": lambda v: v < bound, "<=": lambda v: v <= bound,
    }
    compare = comparisons[op]
    return lambda v: _is_number(v) and compare(v)


def _cidr(operand: Any, where: str) -> Test:
    text = _string(operand, where)
    if text.count("/") != 1:
        raise PatternError(where, f"{text!r} is not a CIDR block (address/prefix-length)")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise PatternError(where, f"{text!r} is not a CIDR block: {exc}") from exc

    def in_network(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == network.version and address in network

    return in_network


_OPERATOR_COMPILERS: Final[dict[str, Callable[[Any, str], Test]]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "cidr": _cidr,
}


# ---------------------------------------------------------------- matching events

def _prefixes(path: str) -> set[str]:
    parts = path.split(".")
    return {".".join(parts[:n]) for n in range(1, len(parts) + 1)}


def _collect(event: Mapping[str, Any], prefixes: frozenset[str],
             leaf_paths: frozenset[str]) -> dict[str, list[_Leaf]]:
    """The event's leaf values on the pattern's paths, each with the array elements it sits in."""
    found: dict[str, list[_Leaf]] = {}
    stack: list[tuple[Any, str, Chain]] = [(event, "", ())]
    arrays = 0
    while stack:  # iterative: deeply nested events cannot hit the recursion limit
        value, path, chain = stack.pop()
        if isinstance(value, Mapping):
            for key, child in value.items():
                child_path = f"{path}.{key}" if path else str(key)
                if child_path in prefixes:
                    stack.append((child, child_path, chain))
        elif isinstance(value, list):
            arrays += 1
            stack.extend((element, path, (*chain, (arrays, index))) for index, element in enumerate(value))
        elif path in leaf_paths:
            found.setdefault(path, []).append(_Leaf(value, chain))
    return found


def _branch_matches(branch: Branch, leaves: Mapping[str, list[_Leaf]]) -> bool:
    pending: list[set[Chain]] = []
    for field in branch:
        candidates = leaves.get(field.path)
        if not candidates:
            if field.absent_ok:
                continue
            return False
        chains = {leaf.chain for leaf in candidates if field.accepts(leaf.value)}
        if not chains:
            return False
        if () not in chains:  # a value outside any array is consistent with everything
            pending.append(chains)
    pending.sort(key=len)
    return _consistent_choice(pending, {})


def _consistent_choice(options: Sequence[set[Chain]], bound: dict[int, int]) -> bool:
    """Pick one chain per field so that no array is entered at two different elements."""
    if not options:
        return True
    for chain in options[0]:
        if all(bound.get(array, index) == index for array, index in chain):
            added = [array for array, index in chain if array not in bound]
            bound.update(chain)
            if _consistent_choice(options[1:], bound):
                return True
            for array in added:
                del bound[array]
    return False


# ---------------------------------------------------------------- messages

def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
