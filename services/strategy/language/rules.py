"""What every node does, once, over a day axis.

A rule maps a node's share of the portfolio on some days (an array: the days it is reached), and
what it reads on those days, to its children's shares on the same days. The same rule serves
every use: the one-day evaluation a Lambda runs (one day), the backtest (every session at once),
and a group's replay (every day of the history, with a share of 1, whose children's shares are the
group's holdings: portfolio.py). A day on which a node cannot decide is reported with the problem
(problems.py), never guessed; `explain` words a decision for the explanation tree from the values
the rule recorded for that day.

Adding a node type: its class (nodes.py), its parser (forms.py), printer, score (JSON) and static
checks (analysis.py), and its `split` and `explain` here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from services.strategy.language.explanation import percent
from services.strategy.language.indicators import BoolArray, FloatArray
from services.strategy.language.nodes import (
    Asset,
    Filter,
    Group,
    If,
    IndicatorCall,
    Node,
    Number,
    Operand,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
    label,
)
from services.strategy.language.problems import (
    Problem,
    Undefined,
    Unscored,
    ZeroVolatility,
    expression,
    operand_text,
)

IntArray = npt.NDArray[np.int64]

COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
    "=": np.equal,
}
_SHOWN_CANDIDATES = 12


class Inputs(Protocol):
    """What a rule reads on given days (indices into the history)."""

    def operand(self, operand: Operand, days: IntArray) -> FloatArray | float: ...

    def scores(self, children: Sequence[Node], call: IndicatorCall, days: IntArray) -> FloatArray:
        """(len(children), len(days)): the indicator of each candidate (its own, or its portfolio's)."""
        ...


@dataclass(slots=True)
class Split:
    """The children a node can hand a share to, and their shares on the node's days."""

    kids: Sequence[Node]
    shares: list[FloatArray]
    reasons: IntArray | None = None
    """Per day: -1 where the node decides, else the index in `problems` of why it cannot."""
    problems: Sequence[Problem] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    """The values decided on (recorded only when asked: `explain` reads them)."""


def inputs_of(node: Node) -> tuple[Node, ...]:
    """The children that can ever receive a share (a weight-specified child of weight 0 never does)."""
    if isinstance(node, Asset):
        return ()
    if isinstance(node, If):
        return node.then + node.otherwise
    if isinstance(node, WeightSpecified):
        return tuple(c for w, c in zip(node.weights, node.children, strict=True) if w > 0)
    return node.children


def split(node: Node, inputs: Inputs, days: IntArray, share: FloatArray, record: bool = False) -> Split:
    return _SPLITS[type(node)](node, inputs, days, share, record)


def _equal(node: Group | WeightEqual, inputs: Inputs, days: IntArray, share: FloatArray, record: bool) -> Split:
    part = share / len(node.children)
    return Split(node.children, [part] * len(node.children))


def _weight_specified(node: WeightSpecified, inputs: Inputs, days: IntArray, share: FloatArray,
                      record: bool) -> Split:
    pairs = [(w, c) for w, c in zip(node.weights, node.children, strict=True) if w > 0]
    return Split([c for _, c in pairs], [share * float(w) for w, _ in pairs])


def _side(operand: Operand, inputs: Inputs, days: IntArray) -> FloatArray:
    value = inputs.operand(operand, days)
    return np.full(days.shape, value) if isinstance(value, float) else value


def _if(node: If, inputs: Inputs, days: IntArray, share: FloatArray, record: bool) -> Split:
    cond = node.condition
    left, right = _side(cond.left, inputs, days), _side(cond.right, inputs, days)
    problems: list[Problem] = []
    reasons = None
    for operand, values in ((cond.left, left), (cond.right, right)):
        if isinstance(operand, IndicatorCall):
            assert operand.symbol is not None
            missing = np.isnan(values)
            if missing.any():
                reasons = np.full(days.shape, -1, dtype=np.int64) if reasons is None else reasons
                reasons[missing & (reasons < 0)] = len(problems)
            problems.append(Undefined(operand, operand.symbol, operand.pos))
    holds = COMPARE[cond.op](left, right)  # False where a side is NaN (quietly: comparisons do not warn)
    then = np.where(holds, share, 0.0) / len(node.then)
    otherwise = np.where(holds, 0.0, share) / len(node.otherwise)
    facts = {"left": left, "right": right, "holds": holds} if record else {}
    return Split(node.then + node.otherwise, [then] * len(node.then) + [otherwise] * len(node.otherwise),
                 reasons, problems, facts)


def _score_problems(children: Sequence[Node], call: IndicatorCall, at: Any) -> list[Problem]:
    return [Undefined(call, c.ticker, at) if isinstance(c, Asset) else Unscored(c, call, at) for c in children]


def _first(bad: BoolArray) -> IntArray | None:
    """Per day (column): the first row that is bad, or -1; None when no day has one."""
    if not bad.any():
        return None
    return np.where(bad.any(axis=0), bad.argmax(axis=0), -1).astype(np.int64)


def _filter(node: Filter, inputs: Inputs, days: IntArray, share: FloatArray, record: bool) -> Split:
    call = node.indicator
    scores = inputs.scores(node.children, call, days)
    reasons = _first(np.isnan(scores))
    k = len(node.children)
    count = min(node.count, k)
    facts: dict[str, Any] = {"scores": scores} if record else {}
    part = share / count
    if count == k:
        if record:
            facts["order"] = np.argsort(-scores if node.select == "top" else scores, axis=0, kind="stable")
        return Split(node.children, [part] * k, reasons, _score_problems(node.children, call, call.pos), facts)
    order = np.argsort(-scores if node.select == "top" else scores, axis=0, kind="stable")
    chosen = np.zeros(scores.shape, dtype=np.bool_)
    np.put_along_axis(chosen, order[:count], True, axis=0)
    if record:
        facts["order"] = order
    return Split(node.children, [np.where(chosen[i], part, 0.0) for i in range(k)], reasons,
                 _score_problems(node.children, call, call.pos), facts)


def _inverse_volatility(node: WeightInverseVolatility, inputs: Inputs, days: IntArray, share: FloatArray,
                        record: bool) -> Split:
    call = IndicatorCall("stdev-return", None, node.window, node.pos)
    vols = inputs.scores(node.children, call, days)
    missing = np.isnan(vols)
    reasons = _first(missing | ~(vols > 0.0))
    problems = _score_problems(node.children, call, node.pos)
    if reasons is not None:
        first_missing = np.take_along_axis(missing, np.maximum(reasons, 0)[None, :], axis=0)[0]
        reasons = np.where((reasons >= 0) & ~first_missing, reasons + len(node.children), reasons)
        problems += [ZeroVolatility(c, node.window, node.pos) for c in node.children]
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = 1.0 / vols
        total = inverse[0].copy()  # left to right, as a reader would add them
        for row in inverse[1:]:
            total += row
        weights = inverse / total
    facts = {"vols": vols, "weights": weights} if record else {}
    return Split(node.children, [share * weights[i] for i in range(len(node.children))], reasons, problems, facts)


_SPLITS: dict[type, Callable[[Any, Inputs, IntArray, FloatArray, bool], Split]] = {
    Group: _equal,
    WeightEqual: _equal,
    WeightSpecified: _weight_specified,
    If: _if,
    Filter: _filter,
    WeightInverseVolatility: _inverse_volatility,
}


# ---------------------------------------------------------------------------------------- explanations


def _fmt(value: float) -> str:
    return f"{value:.4f}"


def explain(node: Node, facts: dict[str, Any], j: int) -> tuple[str, str, dict[str, Any]]:
    """(kind, text, facts) of `node`'s decision on day position j, from the values `split` recorded."""
    kind, words = _WORDS[type(node)]
    text, shown = words(node, facts, j)
    return kind, text, shown


def _asset_words(node: Asset, facts: dict[str, Any], j: int) -> tuple[str, dict[str, Any]]:
    text = node.ticker + (f" ({node.name})" if node.name else "")
    if node.cash:
        text = f"empty (cash): held as {node.ticker}, the T-bill ETF Composer recommends for cash"
    return text, {"ticker": node.ticker}


def _group_words(node: Group, facts: dict[str, Any], j: int) -> tuple[str, dict[str, Any]]:
    return f"group '{node.name}'", {"name": node.name}


def _equal_words(node: WeightEqual, facts: dict[str, Any], j: int) -> tuple[str, dict[str, Any]]:
    return f"weight-equal over {len(node.children)}", {}


def _specified_words(node: WeightSpecified, facts: dict[str, Any], j: int) -> tuple[str, dict[str, Any]]:
    pairs = list(zip(node.weights, node.children, strict=True))
    text = "weight-specified " + ", ".join(f"{percent(w)} {label(c)}" for w, c in pairs)
    return text, {"weights": tuple((label(c), w) for w, c in pairs)}


def _if_words(node: If, facts: dict[str, Any], j: int) -> tuple[str, dict[str, Any]]:
    cond = node.condition
    left, right, holds = float(facts["left"][j]), float(facts["right"][j]), bool(facts["holds"][j])
    branch = "then" if holds else "else"
    sides = []
    for operand, value in ((cond.left, left), (cond.right, right)):
        shown = operand_text(operand)
        sides.append(shown if isinstance(operand, Number) else f"{shown} = {_fmt(value)}")
    text = f"if {sides[0]} {cond.op} {sides[1]}: {str(holds).lower()} → {branch} branch"
    return text, {
        "operator": cond.op,
        "left": {"expression": operand_text(cond.left), "value": left},
        "right": {"expression": operand_text(cond.right), "value": right},
        "result": holds,
        "branch": branch,
    }


def _filter_words(node: Filter, facts: dict[str, Any], j: int) -> tuple[str, dict[str, Any]]:
    call = node.indicator
    scores = [float(s) for s in facts["scores"][:, j]]
    order = [int(i) for i in facts["order"][:, j]]
    names = [label(child) for child in node.children]
    top = node.select == "top"
    chosen = order[: node.count]
    shown = [f"{names[i]} {_fmt(scores[i])}" for i in order[:_SHOWN_CANDIDATES]]
    more = len(order) - _SHOWN_CANDIDATES
    ranking = (" > " if top else " < ").join(shown) + (f" … {more} more" if more > 0 else "")
    text = (f"filter {expression(call)} select-{node.select} {node.count} of {len(scores)}: holds "
            f"{', '.join(names[i] for i in chosen)}; ranked {ranking}")
    if node.duplicates:
        text += f" ({node.duplicates} duplicate candidate{'s' * (node.duplicates != 1)} counted once)"
    return text, {
        "indicator": call.name,
        "window": call.window,
        "select": node.select,
        "count": node.count,
        "scores": tuple(zip(names, scores, strict=True)),
        "ranking": tuple(names[i] for i in order),
        "selected": tuple(names[i] for i in chosen),
    }


def _inverse_volatility_words(node: WeightInverseVolatility, facts: dict[str, Any],
                              j: int) -> tuple[str, dict[str, Any]]:
    vols = [float(v) for v in facts["vols"][:, j]]
    weights = [float(w) for w in facts["weights"][:, j]]
    names = [label(child) for child in node.children]
    text = f"weight-inverse-volatility {node.window}: " + ", ".join(
        f"{n} vol {_fmt(v)}% → {percent(w)}" for n, v, w in zip(names, vols, weights, strict=True))
    return text, {
        "window": node.window,
        "volatilities": tuple(zip(names, vols, strict=True)),
        "weights": tuple(zip(names, weights, strict=True)),
    }


_WORDS: dict[type, tuple[str, Callable[[Any, dict[str, Any], int], tuple[str, dict[str, Any]]]]] = {
    Asset: ("asset", _asset_words),
    Group: ("group", _group_words),
    WeightEqual: ("weight-equal", _equal_words),
    WeightSpecified: ("weight-specified", _specified_words),
    WeightInverseVolatility: ("weight-inverse-volatility", _inverse_volatility_words),
    Filter: ("filter", _filter_words),
    If: ("if", _if_words),
}
