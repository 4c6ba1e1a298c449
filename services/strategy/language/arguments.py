"""Parsing the leaves of a strategy: strings, windows, tickers, indicators, conditions, option maps."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from types import MappingProxyType
from typing import Any, cast

from services.strategy.language.errors import StrategyError
from services.strategy.language.indicators import ALIASES, INDICATORS, MAX_WINDOW
from services.strategy.language.nodes import Comparator, Condition, IndicatorCall, Keyword, Number, Operand, Pos
from services.strategy.language.reader import Atom, Form, Seq, describe
from shared.marketdata.symbols import SymbolError, canonical

COMPARATORS: tuple[Comparator, ...] = (">", "<", ">=", "<=", "=")
_ASSET_PREFIX, _ASSET_SUFFIX = "EQUITIES::", "//USD"


def fail(file: str, form: Form | Pos, message: str) -> StrategyError:
    return StrategyError(file, form.line, form.column, message)


def pos_of(form: Form) -> Pos:
    return Pos(form.line, form.column)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # error messages only

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def head_of(seq: Seq) -> str | None:
    """The symbol a list starts with, if any."""
    if seq.kind == "list" and seq.items and isinstance(seq.items[0], Atom) and seq.items[0].kind == "symbol":
        return seq.items[0].text
    return None


def canonical_indicator(name: str) -> str | None:
    name = ALIASES.get(name, name)
    return name if name in INDICATORS else None


def expect_string(form: Form, what: str, file: str) -> str:
    if isinstance(form, Atom) and form.kind == "string":
        return cast(str, form.value)
    raise fail(file, form, f"expected {what} as a string in double quotes, found {describe(form)}")


def expect_number(form: Form, what: str, file: str) -> Decimal:
    if isinstance(form, Atom) and form.kind == "number":
        return cast(Decimal, form.value)
    if isinstance(form, Atom) and form.kind == "unset":
        raise fail(file, form, unset(what))
    raise fail(file, form, f"expected {what} as a number, found {describe(form)}")


def unset(what: str) -> str:
    """The message for Composer's ##NaN where `what` (a weight, a threshold) is expected."""
    if what == "a weight":
        return (f"weight not set ({UNSET_HINT}): give this child of weight-specified its weight (the weights "
                "sum to 1, e.g. 0.6 and 0.4) in Composer and export it again, or write it here")
    return f"{what} not set ({UNSET_HINT}): write the number"


UNSET_HINT = "Composer exports a value nobody entered as ##NaN"


def positive_int(form: Form, what: str, file: str, maximum: int = MAX_WINDOW) -> int:
    """A whole number; Composer's exports sometimes write it as a string ("10"), which is read too."""
    if isinstance(form, Atom) and form.kind == "string" and _DIGITS.match(cast(str, form.value)):
        return _bounded(Decimal(cast(str, form.value)), form, what, file, maximum)
    return _bounded(expect_number(form, what, file), form, what, file, maximum)


_DIGITS = re.compile(r"^\s*\d+(?:\.0*)?\s*$")


def _bounded(value: Decimal, form: Form, what: str, file: str, maximum: int) -> int:
    if value != value.to_integral_value() or not 1 <= value <= maximum:
        raise fail(file, form, f"{what} must be a whole number from 1 to {maximum}, found {value}")
    return int(value)


def expect_window(form: Form, owner: str, file: str) -> int:
    """`{:window 10}` (Composer's export) or a bare `10` (a string "10" too, as some exports write it)."""
    if isinstance(form, Seq) and form.kind == "map":
        keys = form.items[0::2]
        for key in keys:
            if not (isinstance(key, Atom) and key.kind == "keyword" and key.value == "window"):
                raise fail(file, key, f"unknown option {describe(key)} for {owner}; expected {{:window N}}")
        if not keys:
            raise fail(file, form, f"{owner} needs a window: expected {{:window N}}")
        return positive_int(form.items[1], f"the window of {owner}", file)
    if isinstance(form, Atom) and form.kind in ("number", "string"):
        return positive_int(form, f"the window of {owner}", file)
    raise fail(file, form, f"expected the window of {owner} as {{:window N}}, found {describe(form)}")


