"""Why the strategy holds what it holds: a tree of decisions, a readable rendering, bounded summaries."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType
from typing import Any

from services.strategy.language.nodes import Pos

_NINE_PLACES = Decimal("1e-9")
_INDENT_CAP = 24
MAX_LINE = 240


@dataclass(frozen=True, eq=False)
class Explanation:
    """One evaluated node: what it decided (`text`, and `facts` for programs) and its share of the portfolio.

    Kinds: symphony, asset, group, weight-equal, weight-specified, weight-inverse-volatility,
    if (facts: operator, left, right, result, branch), filter (facts: scores, ranking,
    selected). Only the branches taken are expanded.
    """

    kind: str
    text: str
    weight: Decimal
    line: int
    column: int
    facts: Mapping[str, Any]
    children: tuple[Explanation, ...] = ()

    def walk(self) -> Iterator[tuple[int, Explanation]]:
        """(depth, node) pairs, pre-order, without recursion."""
        stack: list[tuple[int, Explanation]] = [(0, self)]
        while stack:
            depth, node = stack.pop()
            yield depth, node
            stack.extend((depth + 1, child) for child in reversed(node.children))

    def find(self, kind: str) -> list[Explanation]:
        """Every node of a kind, pre-order."""
        return [node for _, node in self.walk() if node.kind == kind]

    def __repr__(self) -> str:
        return f"<Explanation {self.kind} {self.text[:60]!r}>"


@dataclass(slots=True)
class Builder:
    """Mutable explanation node, filled while walking the tree; `freeze` makes the final tree."""

    kind: str
    text: str
    share: float
    pos: Pos
    facts: dict[str, Any]
    children: list[Builder] = field(default_factory=list)


def share_decimal(share: float) -> Decimal:
    found = _SHARES.get(share)
    if found is None:
        found = Decimal(share).quantize(_NINE_PLACES, ROUND_HALF_EVEN)
        if len(_SHARES) < 100_000:
            _SHARES[share] = found
    return found


_SHARES: dict[float, Decimal] = {}
"""Shares already converted (most are 1/2^k or 1/3 of a parent's)."""


def freeze(root: Builder) -> Explanation:
    order: list[Builder] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    done: dict[int, Explanation] = {}
    pop = done.pop
    for node in reversed(order):
        pos = node.pos
        done[id(node)] = Explanation(node.kind, node.text, share_decimal(node.share), pos.line, pos.column,
                                     MappingProxyType(node.facts), tuple([pop(id(child)) for child in node.children]))
    return done[id(root)]


def percent(weight: Decimal | float) -> str:
    return f"{float(weight) * 100:.2f}%"


def targets_text(weights: Mapping[str, Decimal], limit: int = 10) -> str:
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    shown = ", ".join(f"{symbol} {percent(weight)}" for symbol, weight in ranked[:limit])
    return shown + (f", and {len(ranked) - limit} more" if len(ranked) > limit else "")


def tree_lines(root: Explanation) -> Iterator[str]:
    """The root's text, then one line per node below it, indented by depth (capped)."""
    for depth, node in root.walk():
        if depth == 0:
            yield node.text
            continue
        indent = "  " * min(depth, _INDENT_CAP) + (f"[depth {depth}] " if depth > _INDENT_CAP else "")
        yield f"{indent}{node.text} [{percent(node.weight)}, line {node.line}]"


def clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def bounded(lines: Iterator[str], limit: int) -> tuple[str, ...]:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    kept: list[str] = []
    extra = 0
    for line in lines:
        if len(kept) < limit:
            kept.append(clip(line))
        else:
            extra += 1
    if extra and limit > 1:  # with room for one line only, the headline is worth more
        kept[-1] = f"… {extra + 1} more lines (see the full explanation)"
    return tuple(kept)
