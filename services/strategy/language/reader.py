"""Tokenizer and reader for the EDN subset Composer writes.

Both are loops over an explicit stack, so nesting depth is limited only by memory. Forms carry
1-based line and column numbers; every syntax error names where it is and what was expected.
(The EDN reader on PyPI, edn_format, returns plain data without source positions, so errors found
after reading could not be located; it would also add a dependency.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal, TypeAlias

from services.strategy.language.errors import StrategyError

_DELIMS = r"\s,()\[\]{}\";"
_TOKEN = re.compile(
    rf"""
    (?P<ws>(?>[\s,]*(?:;[^\n]*+[\s,]*)*))
    (?:
    (?P<open>[(\[{{])
  | (?P<close>[)\]}}])
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![^{_DELIMS}])
  | (?P<unset>\#\#(?:NaN|-?Inf))(?![^{_DELIMS}])
  | (?P<keyword>:[^{_DELIMS}]+)
  | (?P<symbol>(?![+-]\d)[A-Za-z*+!\-_?<>=/.&%$][^{_DELIMS}]*)
  | (?P<bad>[^\s,;])
    )
    """,
    re.VERBOSE | re.DOTALL,
)
_WORD = re.compile(rf"[^{_DELIMS}]+")
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.DOTALL)
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_OPENERS = {"(": "list", "[": "vector", "{": "map"}
_CLOSER_OF = {"list": ")", "vector": "]", "map": "}"}
_OPENER_OF = {"list": "(", "vector": "[", "map": "{"}
_KIND_OF_CLOSER = {")": "list", "]": "vector", "}": "map"}

MAX_DIGITS, MAX_EXPONENT = 28, 100
"""Numeric literals stay within exact Decimal arithmetic (28 digits) and sane magnitudes."""

AtomKind: TypeAlias = Literal["string", "number", "keyword", "symbol", "unset"]
"""`unset`: Composer's ##NaN (a weight or value nobody set), refused where a number is expected."""
SeqKind: TypeAlias = Literal["list", "vector", "map"]


@dataclass(slots=True)
class Atom:
    kind: AtomKind
    value: str | Decimal
    text: str
    line: int
    column: int


@dataclass(slots=True)
class Seq:
    kind: SeqKind
    line: int
    column: int
    items: list[Form] = field(default_factory=list)


Form: TypeAlias = Atom | Seq


def locate(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _unescape(raw: str, text: str, start: int, filename: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if len(code) == 5:
            return chr(int(code[1:], 16))
        line, col = locate(text, start + match.start())
        raise StrategyError(
            filename,
            line,
            col,
            f"unknown escape '\\{code}' in string; expected one of \\\" \\\\ \\n \\t \\r \\b \\f \\uXXXX",
        )

    return _ESCAPE.sub(replace, raw)


def _bad_token(text: str, start: int, line: int, col: int, filename: str) -> StrategyError:
    char = text[start]
    if char == '"':
        return StrategyError(filename, line, col, "unterminated string: expected a closing '\"'")
    word = _WORD.match(text, start)
    if char.isdigit() or (char in "+-" and word is not None and word.group()[1:2].isdigit()):
        token = word.group() if word else char
        return StrategyError(filename, line, col, f"invalid number '{token}'; expected digits such as 10, 0.05 or -2.5")
    hint = " (reader macros such as #_ and quotes are not supported)" if char in "#'`~@^\\" else ""
    return StrategyError(filename, line, col, f"unexpected character {char!r}{hint}")


def _atom(kind: str, token: str, line: int, col: int, text: str, start: int, filename: str) -> Atom:
    if kind == "string":
        body = token[1:-1]
        return Atom("string", _unescape(body, text, start + 1, filename) if "\\" in body else body, token, line, col)
    if kind == "number":
        try:
            value = Decimal(token)
        except InvalidOperation:  # pragma: no cover - the pattern only admits valid literals
            raise StrategyError(filename, line, col, f"invalid number '{token}'") from None
        if len(value.as_tuple().digits) > MAX_DIGITS or (value and abs(value.adjusted()) > MAX_EXPONENT):
            raise StrategyError(
                filename,
                line,
                col,
                f"number '{token}' is out of range: at most {MAX_DIGITS} "
                f"significant digits and magnitudes between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT}",
            )
        return Atom("number", value, token, line, col)
    if kind == "keyword":
        return Atom("keyword", token[1:], token, line, col)
    if kind == "unset":
        return Atom("unset", token, token, line, col)
    return Atom("symbol", token, token, line, col)


def read_forms(text: str, filename: str) -> list[Form]:
    """All top-level forms of `text`; raises StrategyError on any syntax error."""
    top: list[Form] = []
    stack: list[Seq] = []
    line, line_start = 1, 0
    # One match per token: the whitespace and comments before it are its prefix (group 1), and
    # matching is anchored at `pos`, so nothing is ever skipped; no match = only blanks remain.
    match_at, count, rfind, pos = _TOKEN.match, text.count, text.rfind, 0
    while (match := match_at(text, pos)) is not None:
        pos = match.end()
        kind = match.lastgroup
        start = match.end(1)
        skipped = count("\n", match.start(), start)
        if skipped:
            line += skipped
            line_start = rfind("\n", 0, start) + 1
        token = text[start:pos]
        col = start - line_start + 1
        if kind == "bad":
            raise _bad_token(text, start, line, col, filename)
        if kind == "open":
            seq = Seq(_OPENERS[token], line, col)  # type: ignore[arg-type]
            (stack[-1].items if stack else top).append(seq)
            stack.append(seq)
        elif kind == "close":
            _close(stack, token, line, col, filename)
        else:
            assert kind is not None
            atom = _atom(kind, token, line, col, text, start, filename)
            (stack[-1].items if stack else top).append(atom)
            if kind == "string" and "\n" in token:
                line += token.count("\n")
                line_start = start + token.rfind("\n") + 1
    if stack:
        open_seq = stack[-1]
        raise StrategyError(
            filename,
            open_seq.line,
            open_seq.column,
            f"'{_OPENER_OF[open_seq.kind]}' is never closed: expected '{_CLOSER_OF[open_seq.kind]}' "
            "before the end of the file",
        )
    return top


def _close(stack: list[Seq], token: str, line: int, col: int, filename: str) -> None:
    if not stack:
        raise StrategyError(filename, line, col, f"unexpected '{token}': there is no open bracket to close")
    seq = stack[-1]
    if _KIND_OF_CLOSER[token] != seq.kind:
        raise StrategyError(
            filename,
            line,
            col,
            f"expected '{_CLOSER_OF[seq.kind]}' to close '{_OPENER_OF[seq.kind]}' opened at "
            f"{seq.line}:{seq.column}, found '{token}'",
        )
    if seq.kind == "map" and len(seq.items) % 2:
        raise StrategyError(
            filename,
            seq.line,
            seq.column,
            f"a map needs key/value pairs, but this one has an odd number of forms ({len(seq.items)})",
        )
    stack.pop()


def describe(form: Form) -> str:
    """A form as error messages name it: 'the string "SPY"', 'a vector [...]'."""
    if isinstance(form, Seq):
        head = ""
        if form.kind == "list" and form.items and isinstance(form.items[0], Atom):
            head = form.items[0].text + " "
        return f"a {form.kind} {_OPENER_OF[form.kind]}{head}...{_CLOSER_OF[form.kind]}"
    text = form.text if len(form.text) <= 40 else form.text[:37] + "..."
    return f"the {form.kind} {text}"
