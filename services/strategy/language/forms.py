"""From read forms to the strategy tree: one parser per form, driven by an explicit stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from services.strategy.language import arguments as arg
from services.strategy.language.analysis import equal_split, normalised_weights
from services.strategy.language.errors import StrategyError
from services.strategy.language.indicators import INDICATORS
from services.strategy.language.nodes import (
    CASH_PROXY,
    Asset,
    Filter,
    Group,
    If,
    Node,
    Pos,
    Selection,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
)
from services.strategy.language.reader import Atom, Form, Seq, describe
from services.strategy.language.symphony import Symphony

NODE_FORMS = ("asset", "group", "weight-equal", "weight-specified", "weight-inverse-volatility", "filter", "if",
              "empty")
FORM_ALIASES = {
    "weight-inverse-vol": "weight-inverse-volatility",
    "weight-cash-equal": "weight-equal",
    "weight-cash-specified": "weight-specified",
}
"""Composer's other spellings (its exports write weight-inverse-vol; its JSON score wt-cash-*)."""
_USAGE = {
    "asset": '(asset "SPY") or (asset "SPY" "SPDR S&P 500 ETF")',
    "group": '(group "name" [(weight-equal [...])])',
    "weight-equal": "(weight-equal [child ...])",
    "weight-specified": "(weight-specified 0.6 child 0.4 child)",
    "weight-inverse-volatility": "(weight-inverse-volatility 20 [child ...])",
    "filter": "(filter (rsi {:window 10}) (select-top 2) [child ...])",
    "if": '(if (> (rsi "SPY" {:window 10}) 70) [then ...] [else ...])',
    "empty": "(empty)",
}
Slots = list[tuple[Node, ...]]


@dataclass
class _Plan:
    make: Callable[[Slots], Node]
    slots: list[list[Seq]]


def build_symphony(forms: list[Form], file: str) -> Symphony:
    usage = '(defsymphony "name" {:rebalance-threshold 0.05} (weight-equal [...]))'
    if not forms:
        raise StrategyError(file, 1, 1, f"the file has no strategy: expected {usage}")
    root = forms[0]
    if isinstance(root, Atom) and root.kind == "symbol" and root.text == "defsymphony":
        # the editor's "Def" tab: the defsymphony form without its outer parentheses
        root = Seq("list", root.line, root.column, list(forms))
        forms = [root]
    if not isinstance(root, Seq) or arg.head_of(root) != "defsymphony":
        raise arg.fail(file, root, f"expected {usage}, found {describe(root)}")
    if len(forms) > 1:
        raise arg.fail(file, forms[1], f"expected only one defsymphony per file, found {describe(forms[1])} after it")
    args = root.items[1:]
    if not args:
        raise arg.fail(file, root, f"defsymphony needs a name, options and a body: {usage}")
    name = arg.expect_string(args[0], "the symphony's name", file)
    rest = args[1:]
    options: dict[str, object] = {}
    options_pos = None
    if rest and isinstance(rest[0], Seq) and rest[0].kind == "map":
        options, options_pos = arg.options(rest[0], file), arg.pos_of(rest[0])
        rest = rest[1:]
    if not rest:
        raise arg.fail(file, root, f"defsymphony needs a body after its name and options: {usage}")
    body_forms = _children(rest, "the symphony's body", root, file)
    body = equal_split(build_nodes(body_forms, file), arg.pos_of(body_forms[0]))
    return Symphony.build(name, body, options, source_file=file, pos=arg.pos_of(root), options_pos=options_pos)


def build_nodes(roots: list[Seq], file: str) -> tuple[Node, ...]:
    """Parse node forms depth-first without recursion: plan parents first, build children first."""
    plans: dict[int, _Plan] = {}
    order: list[Seq] = []
    stack = list(roots)
    while stack:
        seq = stack.pop()
        plan = _plan(seq, file)
        plans[id(seq)] = plan
        order.append(seq)
        for slot in plan.slots:
            stack.extend(slot)
    built: dict[int, Node] = {}
    for seq in reversed(order):
        plan = plans.pop(id(seq))
        built[id(seq)] = plan.make([tuple(built.pop(id(child)) for child in slot) for slot in plan.slots])
    return tuple(built[id(seq)] for seq in roots)


