"""Random EventBridge patterns and events, for differential tests of our matcher against moto's.

`random_case(rng)` draws one (pattern, event) pair from any `random.Random` (a seeded one, or
hypothesis's `st.randoms()`). Every pattern is valid for our compiler. The draw covers every
operator our matcher supports (exact values, prefix and suffix with and without
equals-ignore-case, equals-ignore-case, wildcard with escapes, every anything-but form, numeric
comparisons and ranges, exists, cidr, and $or at the top level or nested), on events whose fields
are absent, scalars, or arrays of scalars, mixing types so that type rules are exercised.

It stays off the ground where moto is known to depart from AWS (each of those has a case in
tests/cases/pattern_cases.py that quotes AWS): booleans never meet number conditions, events hold
no arrays of objects, no empty objects or arrays, and no newlines in strings; a field defined both
outside and inside a $or is not drawn either (the two engines read that differently and AWS does
not document it).
"""

from __future__ import annotations

import random
from typing import Any, Final

STRINGS: Final = ("", "a", "ab", "ba", "A", "Ab", "abc", "b.png", "B.PNG", "x/lib/y", "a*b", "us-east-1",
                  "US-west-2", "init", "INIT")
NUMBERS: Final = (-10, -1, 0, 0.5, 1, 1.0, 2, 5, 5.000001, 10, 100, 1e3)
ADDRESSES: Final = ("10.0.0.1", "10.0.0.255", "10.0.1.0", "192.168.1.1", "2001:db8::1", "2001:db9::1", "ten")
NETWORKS: Final = ("10.0.0.0/24", "10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32", "::/0", "0.0.0.0/0")
AFFIXES: Final = ("a", "A", "b", "ab", ".png", ".PNG", "us-", "US-", "init", "x/")
WILDCARD_PIECES: Final = ("a", "b", ".png", "/lib/", "x", "us-", "\\*")

# Leaf fields, by the kind of value they usually hold; "o" is an object holding "s" and "n".
TOP_FIELDS: Final = ("s", "t", "n", "ip", "flag")
NESTED_FIELDS: Final = ("s", "n")
KIND: Final = {"s": "string", "t": "string", "n": "number", "ip": "address", "flag": "flag"}


# ---------------------------------------------------------------- events

def _scalar(rng: random.Random, kind: str) -> Any:
    roll = rng.random()
    if kind == "flag":
        return rng.choice((True, False, None, "true"))
    if roll < 0.08:
        return None
    if kind == "string":
        return rng.choice(STRINGS) if roll < 0.8 else rng.choice(NUMBERS)
    if kind == "number":
        return rng.choice(NUMBERS) if roll < 0.85 else rng.choice(("5", "a"))
    return rng.choice(ADDRESSES)


def _value(rng: random.Random, kind: str) -> Any:
    if kind != "flag" and rng.random() < 0.3:
        return [_scalar(rng, kind) for _ in range(rng.randint(1, 3))]
    return _scalar(rng, kind)


def random_event(rng: random.Random) -> dict[str, Any]:
    event: dict[str, Any] = {"source": "alchemiser.test", "other": rng.choice(STRINGS)}
    for name in TOP_FIELDS:
        if rng.random() < 0.75:
            event[name] = _value(rng, KIND[name])
    roll = rng.random()
    if roll < 0.6:
        nested = {name: _value(rng, KIND[name]) for name in NESTED_FIELDS if rng.random() < 0.75}
        event["o"] = nested or {"other": 1}
    elif roll < 0.7:
        event["o"] = rng.choice(STRINGS)  # a scalar where the pattern expects an object
    return event


# ---------------------------------------------------------------- patterns

def _wildcard(rng: random.Random) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(1, 4)):
        if parts and parts[-1] != "*" and rng.random() < 0.5:
            parts.append("*")
        else:
            parts.append(rng.choice(WILDCARD_PIECES))
    return "".join(parts) if rng.random() < 0.7 else "*" + "".join(parts)


def _some(rng: random.Random, draw: Any, most: int = 3) -> list[Any]:
    return [draw() for _ in range(rng.randint(1, most))]


def _anything_but(rng: random.Random, kind: str) -> Any:
    roll = rng.random()
    if kind == "number" or (kind == "string" and roll < 0.15):
        return rng.choice(NUMBERS) if rng.random() < 0.5 else _some(rng, lambda: rng.choice(NUMBERS))
    if roll < 0.35:
        return rng.choice(STRINGS)
    if roll < 0.5:
        return _some(rng, lambda: rng.choice(STRINGS))
    name = rng.choice(("prefix", "suffix", "equals-ignore-case", "wildcard"))
    if name in ("prefix", "suffix"):
        return {name: rng.choice(AFFIXES)}
    draw = (lambda: rng.choice(STRINGS)) if name == "equals-ignore-case" else (lambda: _wildcard(rng))
    return {name: draw() if rng.random() < 0.5 else _some(rng, draw)}


