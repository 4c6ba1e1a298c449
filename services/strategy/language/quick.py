"""parse_text's fast path: a well-formed file read and built into its tree in one pass.

The reader (reader.py) and the tree builder (forms.py, arguments.py) say exactly what is wrong
with a file, where; building their intermediate forms costs most of a parse. This module reads
the common case straight into the tree: tokens read by quick_tokens.py, each list built into
its node (or indicator, comparison, selector) as it closes, positions looked up only for the
lists and numbers that keep one. Anything it does not recognise, and every error, raises
`Unusual`, and parse_text starts again with the reader and the builder, which either build the
same tree (tests/unit/strategy/language/test_quick.py checks that they always do) or say what is
wrong. So the rules of the language stay where they are: this module only recognises them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from services.strategy.language.analysis import equal_split, normalised_weights
from services.strategy.language.arguments import COMPARATORS, MAX_DATA_DEPTH, canonical_indicator, ticker_of
from services.strategy.language.forms import FORM_ALIASES
from services.strategy.language.indicators import INDICATORS, MAX_WINDOW
from services.strategy.language.nodes import (
    CASH_PROXY,
    Asset,
    Condition,
    Filter,
    Group,
    If,
    IndicatorCall,
    Keyword,
    Node,
    Number,
    Pos,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
)
from services.strategy.language.quick_tokens import Kw, Map, Num, Sym, Unusual, Vec, read, read_simple
from services.strategy.language.symphony import Symphony
from shared.marketdata.symbols import SymbolError

_NODES = (Asset, Group, WeightEqual, WeightSpecified, WeightInverseVolatility, Filter, If)
_NODE_TYPES = frozenset(_NODES)
_SCALARS = {"nil": None, "true": True, "false": False}


class _Select:
    __slots__ = ("count", "side")

    def __init__(self, side: str, count: int) -> None:
        self.side, self.count = side, count


class _Head:
    """A top-level list that is not a node: the defsymphony form itself."""

    __slots__ = ("items", "offset")

    def __init__(self, items: list[Any], offset: int) -> None:
        self.items, self.offset = items, offset


__all__ = ["Unusual", "quick_parse"]


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.first = 0
        """Where the first top-level symbol is (the Def tab's defsymphony)."""

    def pos(self, offset: int) -> Pos:
        line = bisect_right(self.newlines, offset)
        return Pos(line + 1, offset - (self.newlines[line - 1] + 1 if line else 0) + 1)

    def children(self, forms: list[Any]) -> tuple[Node, ...]:
        """Node forms given bare or in vectors, as forms.py's `_children`."""
        if len(forms) == 1 and type(forms[0]) is Vec:  # the common case: one vector of nodes
            vector = forms[0]
            for item in vector:
                if type(item) not in _NODE_TYPES:
                    raise Unusual
            if not vector:
                raise Unusual
            return tuple(vector)
        found: list[Node] = []
        for form in forms:
            if type(form) is Vec:
                if not form or not all(type(item) in _NODE_TYPES for item in form):
                    raise Unusual
                found.extend(form)
            elif type(form) in _NODE_TYPES:
                found.append(form)
            else:
                raise Unusual
        if not found:
            raise Unusual
        return tuple(found)

    def window(self, form: Any) -> int:
        if isinstance(form, Map):
            if len(form.items) != 2 or form.items[0] != "window" or not isinstance(form.items[0], Kw):
                raise Unusual
            form = form.items[1]
        return _whole(form, MAX_WINDOW)

    def close(self, opener: str, items: list[Any], offset: int, end: int) -> Any:
        """The form of the list, vector or map that opens at `offset` and closes at `end`."""
        if opener == "[":
            return items  # a Vec from the start (see `read_simple`)
        if opener == "{":
            if len(items) % 2:
                raise Unusual
            return Map(items, offset)
        head = items[0] if items else None
        if not isinstance(head, Sym):
            raise Unusual
        name = FORM_ALIASES.get(head, head)
        build = _FORMS.get(name)
        if build is not None:
            return build(self, items[1:], offset)
        if name in COMPARATORS:
            if len(items) != 3:
                raise Unusual
            return Condition(str(name), self.operand(items[1], offset + 1 + len(name), -1),  # type: ignore[arg-type]
                             self.operand(items[2], -1, end), self.pos(offset))
        if name in ("select-top", "select-bottom"):
            if len(items) != 2:
                raise Unusual
            return _Select(name[7:], _whole(items[1], 10_000))
        indicator = canonical_indicator(name)
        if indicator is not None:
            return self.indicator(str(indicator), items[1:], offset)
        if name == "defsymphony":
            return _Head(items, offset)
        raise Unusual

    def operand(self, form: Any, after: int, before: int) -> Any:
        """A comparison's operand: the first form `after` an offset (the operator), or the last one
        `before` one (the closing bracket); a number's offset is found there when not known."""
        if isinstance(form, Num):
            offset = form.offset
            if offset < 0:
                offset = self.text.find(form.text, after) if after >= 0 else self.text.rfind(form.text, 0, before)
            return Number(form.value, self.pos(offset))
        if isinstance(form, IndicatorCall) and form.symbol is not None:
            return form
        raise Unusual

    def indicator(self, name: str, args: list[Any], offset: int) -> IndicatorCall:
        symbol = None
        if args and type(args[0]) is str:
            symbol = _ticker(args[0])
            args = args[1:]
        if len(args) > 1:
            raise Unusual
        options = INDICATORS[name].options
        if not options:
            if args:
                self.window(args[0])
            return IndicatorCall(name, symbol, None, self.pos(offset))
        if not args:
            raise Unusual
        if len(options) > 1:
            form = args[0]
            if not isinstance(form, Map) or len(form.items) != 2 * len(options):
                raise Unusual
            given = dict(zip(form.items[0::2], form.items[1::2], strict=True))
            if set(given) != set(options) or not all(isinstance(k, Kw) for k in given):
                raise Unusual
            params = tuple(_whole(given[key], MAX_WINDOW) for key in options)
            return IndicatorCall(name, symbol, None, self.pos(offset), params)
        return IndicatorCall(name, symbol, self.window(args[0]), self.pos(offset))

    def data(self, form: Any, depth: int = 1) -> Any:
        """An option value, as arguments.data reads it."""
        if depth > MAX_DATA_DEPTH:
            raise Unusual
        if isinstance(form, Num):
            return form.value
        if isinstance(form, Kw):
            return Keyword(str(form))
        if isinstance(form, Sym):
            if form not in _SCALARS:
                raise Unusual
            return _SCALARS[form]
        if type(form) is str:
            return form
        if isinstance(form, Vec):
            return tuple(self.data(item, depth + 1) for item in form)
        if isinstance(form, Map):
            values = [self.data(item, depth + 1) for item in form.items]
            return MappingProxyType(dict(zip(values[0::2], values[1::2], strict=True)))
        raise Unusual


def _whole(form: Any, maximum: int) -> int:
    """A whole number from 1 to `maximum` (a number, or digits in a string)."""
    if isinstance(form, Num):
        value = form.value
    elif type(form) is str and form.strip().isdigit():
        value = Decimal(form.strip())
    else:
        raise Unusual
    if value != value.to_integral_value() or not 1 <= value <= maximum:
        raise Unusual
    return int(value)


def _ticker(value: Any) -> str:
    try:
        return ticker_of(_string(value))
    except SymbolError:
        raise Unusual from None


def _string(form: Any) -> str:
    if type(form) is not str:
        raise Unusual
    return form


def _asset(b: _Builder, args: list[Any], offset: int) -> Node:
    if not 1 <= len(args) <= 2:
        raise Unusual
    name = None
    if len(args) == 2 and not (isinstance(args[1], Sym) and args[1] == "nil"):
        name = _string(args[1])
    return Asset(_ticker(args[0]), name, b.pos(offset))


def _empty(b: _Builder, args: list[Any], offset: int) -> Node:
    if args and not (len(args) == 1 and isinstance(args[0], Sym) and args[0] == "nil"):
        raise Unusual
    return Asset(CASH_PROXY, "cash (an empty block)", b.pos(offset), cash=True)


def _group(b: _Builder, args: list[Any], offset: int) -> Node:
    if len(args) < 2:
        raise Unusual
    return Group(_string(args[0]), b.children(args[1:]), b.pos(offset))


def _weight_equal(b: _Builder, args: list[Any], offset: int) -> Node:
    if not args:
        raise Unusual
    return WeightEqual(b.children(args), b.pos(offset))


def _weight_specified(b: _Builder, args: list[Any], offset: int) -> Node:
    first = args[0] if args else None
    if isinstance(first, Vec) and all(isinstance(w, Num | str) for w in first):
        weights, rest = list(first), args[1:]
        children = list(rest[0]) if len(rest) == 1 and isinstance(rest[0], Vec) else rest
        if len(children) != len(weights) or not weights:
            raise Unusual
    elif args and not len(args) % 2:
        weights, children = args[0::2], args[1::2]
    else:
        raise Unusual
    if not all(isinstance(w, Num) for w in weights):
        raise Unusual
    kids = []
    for child in children:
        nodes = b.children([child])
        at = b.pos(child.offset) if isinstance(child, Vec) else nodes[0].pos
        kids.append(equal_split(nodes, at))
    return WeightSpecified(normalised_weights(tuple(w.value for w in weights)), tuple(kids), b.pos(offset))


def _inverse_volatility(b: _Builder, args: list[Any], offset: int) -> Node:
    if len(args) < 2:
        raise Unusual
    return WeightInverseVolatility(b.window(args[0]), b.children(args[1:]), b.pos(offset))


def _filter(b: _Builder, args: list[Any], offset: int) -> Node:
    if len(args) < 3 or not isinstance(args[0], IndicatorCall) or args[0].symbol is not None:
        raise Unusual
    if not isinstance(args[1], _Select):
        raise Unusual
    return Filter(args[0], args[1].side, args[1].count, b.children(args[2:]), b.pos(offset))  # type: ignore[arg-type]


def _if(b: _Builder, args: list[Any], offset: int) -> Node:
    if len(args) != 3 or not isinstance(args[0], Condition):
        raise Unusual
    return If(args[0], b.children([args[1]]), b.children([args[2]]), b.pos(offset))


_FORMS = {
    "asset": _asset,
    "empty": _empty,
    "group": _group,
    "weight-equal": _weight_equal,
    "weight-specified": _weight_specified,
    "weight-inverse-volatility": _inverse_volatility,
    "filter": _filter,
    "if": _if,
}


def quick_parse(text: str, file: str) -> Symphony:
    """The Symphony of a well-formed file; Unusual if it is not the common case (see the module doc)."""
    b = _Builder(text)
    top = read_simple(text, b)
    if top is None:
        b = _Builder(text)
        top = read(text, b)
    if top and isinstance(top[0], Sym) and top[0] == "defsymphony":  # the editor's Def tab
        top = [_Head(top, b.first)]
    if len(top) != 1 or not isinstance(top[0], _Head):
        raise Unusual
    root = top[0]
    args = root.items[1:]
    if not args:
        raise Unusual
    name, rest = _string(args[0]), args[1:]
    options: dict[str, Any] = {}
    options_pos = None
    if rest and isinstance(rest[0], Map):
        pairs = rest[0].items
        keys = pairs[0::2]
        if not all(isinstance(k, Kw) for k in keys) or len(set(keys)) != len(keys):
            raise Unusual
        options = {str(k): b.data(v) for k, v in zip(keys, pairs[1::2], strict=True)}
        options_pos = b.pos(rest[0].offset)
        rest = rest[1:]
    if not rest:
        raise Unusual
    nodes = b.children(rest)
    body = equal_split(nodes, nodes[0].pos)
    return Symphony.build(name, body, options, source_file=file, pos=b.pos(root.offset), options_pos=options_pos)
