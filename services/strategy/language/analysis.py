"""Static facts about a strategy tree: validity rules, tickers used, history needed."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import Any

from services.strategy.language.indicators import INDICATORS, MAX_WINDOW
from services.strategy.language.nodes import (
    Asset,
    Filter,
    Group,
    If,
    IndicatorCall,
    Node,
    Number,
    Pos,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
    child_nodes,
    iter_nodes,
)

RETURN_BASED = tuple(name for name, spec in INDICATORS.items() if spec.return_based)


def _window_problem(call: IndicatorCall) -> str | None:
    spec = INDICATORS.get(call.name)
    if spec is None:
        return f"unknown indicator '{call.name}'"
    if not spec.options:
        return None
    if len(call.args) != len(spec.options) or not all(1 <= w <= MAX_WINDOW for w in call.args):
        if spec.options == ("window",):
            return f"{call.name} needs a window from 1 to {MAX_WINDOW}"
        keys = ", ".join(f":{key} N" for key in spec.options)
        return f"{call.name} needs {{{keys}}}, each from 1 to {MAX_WINDOW}"
    if len(call.args) > 1 and call.args[0] >= call.args[1]:
        return f"{call.name} needs :short-window below :long-window, got {call.args[0]} and {call.args[1]}"
    return None


WEIGHT_SUM_TOLERANCE = Decimal("1e-9")
"""Composer writes float noise (0.8332999999999999 + 0.16670000000000001): a sum within this of 1
is accepted and normalised exactly (`normalised_weights`); anything further off is an error."""
_NORMAL_PLACES = Decimal("1e-20")


def normalised_weights(weights: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    """Weights summing to exactly 1 when they sum to 1 within WEIGHT_SUM_TOLERANCE; else unchanged.

    Float noise first: if rounding every weight to 15, 12 or 10 places makes them sum to exactly 1
    (0.8332999999999999 -> 0.8333), those are the weights meant. Otherwise each is divided by the
    sum and rounded to 20 places, the residue on the largest (the first of equals): exact, and
    within 1e-19 of the written proportions."""
    total = sum(weights, Decimal(0))
    if total == 1 or not weights or abs(total - 1) > WEIGHT_SUM_TOLERANCE or any(w < 0 for w in weights):
        return weights
    for places in (15, 12, 10):
        step = Decimal(1).scaleb(-places)
        rounded = tuple(w.quantize(step).normalize() for w in weights)
        if sum(rounded, Decimal(0)) == 1:
            return rounded
    with localcontext() as ctx:
        ctx.prec = 40
        scaled = [(w / total).quantize(_NORMAL_PLACES) for w in weights]
        largest = max(range(len(scaled)), key=lambda i: (scaled[i], -i))
        scaled[largest] += Decimal(1) - sum(scaled, Decimal(0))
    return tuple(scaled)


def _weights_problem(node: WeightSpecified) -> str | None:
    if len(node.weights) != len(node.children):
        return "weight-specified needs one weight per child"
    if any(w < 0 for w in node.weights):
        return "weight-specified weights cannot be negative"
    total = sum(node.weights, Decimal(0))
    if total != 1:
        shown = " + ".join(str(w) for w in node.weights) if len(node.weights) <= 6 else "they"
        hint = "; write fractions such as 0.6, not percentages" if total == 100 else ""
        return ("the weights of weight-specified must sum to 1 (within 1e-9), "
                f"but {shown} = {total}{hint}")
    return None


def node_problem(node: Node) -> tuple[Pos, str] | None:
    """The first rule `node` breaks (not looking into its children), with where to point."""
    if isinstance(node, Asset):
        return None if node.ticker else (node.pos, "an asset needs a ticker")
    kids = child_nodes(node)
    if isinstance(node, If):
        if not node.then or not node.otherwise:
            return node.pos, "if needs a then-branch and an else-branch with at least one node each"
        for operand in (node.condition.left, node.condition.right):
            if isinstance(operand, Number):
                continue
            problem = _window_problem(operand) or (None if operand.symbol else f"{operand.name} needs a ticker")
            if problem:
                return operand.pos, problem
        return None
    if not kids:
        return node.pos, f"{type(node).__name__} needs at least one child"
    if isinstance(node, WeightSpecified):
        problem = _weights_problem(node)
        return (node.pos, problem) if problem else None
    if isinstance(node, WeightInverseVolatility) and not 2 <= node.window <= MAX_WINDOW:
        return node.pos, (
            f"weight-inverse-volatility needs a window from 2 to {MAX_WINDOW} "
            "(the deviation of a single return is always 0)"
        )
    if isinstance(node, Filter):
        return _filter_problem(node)
    return None


def _filter_problem(node: Filter) -> tuple[Pos, str] | None:
    call = node.indicator
    problem = _window_problem(call)
    if problem is None and call.symbol is not None:
        problem = "a filter's indicator takes no ticker"
    if problem is None and node.count < 1:
        problem = "select-top/select-bottom needs a count of at least 1"
    if problem is None and not INDICATORS[call.name].return_based:
        others = [c for c in node.children if not isinstance(c, Asset)]
        if others:
            kind = "group" if isinstance(others[0], Group) else "block"
            problem = (
                f"this filter ranks a {kind} (line {others[0].pos.line}) by {call.name}, but a {kind} "
                f"has no price; use a return-based indicator: {', '.join(RETURN_BASED)}"
            )
    return (call.pos, problem) if problem else None


def symbols_of(root: Node) -> tuple[str, ...]:
    """Every ticker the tree holds or reads an indicator of, sorted."""
    found: set[str] = set()
    for node in iter_nodes(root):
        if isinstance(node, Asset):
            found.add(node.ticker)
        elif isinstance(node, If):
            for operand in (node.condition.left, node.condition.right):
                if isinstance(operand, IndicatorCall) and operand.symbol:
                    found.add(operand.symbol)
    return tuple(sorted(found))


def survey(root: Node) -> tuple[tuple[Pos, str] | None, tuple[str, ...], int]:
    """In one pass over the tree: the first rule a node breaks (pre-order, as a reader meets them),
    the tickers it uses (`symbols_of`) and its lookback (`lookback_of`)."""
    order: list[Node] = []
    symbols: set[str] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        if isinstance(node, Asset):
            symbols.add(node.ticker)
            continue
        problem = node_problem(node)
        if problem is not None:
            return problem, (), 0
        if isinstance(node, If):
            for operand in (node.condition.left, node.condition.right):
                if isinstance(operand, IndicatorCall) and operand.symbol:
                    symbols.add(operand.symbol)
            stack.extend(reversed(node.then + node.otherwise))
        else:
            stack.extend(reversed(node.children))
    return None, tuple(sorted(symbols)), _needs(order, warm_up=True)


def lookback_of(root: Node, *, warm_up: bool = True) -> int:
    """Trading days of closes (ending on the evaluation day) that evaluating `root` reads.

    A group ranked or weighted by an indicator needs its own history replayed over the
    indicator's span, so nested requirements add up. Without `warm_up`: the bare minimum
    below which some value is undefined.
    """

    return _needs(list(iter_nodes(root)), warm_up=warm_up)


def _needs(order: list[Node], *, warm_up: bool) -> int:
    """`lookback_of` the first node of `order`, a pre-order listing of its tree."""
    known: dict[tuple[str, tuple[int, ...]], int] = {}

    def _bars(call: IndicatorCall | Number) -> int:
        if isinstance(call, Number):
            return 1
        key = (call.name, call.args)
        found = known.get(key)
        if found is None:
            spec = INDICATORS[call.name]
            found = known[key] = spec.lookback_bars(call.args) if warm_up else spec.min_bars(call.args)
        return found

    need: dict[int, int] = {}
    for node in reversed(order):
        kids = child_nodes(node)
        here = max((need[id(k)] for k in kids), default=1)
        if isinstance(node, If):
            here = max(here, _bars(node.condition.left), _bars(node.condition.right))
        elif isinstance(node, Filter):
            bars = _bars(node.indicator)
            here = max([here, *(bars if isinstance(k, Asset) else need[id(k)] + bars - 1 for k in kids)])
        elif isinstance(node, WeightInverseVolatility):
            here = max([here, *(node.window + 1 if isinstance(k, Asset) else need[id(k)] + node.window for k in kids)])
        need[id(node)] = here
    return need[id(order[0])]


def rebalance_threshold_of(options: Mapping[str, Any]) -> Decimal | None:
    """`:rebalance-threshold` as a Decimal in (0, 1), or None; ValueError says what is wrong."""
    value = options.get("rebalance-threshold")
    if value is None:
        return None
    if not isinstance(value, Decimal) or not 0 < value < 1:
        raise ValueError(f":rebalance-threshold must be a number between 0 and 1 (0.05 = 5 points), got {value}")
    return value


def corridor_width_of(options: Mapping[str, Any]) -> Decimal | None:
    """`:rebalance-corridor-width` as a Decimal in (0, 1), or None (Composer: only with `:rebalance :none`)."""
    value = options.get("rebalance-corridor-width")
    if value is None:
        return None
    if not isinstance(value, Decimal) or not 0 < value < 1:
        raise ValueError(f":rebalance-corridor-width must be a number between 0 and 1 (0.05 = 5 points), got {value}")
    return value


def equal_split(children: tuple[Node, ...], pos: Pos) -> Node:
    """One node for a vector of children: itself if alone, else an equal-weight block."""
    return children[0] if len(children) == 1 else WeightEqual(children, pos)
