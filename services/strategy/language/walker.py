"""Evaluating the tree on one day: weights flow top-down from the root, decisions are recorded.

Each node hands its share of the portfolio to the children it holds; an asset adds its share
to its ticker. An explicit stack replaces recursion, so nesting depth is unbounded.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from services.strategy.language.context import EvalContext, expression, operand_text
from services.strategy.language.explanation import Builder, percent
from services.strategy.language.nodes import (
    NO_POS,
    Asset,
    Filter,
    Group,
    If,
    Node,
    Number,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
    label,
)

COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
    "=": operator.eq,
}
_SHOWN_CANDIDATES = 12
Step = tuple[str, dict[str, Any], list[tuple[Node, float]]]


def walk(root: Node, ctx: EvalContext, t: int) -> tuple[dict[str, float], Builder]:
    """Float weights per ticker on day index t, and the explanation of how they came about."""
    weights: dict[str, float] = {}
    top = Builder("root", "", 1.0, NO_POS, {})
    stack: list[tuple[Node, float, Builder]] = [(root, 1.0, top)]
    while stack:
        node, share, parent = stack.pop()
        text, facts, kids = _STEPS[type(node)](node, share, ctx, t)
        if isinstance(node, Asset):
            weights[node.ticker] = weights.get(node.ticker, 0.0) + share
        built = Builder(_KINDS[type(node)], text, share, node.pos, facts)
        parent.children.append(built)
        stack.extend((child, child_share, built) for child, child_share in reversed(kids))
    return weights, top


def _fmt(value: float) -> str:
    return f"{value:.4f}"


def _asset(node: Asset, share: float, ctx: EvalContext, t: int) -> Step:
    ctx.check_price(node, t)
    text = node.ticker + (f" ({node.name})" if node.name else "")
    if node.cash:
        text = f"empty (cash): held as {node.ticker}, the T-bill ETF Composer recommends for cash"
    return text, {"ticker": node.ticker}, []


def _equal(children: tuple[Node, ...], share: float) -> list[tuple[Node, float]]:
    return [(child, share / len(children)) for child in children]


def _group(node: Group, share: float, ctx: EvalContext, t: int) -> Step:
    return f"group '{node.name}'", {"name": node.name}, _equal(node.children, share)


def _weight_equal(node: WeightEqual, share: float, ctx: EvalContext, t: int) -> Step:
    return f"weight-equal over {len(node.children)}", {}, _equal(node.children, share)


def _weight_specified(node: WeightSpecified, share: float, ctx: EvalContext, t: int) -> Step:
    pairs = list(zip(node.weights, node.children, strict=True))
    text = "weight-specified " + ", ".join(f"{percent(w)} {label(c)}" for w, c in pairs)
    kids = [(child, share * float(weight)) for weight, child in pairs if weight > 0]
    return text, {"weights": tuple((label(c), w) for w, c in pairs)}, kids


def _if(node: If, share: float, ctx: EvalContext, t: int) -> Step:
    cond = node.condition
    left, right = ctx.operand(cond.left, t), ctx.operand(cond.right, t)
    holds = COMPARE[cond.op](left, right)
    branch = "then" if holds else "else"
    sides = []
    for operand, value in ((cond.left, left), (cond.right, right)):
        shown = operand_text(operand)
        sides.append(shown if isinstance(operand, Number) else f"{shown} = {_fmt(value)}")
    text = f"if {sides[0]} {cond.op} {sides[1]}: {str(holds).lower()} → {branch} branch"
    facts = {
        "operator": cond.op,
        "left": {"expression": operand_text(cond.left), "value": left},
        "right": {"expression": operand_text(cond.right), "value": right},
        "result": holds,
        "branch": branch,
    }
    return text, facts, _equal(node.then if holds else node.otherwise, share)


def _filter(node: Filter, share: float, ctx: EvalContext, t: int) -> Step:
    call = node.indicator
    scores = [ctx.score(child, call, t, call.pos) for child in node.children]
    names = [label(child) for child in node.children]
    top = node.select == "top"
    order = sorted(range(len(scores)), key=lambda i: -scores[i] if top else scores[i])
    chosen = order[: node.count]
    shown = [f"{names[i]} {_fmt(scores[i])}" for i in order[:_SHOWN_CANDIDATES]]
    more = len(order) - _SHOWN_CANDIDATES
    ranking = (" > " if top else " < ").join(shown) + (f" … {more} more" if more > 0 else "")
    text = (
        f"filter {expression(call)} select-{node.select} {node.count} of {len(scores)}: holds "
        f"{', '.join(names[i] for i in chosen)}; ranked {ranking}"
    )
    if node.duplicates:
        text += f" ({node.duplicates} duplicate candidate{'s' * (node.duplicates != 1)} counted once)"
    facts = {
        "indicator": call.name,
        "window": call.window,
        "select": node.select,
        "count": node.count,
        "scores": tuple(zip(names, scores, strict=True)),
        "ranking": tuple(names[i] for i in order),
        "selected": tuple(names[i] for i in chosen),
    }
    return text, facts, [(node.children[i], share / len(chosen)) for i in chosen]


def _inverse_volatility(node: WeightInverseVolatility, share: float, ctx: EvalContext, t: int) -> Step:
    vols = [ctx.volatility(child, node.window, t, node.pos) for child in node.children]
    inverse = [1.0 / v for v in vols]
    total = sum(inverse)
    weights = [x / total for x in inverse]
    names = [label(child) for child in node.children]
    text = f"weight-inverse-volatility {node.window}: " + ", ".join(
        f"{n} vol {_fmt(v)}% → {percent(w)}" for n, v, w in zip(names, vols, weights, strict=True)
    )
    facts = {
        "window": node.window,
        "volatilities": tuple(zip(names, vols, strict=True)),
        "weights": tuple(zip(names, weights, strict=True)),
    }
    return text, facts, [(c, share * w) for c, w in zip(node.children, weights, strict=True)]


_STEPS: dict[type, Callable[[Any, float, EvalContext, int], Step]] = {
    Asset: _asset,
    Group: _group,
    WeightEqual: _weight_equal,
    WeightSpecified: _weight_specified,
    WeightInverseVolatility: _inverse_volatility,
    Filter: _filter,
    If: _if,
}
_KINDS: dict[type, str] = {
    Asset: "asset",
    Group: "group",
    WeightEqual: "weight-equal",
    WeightSpecified: "weight-specified",
    WeightInverseVolatility: "weight-inverse-volatility",
    Filter: "filter",
    If: "if",
}