def expect_windows(form: Form, name: str, keys: tuple[str, ...], file: str) -> tuple[int, ...]:
    """An indicator's several windows, `{:short-window 12, :long-window 26}`, in `keys`' order."""
    example = "{" + ", ".join(f":{key} N" for key in keys) + "}"
    if not (isinstance(form, Seq) and form.kind == "map"):
        raise fail(file, form, f"expected the windows of {name} as {example}, found {describe(form)}")
    found: dict[str, int] = {}
    for key, value in zip(form.items[0::2], form.items[1::2], strict=True):
        if not (isinstance(key, Atom) and key.kind == "keyword" and key.value in keys):
            raise fail(file, key, f"unknown option {describe(key)} for {name}; expected {example}")
        found[cast(str, key.value)] = positive_int(value, f"the :{key.value} of {name}", file)
    missing = [key for key in keys if key not in found]
    if missing:
        raise fail(file, form, f"{name} needs {', '.join(':' + k for k in missing)}: expected {example}")
    return tuple(found[key] for key in keys)


def ticker(form: Form, file: str) -> str:
    """A ticker string in its canonical spelling (shared/marketdata/symbols.py): Composer's long
    form EQUITIES::SPY//USD is read as SPY, its share class BRK/B as BRK.B."""
    value = expect_string(form, "a ticker", file)
    try:
        return ticker_of(value)
    except SymbolError as exc:
        raise fail(file, form, str(exc)) from None


def ticker_of(value: str) -> str:
    """The canonical ticker of a written one; SymbolError says what is wrong."""
    known = _TICKERS.get(value)
    if known is not None:
        return known
    written = value
    if value.startswith(_ASSET_PREFIX):
        value = value[len(_ASSET_PREFIX) :]
        value = value[: -len(_ASSET_SUFFIX)] if value.endswith(_ASSET_SUFFIX) else value
    if not value or any(c.isspace() for c in value) or "::" in value:
        raise SymbolError(f'invalid ticker {value!r}: expected a US equity symbol such as "SPY"')
    result = canonical(value)
    if len(_TICKERS) < 100_000:
        _TICKERS[written] = result
    return result


_TICKERS: dict[str, str] = {}
"""Ticker strings already read (a 50,000-line file names a few hundred tickers tens of thousands of times)."""


def _unwrapped(seq: Seq) -> tuple[str | None, list[Form]]:
    """The indicator's name and arguments; Composer exports a function its own engine marks as
    unimplemented as `((unimplemented :percentage-price-oscillator) "SPY" {...})` (or with the
    arguments inside the wrapper), which names the function all the same."""
    head = head_of(seq)
    items = seq.items
    if head == "unimplemented" and len(items) > 1 and isinstance(items[1], Atom) and items[1].kind == "keyword":
        return cast(str, items[1].value), items[2:]
    if items and isinstance(items[0], Seq) and head_of(items[0]) == "unimplemented":
        inner = items[0].items
        if len(inner) == 2 and isinstance(inner[1], Atom) and inner[1].kind == "keyword":
            return cast(str, inner[1].value), items[1:]
    return head, items[1:]


def indicator(seq: Seq, file: str, *, with_ticker: bool) -> IndicatorCall:
    """`(rsi "SPY" {:window 10})` in conditions; `(rsi {:window 10})` as a filter's ranking."""
    head, args = _unwrapped(seq)
    name = canonical_indicator(head) if head else None
    if name is None:
        shown = head if head else describe(seq)
        raise fail(
            file,
            seq,
            f"unknown indicator '{shown}'{did_you_mean(shown, INDICATORS)}; expected one of " + ", ".join(INDICATORS),
        )
    symbol: str | None = None
    if with_ticker:
        if not args or not (isinstance(args[0], Atom) and args[0].kind == "string"):
            raise fail(file, seq, f'{name} needs a ticker: expected ({name} "SPY"{_window_hint(name)})')
        symbol = ticker(args[0], file)
        args = args[1:]
    elif args and isinstance(args[0], Atom) and args[0].kind == "string":
        raise fail(
            file,
            args[0],
            f"a filter's indicator takes no ticker; write ({name}{_window_hint(name)}) "
            "and the filter applies it to each candidate",
        )
    if len(args) > 1:
        raise fail(
            file,
            args[1],
            f"{name} takes {'a ticker and ' if with_ticker else ''}"
            f"{'an optional' if name == 'current-price' else 'a'} window, found extra {describe(args[1])}",
        )
    if name == "current-price":
        if args:
            expect_window(args[0], name, file)  # accepted as Composer writes it, and ignored
        return IndicatorCall(name, symbol, None, pos_of(seq))
    if not args:
        example = f'({name} "SPY"{_window_hint(name)})' if with_ticker else f"({name}{_window_hint(name)})"
        raise fail(file, seq, f"{name} needs {'a window' if len(INDICATORS[name].options) == 1 else 'its windows'}: "
                              f"expected {example}")
    options = INDICATORS[name].options
    if len(options) > 1:
        return IndicatorCall(name, symbol, None, pos_of(seq), expect_windows(args[0], name, options, file))
    return IndicatorCall(name, symbol, expect_window(args[0], name, file), pos_of(seq))