def _children(forms: list[Form], what: str, owner: Form, file: str) -> list[Seq]:
    """Node forms given bare or in vectors: `[(asset "A") (asset "B")]` or `(asset "A")`."""
    found: list[Seq] = []
    for form in forms:
        items = form.items if isinstance(form, Seq) and form.kind == "vector" else [form]
        if isinstance(form, Seq) and form.kind == "vector" and not form.items:
            raise arg.fail(file, form, f'{what} is empty; expected at least one node such as (asset "SPY")')
        for item in items:
            if not (isinstance(item, Seq) and item.kind == "list"):
                raise arg.fail(
                    file, item, f'expected a node such as (asset "SPY") or (if ...) in {what}, found {describe(item)}'
                )
            found.append(item)
    if not found:
        raise arg.fail(file, owner, f"{what} is missing; expected at least one node")
    return found


def _plan(seq: Seq, file: str) -> _Plan:
    head = arg.head_of(seq)
    if head is None:
        raise arg.fail(
            file, seq, f'expected a node such as (asset "SPY") or (weight-equal [...]), found {describe(seq)}'
        )
    head = FORM_ALIASES.get(head, head)
    if head not in NODE_FORMS:
        raise arg.fail(file, seq.items[0], _misplaced(head))
    return _PARSERS[head](seq, seq.items[1:], file)


def _misplaced(head: str) -> str:
    if arg.canonical_indicator(head):
        return (
            f"{head} is an indicator, not a node: use it in a condition such as "
            f'(if (> ({head} "SPY" {{:window 10}}) 50) ...) or as a filter\'s ranking'
        )
    if head in arg.COMPARATORS:
        return f"a comparison ({head} ...) can only be the condition of an if"
    if head in ("select-top", "select-bottom"):
        return f"({head} N) belongs inside a filter: {_USAGE['filter']}"
    if head == "defsymphony":
        return "defsymphony can only appear once, at the top of the file"
    known = (*NODE_FORMS, *FORM_ALIASES, *INDICATORS)
    return f"unknown form '{head}'{arg.did_you_mean(head, known)}; expected one of {', '.join(NODE_FORMS)}"


def _arity(seq: Seq, form: str, found: int, expected: str, file: str) -> StrategyError:
    return arg.fail(
        file, seq, f"{form} takes {expected}, found {found} argument{'s' * (found != 1)}: write {_USAGE[form]}"
    )


def _asset(seq: Seq, args: list[Form], file: str) -> _Plan:
    if not 1 <= len(args) <= 2:
        raise _arity(seq, "asset", len(args), "a ticker and an optional name", file)
    name: str | None = None
    if len(args) == 2 and not (isinstance(args[1], Atom) and args[1].text == "nil"):
        name = arg.expect_string(args[1], "the asset's name (or nil)", file)
    node = Asset(arg.ticker(args[0], file), name, arg.pos_of(seq))
    return _Plan(lambda _: node, [])


def _empty(seq: Seq, args: list[Form], file: str) -> _Plan:
    if args and not (len(args) == 1 and isinstance(args[0], Atom) and args[0].text == "nil"):
        raise _arity(seq, "empty", len(args), "no arguments", file)
    node = Asset(CASH_PROXY, "cash (an empty block)", arg.pos_of(seq), cash=True)
    return _Plan(lambda _: node, [])


def _group(seq: Seq, args: list[Form], file: str) -> _Plan:
    if len(args) < 2:
        raise _arity(seq, "group", len(args), "a name and its children", file)
    name = arg.expect_string(args[0], "the group's name", file)
    kids = _children(args[1:], f"group '{name}'", seq, file)
    return _Plan(lambda s: Group(name, s[0], arg.pos_of(seq)), [kids])


def _weight_equal(seq: Seq, args: list[Form], file: str) -> _Plan:
    if not args:
        raise _arity(seq, "weight-equal", 0, "its children", file)
    kids = _children(args, "weight-equal", seq, file)
    return _Plan(lambda s: WeightEqual(s[0], arg.pos_of(seq)), [kids])


