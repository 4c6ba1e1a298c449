"""Composer's JSON "score": the format its API and MCP server exchange symphonies in.

    parse_score(text, "my.json") -> Symphony      the same tree the .clj reader builds
    to_score(symphony) -> dict                    the JSON score of a tree (json.dumps it)

The schema is composer-trade-mcp's `symphony_score_schema.py`: every node has `step`
(`root | wt-cash-equal | wt-cash-specified | wt-inverse-vol | if | if-child | filter | group |
asset | empty`) and `children`; a `wt-cash-specified` child carries `weight: {num, den: 100}`;
an `if` has two `if-child` children, the first with `comparator` (`gt gte eq lt lte`),
`lhs-fn`, `lhs-val` (a ticker), `lhs-window-days` (or `lhs-fn-params: {window}`), and either
`rhs-fixed-value?: true` with a number `rhs-val` or `rhs-fn`/`rhs-val`/`rhs-window-days`; the
second has `is-else-condition?: true`. A filter has `sort-by-fn`, `sort-by-window-days` (or
`sort-by-fn-params`), `select-fn` (`top`/`bottom`), `select-n`; `wt-inverse-vol` has
`window-days`; the root has `name`, `rebalance` and `rebalance-corridor-width`.

Numbers are read as Decimal (never float), so Composer's float-noise weights are normalised
exactly as in the .clj reader. JSON carries no positions for nodes: errors point at the line and
column of the node's opening brace when it can be found (by its `id`), else at 1:1, and always
name the node's path (`children[0].children[2]`).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, cast

from services.strategy.language.analysis import equal_split, normalised_weights
from services.strategy.language.errors import StrategyError
from services.strategy.language.indicators import ALIASES, INDICATORS
from services.strategy.language.nodes import (
    CASH_PROXY,
    Asset,
    Comparator,
    Condition,
    Filter,
    Group,
    If,
    IndicatorCall,
    Keyword,
    Node,
    Number,
    Operand,
    Pos,
    WeightEqual,
    WeightInverseVolatility,
    WeightSpecified,
)
from services.strategy.language.reader import locate
from services.strategy.language.symphony import Symphony

COMPARATORS: dict[str, Comparator] = {"gt": ">", "gte": ">=", "eq": "=", "lt": "<", "lte": "<="}
SYMBOL_OF = {v: k for k, v in COMPARATORS.items()}
_MIRROR: dict[Comparator, Comparator] = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "=": "="}
STEPS = ("root", "wt-cash-equal", "wt-cash-specified", "wt-inverse-vol", "if", "if-child", "filter", "group",
         "asset", "empty")
_LONG_NAMES = {v: k for k, v in ALIASES.items()}
_HUNDRED = Decimal(100)


def decimal_of(value: Any) -> Decimal | None:
    """A JSON number, or a number written as a string ("10", "0.5": Composer's exports do both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            return None
        return number if number.is_finite() else None
    return None


class _Reader:
    def __init__(self, text: str, file: str) -> None:
        self.text, self.file = text, file

    def fail(self, node: Any, path: str, message: str) -> StrategyError:
        line, column = 1, 1
        ident = node.get("id") if isinstance(node, dict) else None
        if isinstance(ident, str):
            at = self.text.find(json.dumps(ident))
            if at >= 0:
                brace = self.text.rfind("{", 0, at)
                line, column = locate(self.text, brace if brace >= 0 else at)
        where = f" at {path}" if path else ""
        return StrategyError(self.file, line, column, f"{message}{where}")

    def pos(self, node: Any) -> Pos:
        ident = node.get("id") if isinstance(node, dict) else None
        if isinstance(ident, str):
            at = self.text.find(json.dumps(ident))
            if at >= 0:
                return Pos(*locate(self.text, max(self.text.rfind("{", 0, at), 0)))
        return Pos(1, 1)

    def children(self, node: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
        kids = node.get("children", [])
        if not isinstance(kids, list) or not kids:
            raise self.fail(node, path, f"{node.get('step')} needs a non-empty 'children' list")
        out = []
        for i, kid in enumerate(kids):
            if not isinstance(kid, dict):
                raise self.fail(node, f"{path}.children[{i}]", "expected a node object")
            out.append((kid, f"{path}.children[{i}]"))
        return out

    def window(self, node: dict[str, Any], prefix: str, path: str, *, required: bool = True) -> int | None:
        value = node.get(f"{prefix}window-days")
        params = node.get(f"{prefix}fn-params") if prefix else None
        if value is None and isinstance(params, dict):
            value = params.get("window")
        if value is None:
            if required:
                raise self.fail(node, path, f"missing '{prefix}window-days'")
            return None
        return self.whole(node, value, f"'{prefix}window-days'", path)

    def whole(self, node: dict[str, Any], value: Any, what: str, path: str) -> int:
        """A whole number of at least 1, written as a number or, as Composer's exports also do, a string."""
        number = decimal_of(value)
        if number is None or number != number.to_integral_value() or number < 1:
            raise self.fail(node, path, f"{what} must be a whole number of days, got {value!r}")
        return int(number)

    def windows(self, node: dict[str, Any], prefix: str, name: str, path: str) -> tuple[int, ...]:
        """The PPO's windows: `{prefix}fn-params` {short-window, long-window[, smooth-window]}."""
        params = node.get(f"{prefix}fn-params")
        keys = INDICATORS[name].options
        if not isinstance(params, dict) or any(key not in params for key in keys):
            raise self.fail(node, path, f"{name} needs '{prefix}fn-params' with {', '.join(keys)}")
        return tuple(self.whole(node, params[key], f"'{key}'", path) for key in keys)

    def function(self, node: dict[str, Any], key: str, path: str) -> str:
        name = node.get(key)
        canonical = ALIASES.get(name, name) if isinstance(name, str) else None
        if canonical not in INDICATORS:
            raise self.fail(node, path, f"unknown function {key}={name!r}; expected one of "
                            + ", ".join(_LONG_NAMES.get(n, n) for n in INDICATORS))
        return canonical

    def ticker(self, node: dict[str, Any], key: str, path: str) -> str:
        from shared.marketdata.symbols import SymbolError, canonical

        value = node.get(key)
        if not isinstance(value, str):
            raise self.fail(node, path, f"'{key}' must be a ticker string")
        if value.startswith("EQUITIES::"):
            value = value.removeprefix("EQUITIES::").removesuffix("//USD")
        try:
            return canonical(value)
        except SymbolError as exc:
            raise self.fail(node, path, str(exc)) from None

    def call(self, node: dict[str, Any], side: str, path: str, *, with_ticker: bool = True) -> IndicatorCall:
        name = self.function(node, f"{side}-fn" if side else "sort-by-fn", path)
        prefix = f"{side}-" if side else "sort-by-"
        symbol = self.ticker(node, f"{side}-val", path) if with_ticker else None
        options = INDICATORS[name].options
        if len(options) > 1:
            return IndicatorCall(name, symbol, None, self.pos(node), self.windows(node, prefix, name, path))
        window = self.window(node, prefix, path) if options else None
        return IndicatorCall(name, symbol, window, self.pos(node))

    def condition(self, node: dict[str, Any], path: str) -> Condition:
        op = COMPARATORS.get(node.get("comparator"))  # type: ignore[arg-type]
        if op is None:
            raise self.fail(node, path, f"comparator must be one of {', '.join(COMPARATORS)}, "
                            f"got {node.get('comparator')!r}")
        left = self.call(node, "lhs", path)
        right: Operand
        if node.get("rhs-fixed-value?"):
            value = decimal_of(node.get("rhs-val"))
            if value is None:
                raise self.fail(node, path, "'rhs-val' must be a number when 'rhs-fixed-value?' is true")
            right = Number(value, self.pos(node))
        else:
            right = self.call(node, "rhs", path)
        return Condition(op, left, right, self.pos(node))

    def node(self, root: dict[str, Any], root_path: str) -> Node:
        """Build without recursion: (node, path, built?) on a stack, results by id()."""
        built: dict[int, Node | tuple[Node, ...]] = {}
        stack: list[tuple[dict[str, Any], str, bool]] = [(root, root_path, False)]
        while stack:
            node, path, ready = stack.pop()
            step = node.get("step")
            kids = [] if step in ("asset", "empty") else self.children(node, path)
            if not ready:
                if step not in STEPS or step == "root":
                    raise self.fail(node, path, f"unknown step {step!r}; expected one of {', '.join(STEPS[1:])}")
                stack.append((node, path, True))
                if step == "if":
                    if len(kids) != 2:
                        raise self.fail(node, path, "if needs exactly two if-child children (then, else)")
                    for kid, kid_path in kids:
                        if kid.get("step") != "if-child":
                            raise self.fail(kid, kid_path, "expected an if-child")
                        stack.extend((k, p, False) for k, p in self.children(kid, kid_path))
                else:
                    stack.extend((kid, kid_path, False) for kid, kid_path in kids)
                continue
            built[id(node)] = self._make(node, str(step), kids, path, built)
        result = built[id(root)]
        assert not isinstance(result, tuple)
        return result

    def _make(self, node: dict[str, Any], step: str, kids: list[tuple[dict[str, Any], str]], path: str,
              built: dict[int, Node | tuple[Node, ...]]) -> Node:
        pos = self.pos(node)

        def take(items: list[tuple[dict[str, Any], str]]) -> tuple[Node, ...]:
            return tuple(cast(Node, built.pop(id(k))) for k, _ in items)

        if step == "asset":
            name = node.get("name")
            return Asset(self.ticker(node, "ticker", path), name if isinstance(name, str) else None, pos)
        if step == "empty":
            return Asset(CASH_PROXY, "cash (an empty block)", pos, cash=True)
        if step == "wt-cash-equal":
            return equal_split(take(kids), pos)
        if step == "group":
            name = node.get("name")
            return Group(name if isinstance(name, str) else "", take(kids), pos)
        if step == "wt-cash-specified":
            weights = []
            for kid, kid_path in kids:
                weight = kid.get("weight")
                num = decimal_of(weight.get("num")) if isinstance(weight, dict) else None
                den = decimal_of(weight.get("den")) if isinstance(weight, dict) else None
                if num is None or not den:
                    raise self.fail(kid, kid_path, "a wt-cash-specified child needs weight {num, den}")
                weights.append(num / den)
            return WeightSpecified(normalised_weights(tuple(weights)), take(kids), pos)
        if step == "wt-inverse-vol":
            window = self.window(node, "", path)
            assert window is not None
            return WeightInverseVolatility(window, take(kids), pos)
        if step == "filter":
            select = node.get("select-fn")
            count = decimal_of(node.get("select-n"))
            if select not in ("top", "bottom"):
                raise self.fail(node, path, f"select-fn must be 'top' or 'bottom', got {select!r}")
            if count is None or count != count.to_integral_value() or count < 1:
                raise self.fail(node, path, f"select-n must be a whole number of at least 1, got "
                                            f"{node.get('select-n')!r}")
            return Filter(self.call(node, "", path, with_ticker=False), select, int(count), take(kids), pos)
        then_node, else_node = kids[0][0], kids[1][0]
        if then_node.get("is-else-condition?") or not else_node.get("is-else-condition?"):
            raise self.fail(node, path, "the first if-child is the condition, the second has is-else-condition? true")
        condition = self.condition(then_node, kids[0][1])
        then = take(self.children(then_node, kids[0][1]))
        otherwise = take(self.children(else_node, kids[1][1]))
        return If(condition, then, otherwise, pos)


def parse_score(text: str, filename: str = "<string>") -> Symphony:
    """A Composer JSON score as a Symphony; StrategyError (file:line:col) on anything malformed."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise StrategyError(filename, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}") from None
    reader = _Reader(text, filename)
    if not isinstance(data, dict) or data.get("step") != "root":
        raise reader.fail(data, "", 'expected a symphony score: a JSON object with "step": "root"')
    name = data.get("name")
    if not isinstance(name, str):
        raise reader.fail(data, "", "the root needs a 'name' string")
    options: dict[str, Any] = {}
    rebalance = data.get("rebalance")
    if rebalance is not None:
        options["rebalance-frequency"] = Keyword(str(rebalance))
    corridor = data.get("rebalance-corridor-width")
    if corridor is not None:
        options["rebalance-corridor-width"] = corridor
    description = data.get("description")
    if isinstance(description, str) and description:
        options["description"] = description
    kids = reader.children(data, "")
    body = equal_split(tuple(reader.node(kid, path) for kid, path in kids), reader.pos(data))
    return Symphony.build(name, body, options, source_file=filename, pos=reader.pos(data), options_pos=reader.pos(data))


def _number(value: Decimal) -> int | float | str:
    return int(value) if value == value.to_integral_value() else float(value)


def _call_fields(call: IndicatorCall, prefix: str, fn_key: str) -> dict[str, Any]:
    out: dict[str, Any] = {fn_key: _LONG_NAMES.get(call.name, call.name)}
    if call.window is not None:
        out[f"{prefix}window-days"] = call.window
    elif call.params:
        out[f"{prefix}fn-params"] = dict(zip(INDICATORS[call.name].options, call.params, strict=True))
    return out


def _score_node(node: Node, parts: list[dict[str, Any]], spell: Any) -> dict[str, Any]:
    if isinstance(node, Asset):
        if node.cash:
            return {"step": "empty"}
        return {"step": "asset", "ticker": spell(node.ticker), "name": node.name}
    if isinstance(node, WeightEqual):
        return {"step": "wt-cash-equal", "children": parts}
    if isinstance(node, Group):
        child = parts[0] if len(parts) == 1 and parts[0]["step"] in ("wt-cash-equal", "wt-cash-specified",
                                                                     "wt-inverse-vol") else {
            "step": "wt-cash-equal", "children": parts}
        return {"step": "group", "name": node.name, "children": [child]}
    if isinstance(node, WeightSpecified):
        for weight, part in zip(node.weights, parts, strict=True):
            part["weight"] = {"num": _number(weight * _HUNDRED), "den": 100}
        return {"step": "wt-cash-specified", "children": parts}
    if isinstance(node, WeightInverseVolatility):
        return {"step": "wt-inverse-vol", "window-days": node.window, "children": parts}
    if isinstance(node, Filter):
        return {"step": "filter", **_call_fields(node.indicator, "sort-by-", "sort-by-fn"),
                "select-fn": node.select, "select-n": node.count, "children": parts}
    assert isinstance(node, If)
    cond = node.condition
    if isinstance(cond.left, Number):  # Composer's left side is always a function: mirror it
        if isinstance(cond.right, Number):
            raise ValueError(f"the condition at line {cond.pos.line} compares two numbers; "
                             "Composer's JSON score cannot express it")
        cond = Condition(_MIRROR[cond.op], cond.right, cond.left, cond.pos)
    assert isinstance(cond.left, IndicatorCall)
    test: dict[str, Any] = {"step": "if-child", "is-else-condition?": False,
                            "comparator": SYMBOL_OF[cond.op],
                            **_call_fields(cond.left, "lhs-", "lhs-fn"), "lhs-val": spell(cond.left.symbol)}
    if isinstance(cond.right, Number):
        test.update({"rhs-fixed-value?": True, "rhs-val": _number(cond.right.value)})
    else:
        test.update({"rhs-fixed-value?": False, **_call_fields(cond.right, "rhs-", "rhs-fn"),
                     "rhs-val": spell(cond.right.symbol)})
    test["children"] = parts[: len(node.then)]
    otherwise = {"step": "if-child", "is-else-condition?": True, "children": parts[len(node.then):]}
    return {"step": "if", "children": [test, otherwise]}


def to_score(symphony: Symphony) -> dict[str, Any]:
    """The JSON score of `symphony` (weights as {num, den: 100}; exact Decimal weights other than
    whole percents are written as float num, as Composer's own scores do)."""
    from shared.marketdata.symbols import composer

    def weight_node(node: Node) -> dict[str, Any]:
        return convert(node) if isinstance(node, WeightEqual | WeightSpecified | WeightInverseVolatility) else {
            "step": "wt-cash-equal", "children": [convert(node)]}

    def convert(root: Node) -> dict[str, Any]:
        done: dict[int, dict[str, Any]] = {}
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            kids = node.then + node.otherwise if isinstance(node, If) else (
                () if isinstance(node, Asset) else node.children)
            if not ready:
                stack.append((node, True))
                stack.extend((k, False) for k in kids)
                continue
            parts = [done.pop(id(k)) for k in kids]
            done[id(node)] = _score_node(node, parts, composer)
        return done[id(root)]

    options = dict(symphony.options)
    frequency = options.get("rebalance-frequency")
    score: dict[str, Any] = {
        "step": "root",
        "name": symphony.name,
        "description": options.get("description", ""),
        "rebalance": getattr(frequency, "name", None) or symphony.rebalance_frequency,
        "rebalance-corridor-width": (None if symphony.corridor_width is None
                                     else _number(symphony.corridor_width)),
        "children": [weight_node(symphony.body)],
    }
    return score


def looks_like_score(text: str) -> bool:
    """A JSON object (a .clj file always starts with a form or a comment, never '{')."""
    return bool(re.match(r"\s*\{", text.removeprefix("\ufeff")))