def _numeric(rng: random.Random) -> list[Any]:
    roll = rng.random()
    if roll < 0.2:
        return ["=", rng.choice(NUMBERS)]
    if roll < 0.6:
        return [rng.choice(("<", "<=", ">", ">=")), rng.choice(NUMBERS)]
    low, high = sorted(rng.sample(sorted(set(NUMBERS)), 2))
    return [rng.choice((">", ">=")), low, rng.choice(("<", "<=")), high]


def _string_condition(rng: random.Random) -> Any:
    operator = rng.choice(("exact", "exact", "prefix", "suffix", "equals-ignore-case", "wildcard",
                           "anything-but", "anything-but", "exists"))
    if operator == "exact":
        return rng.choice(STRINGS) if rng.random() < 0.8 else rng.choice((*NUMBERS, None))
    if operator in ("prefix", "suffix"):
        affix = rng.choice(AFFIXES)
        return {operator: {"equals-ignore-case": affix} if rng.random() < 0.3 else affix}
    if operator == "equals-ignore-case":
        return {operator: rng.choice(STRINGS)}
    if operator == "wildcard":
        return {operator: _wildcard(rng)}
    if operator == "anything-but":
        return {operator: _anything_but(rng, "string")}
    return {"exists": rng.random() < 0.5}


def _condition(rng: random.Random, kind: str) -> Any:
    if kind == "string":
        return _string_condition(rng)
    roll = rng.random()
    if kind == "number":
        if roll < 0.25:
            return rng.choice(NUMBERS)
        if roll < 0.65:
            return {"numeric": _numeric(rng)}
        return {"anything-but": _anything_but(rng, "number")} if roll < 0.85 else {"exists": roll < 0.93}
    if kind == "address":
        if roll < 0.6:
            return {"cidr": rng.choice(NETWORKS)}
        return rng.choice(ADDRESSES) if roll < 0.8 else {"exists": roll < 0.9}
    # flag: booleans meet only exact values, exists and string conditions (never numbers: moto's True == 1)
    if roll < 0.6:
        return rng.choice((True, False, None))
    return {"exists": roll < 0.75} if roll < 0.9 else {"anything-but": rng.choice(("true", "a"))}


def _leaf(rng: random.Random, name: str) -> list[Any]:
    return _some(rng, lambda: _condition(rng, KIND[name]))


def _fields(rng: random.Random, names: list[str]) -> dict[str, Any]:
    return {name: _leaf(rng, name) for name in names}


def _or(rng: random.Random, names: list[str]) -> list[dict[str, Any]]:
    return [_fields(rng, rng.sample(names, rng.randint(1, min(2, len(names))))) for _ in range(rng.randint(2, 3))]


def random_pattern(rng: random.Random) -> dict[str, Any]:
    """A valid pattern over the event's fields; a $or never names a path the pattern names outside it."""
    top = list(TOP_FIELDS)
    rng.shuffle(top)
    outside, inside = top[:rng.randint(0, 3)], top[3:]
    pattern = _fields(rng, outside)
    roll = rng.random()
    if roll < 0.3:
        pattern["$or"] = _or(rng, inside)
    if rng.random() < 0.5 or not pattern:
        nested_names = list(NESTED_FIELDS)
        rng.shuffle(nested_names)
        nested = _fields(rng, nested_names[:1])
        if roll >= 0.3 and rng.random() < 0.4:
            nested["$or"] = _or(rng, nested_names[1:])
        else:
            nested.update(_fields(rng, nested_names[1:2] if rng.random() < 0.5 else []))
        pattern["o"] = nested
    return pattern


def random_case(rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    return random_pattern(rng), random_event(rng)


def operators_in(pattern: Any) -> set[str]:
    """The operators a pattern uses: operator names, "exact" for plain values, "$or"."""
    found: set[str] = set()
    if isinstance(pattern, dict):
        for key, value in pattern.items():
            if key == "$or":
                found.add(key)
                for alternative in value:
                    found |= operators_in(alternative)
            elif isinstance(value, dict):
                found |= operators_in(value)
            else:
                for condition in value:
                    if isinstance(condition, dict):
                        ((name, operand),) = condition.items()
                        found.add(name)
                        if isinstance(operand, dict):
                            found.add(f"{name}/{next(iter(operand))}")
                    else:
                        found.add("exact")
    return found