def _window_hint(name: str) -> str:
    options = INDICATORS[name].options
    if not options:
        return ""
    if options == ("window",):
        return " {:window N}"
    return " {" + ", ".join(f":{key} N" for key in options) + "}"


def operand(form: Form, file: str) -> Operand:
    if isinstance(form, Atom) and form.kind == "number":
        return Number(cast(Decimal, form.value), pos_of(form))
    if isinstance(form, Atom) and form.kind == "unset":
        raise fail(file, form, unset("the number compared"))
    if isinstance(form, Seq) and form.kind == "list":
        return indicator(form, file, with_ticker=True)
    raise fail(
        file, form, f'expected an indicator such as (rsi "SPY" {{:window 10}}) or a number, found {describe(form)}'
    )


_BOOLEAN = {
    "and": "(if A (if B [then] [else]) [else])",
    "or": "(if A [then] (if B [then] [else]))",
    "not": "(if A [else] [then])",
}
"""Composer's `if` takes one comparison (its schema: `comparator` gt, gte, eq, lt, lte; no boolean
operators), so these are refused with the nested-if form that means the same."""


def condition(form: Form, file: str) -> Condition:
    head = head_of(form) if isinstance(form, Seq) else None
    if head in _BOOLEAN:
        raise fail(file, form, f"({head} ...) is not part of Composer's language: an if takes one comparison. "
                               f"Write it as nested ifs: {_BOOLEAN[head]}, with each comparison in its own if "
                               "(the same branch repeated where needed)")
    if not isinstance(form, Seq) or head not in COMPARATORS:
        shown = f"'{head}'" if head else describe(form)
        raise fail(
            file,
            form,
            f'expected a comparison ({" ".join(COMPARATORS)}) such as (> (rsi "SPY" {{:window 10}}) 70), found {shown}',
        )
    if len(form.items) != 3:
        raise fail(file, form, f"comparison {head} takes exactly 2 operands, found {len(form.items) - 1}")
    return Condition(head, operand(form.items[1], file), operand(form.items[2], file), pos_of(form))


_SCALARS = {"nil": None, "true": True, "false": False}
MAX_DATA_DEPTH = 32
"""Option values nest at most this deep, so that comparing or serialising them never recurses far."""


def data(form: Form, file: str) -> Any:
    """An EDN literal as Python data (str, Decimal, Keyword, bool, None, tuple, mapping), iteratively."""
    done: dict[int, Any] = {}
    stack: list[tuple[Form, bool, int]] = [(form, False, 1)]
    while stack:
        item, expanded, depth = stack.pop()
        if depth > MAX_DATA_DEPTH:
            raise fail(file, item, f"option values may nest at most {MAX_DATA_DEPTH} levels deep")
        if isinstance(item, Atom):
            done[id(item)] = _atom_data(item, file)
        elif item.kind == "list":
            raise fail(
                file, item, f"expected a literal value (string, number, keyword, vector or map), found {describe(item)}"
            )
        elif not expanded:
            stack.append((item, True, depth))
            stack.extend((child, False, depth + 1) for child in item.items)
        else:
            values = [done.pop(id(child)) for child in item.items]
            if item.kind == "vector":
                done[id(item)] = tuple(values)
            else:
                done[id(item)] = MappingProxyType(dict(zip(values[0::2], values[1::2], strict=True)))
    return done[id(form)]


def _atom_data(atom: Atom, file: str) -> Any:
    if atom.kind == "keyword":
        return Keyword(cast(str, atom.value))
    if atom.kind == "unset":
        raise fail(file, atom, unset("this option's value"))
    if atom.kind == "symbol":
        if atom.text not in _SCALARS:
            raise fail(
                file,
                atom,
                f"unexpected symbol '{atom.text}' in a literal; expected nil, true, false, "
                "a string, a number or a keyword",
            )
        return _SCALARS[atom.text]
    return atom.value


def options(form: Seq, file: str) -> dict[str, Any]:
    """The defsymphony header map; keys are keywords, stored by name."""
    result: dict[str, Any] = {}
    for key, value in zip(form.items[0::2], form.items[1::2], strict=True):
        if not (isinstance(key, Atom) and key.kind == "keyword"):
            raise fail(file, key, f"expected an option keyword such as :rebalance-threshold, found {describe(key)}")
        name = cast(str, key.value)
        if name in result:
            raise fail(file, key, f"option :{name} is given twice")
        result[name] = data(value, file)
    return result
