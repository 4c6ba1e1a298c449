"""Printing a Symphony back to the language; `parse_text(to_text(s)) == s` structurally.

Output follows Composer's layout (children vectors on their own lines). Indentation stops
growing past a cap so that very deep strategies print in linear, not quadratic, size.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeAlias

from services.strategy.language.indicators import INDICATORS
from services.strategy.language.nodes import (
    Asset,
    Condition,
    Filter,
    Group,
    If,
    IndicatorCall,
    Keyword,
    Node,
    Number,
    Operand,
    WeightEqual,
    WeightInverseVolatility,
)
from services.strategy.language.symphony import Symphony

_INDENT_CAP = 60
Piece: TypeAlias = str | tuple[Node, int]
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def number(value: Decimal) -> str:
    """Plain digits (`0.05`, `200`); scientific only for extreme exponents (`1E+400`), never `-0`."""
    value = value.normalize() if value else Decimal(0)
    if abs(value.adjusted()) > 30:
        return str(value)
    return format(value, "f")


def string(value: str) -> str:
    return '"' + "".join(_STRING_ESCAPES.get(c, c) for c in value) + '"'


def indicator(call: IndicatorCall) -> str:
    parts = [call.name]
    if call.symbol is not None:
        parts.append(string(call.symbol))
    if call.window is not None:
        parts.append(f"{{:window {call.window}}}")
    elif call.params:
        keys = INDICATORS[call.name].options
        parts.append("{" + ", ".join(f":{key} {value}" for key, value in zip(keys, call.params, strict=True)) + "}")
    return f"({' '.join(parts)})"


def operand(value: Operand) -> str:
    return number(value.value) if isinstance(value, Number) else indicator(value)


def condition(cond: Condition) -> str:
    return f"({cond.op} {operand(cond.left)} {operand(cond.right)})"


def data(value: Any) -> str:
    """An option value as EDN, without recursion."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            out.append(item.text)
        elif isinstance(item, Mapping):
            pieces: list[Any] = [_Raw("{")]
            for i, (key, val) in enumerate(item.items()):
                pieces += [_Raw(", " if i else ""), key, _Raw(" "), val]
            stack.extend(reversed([*pieces, _Raw("}")]))
        elif isinstance(item, tuple):
            pieces = [_Raw("[")]
            for i, val in enumerate(item):
                pieces += [_Raw(" " if i else ""), val]
            stack.extend(reversed([*pieces, _Raw("]")]))
        else:
            out.append(_scalar(item))
    return "".join(out)


class _Raw:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _scalar(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Keyword):
        return str(value)
    if isinstance(value, str):
        return string(value)
    raise TypeError(f"cannot print option value {value!r}")


def _vector(children: tuple[Node, ...], col: int) -> list[Piece]:
    col = min(col, _INDENT_CAP)
    pieces: list[Piece] = ["\n" + " " * col + "["]
    for i, child in enumerate(children):
        if i:
            pieces.append("\n" + " " * (col + 1))
        pieces.append((child, col + 1))
    pieces.append("]")
    return pieces


def _expand(node: Node, col: int) -> list[Piece]:
    if isinstance(node, Asset) and node.cash:
        return ["(empty)"]
    if isinstance(node, Asset):
        return [f"(asset {string(node.ticker)} {string(node.name) if node.name is not None else 'nil'})"]
    if isinstance(node, WeightEqual):
        return ["(weight-equal", *_vector(node.children, col + 2), ")"]
    if isinstance(node, Group):
        return [f"(group {string(node.name)}", *_vector(node.children, col + 2), ")"]
    if isinstance(node, WeightInverseVolatility):
        return [f"(weight-inverse-volatility {node.window}", *_vector(node.children, col + 2), ")"]
    if isinstance(node, Filter):
        head = f"(filter {indicator(node.indicator)} (select-{node.select} {node.count})"
        return [head, *_vector(node.children, col + 2), ")"]
    if isinstance(node, If):
        return [
            f"(if {condition(node.condition)}",
            *_vector(node.then, col + 4),
            *_vector(node.otherwise, col + 4),
            ")",
        ]
    pieces: list[Piece] = ["(weight-specified"]
    indent = min(col + 2, _INDENT_CAP)
    for weight, child in zip(node.weights, node.children, strict=True):
        text = number(weight) + " "
        pieces += ["\n" + " " * indent + text, (child, indent + len(text))]
    return [*pieces, ")"]


def to_text(symphony: Symphony) -> str:
    out = [f"(defsymphony {string(symphony.name)} {data(_keyed(symphony.options))}\n  "]
    stack: list[Piece] = [")\n", (symphony.body, 2)]
    while stack:
        piece = stack.pop()
        if isinstance(piece, str):
            out.append(piece)
        else:
            stack.extend(reversed(_expand(*piece)))
    return "".join(out)


def _keyed(options: Mapping[str, Any]) -> Mapping[Any, Any]:
    return {Keyword(key): value for key, value in options.items()}