def _weight_pairs(seq: Seq, args: list[Form], file: str) -> tuple[list[Form], list[Form]]:
    """(weights, children) of `w1 child1 w2 child2 ...`, or of the editor's Def-tab form
    `[w1 w2 ...] [child1 child2 ...]` (or `[w1 w2 ...] child1 child2 ...`)."""
    first = args[0] if args else None
    if isinstance(first, Seq) and first.kind == "vector" and all(isinstance(w, Atom) for w in first.items):
        weights = first.items
        rest = args[1:]
        children = rest[0].items if len(rest) == 1 and isinstance(rest[0], Seq) and rest[0].kind == "vector" else rest
        if len(children) != len(weights) or not weights:
            raise arg.fail(file, seq, f"weight-specified has {len(weights)} weights and {len(children)} children: "
                                      "write one weight per child, as [0.6 0.4] [(asset \"A\") (asset \"B\")]")
        return weights, children
    if not args or len(args) % 2:
        raise _arity(seq, "weight-specified", len(args), "weight/child pairs", file)
    return args[0::2], args[1::2]


def _weight_specified(seq: Seq, args: list[Form], file: str) -> _Plan:
    weights: list[Decimal] = []
    slots: list[list[Seq]] = []
    written, children = _weight_pairs(seq, args, file)
    for weight, child in zip(written, children, strict=True):
        weights.append(arg.expect_number(weight, "a weight", file))
        slots.append(_children([child], "weight-specified", seq, file))
    positions = [arg.pos_of(child) for child in children]

    def make(s: Slots) -> Node:
        kids = tuple(equal_split(nodes, at) for nodes, at in zip(s, positions, strict=True))
        return WeightSpecified(normalised_weights(tuple(weights)), kids, arg.pos_of(seq))

    return _Plan(make, slots)


def _inverse_volatility(seq: Seq, args: list[Form], file: str) -> _Plan:
    if len(args) < 2:
        raise _arity(seq, "weight-inverse-volatility", len(args), "a window and its children", file)
    window = arg.expect_window(args[0], "weight-inverse-volatility", file)
    kids = _children(args[1:], "weight-inverse-volatility", seq, file)
    return _Plan(lambda s: WeightInverseVolatility(window, s[0], arg.pos_of(seq)), [kids])


def _filter(seq: Seq, args: list[Form], file: str) -> _Plan:
    if len(args) < 3:
        raise _arity(seq, "filter", len(args), "an indicator, a selection and candidates", file)
    ranking, selector = args[0], args[1]
    if not (isinstance(ranking, Seq) and ranking.kind == "list"):
        raise arg.fail(
            file, ranking, f"expected the filter's indicator such as (rsi {{:window 10}}), found {describe(ranking)}"
        )
    indicator = arg.indicator(ranking, file, with_ticker=False)
    select = arg.head_of(selector) if isinstance(selector, Seq) else None
    if not isinstance(selector, Seq) or select not in ("select-top", "select-bottom"):
        raise arg.fail(file, selector, f"expected (select-top N) or (select-bottom N), found {describe(selector)}")
    if len(selector.items) != 2:
        raise arg.fail(file, selector, f"{select} takes exactly one count, such as ({select} 2)")
    count = arg.positive_int(selector.items[1], f"the count of {select}", file, maximum=10_000)
    side = cast(Selection, select.removeprefix("select-"))
    kids = _children(args[2:], "the filter's candidates", seq, file)
    return _Plan(lambda s: Filter(indicator, side, count, s[0], arg.pos_of(seq)), [kids])


def _if(seq: Seq, args: list[Form], file: str) -> _Plan:
    if len(args) != 3:
        raise _arity(seq, "if", len(args), "a condition, a then-branch and an else-branch", file)
    condition = arg.condition(args[0], file)
    then = _children([args[1]], "the then-branch", seq, file)
    otherwise = _children([args[2]], "the else-branch", seq, file)
    return _Plan(lambda s: If(condition, s[0], s[1], Pos(seq.line, seq.column)), [then, otherwise])


_PARSERS: dict[str, Callable[[Seq, list[Form], str], _Plan]] = {
    "asset": _asset,
    "group": _group,
    "weight-equal": _weight_equal,
    "weight-specified": _weight_specified,
    "weight-inverse-volatility": _inverse_volatility,
    "filter": _filter,
    "if": _if,
    "empty": _empty,
}
