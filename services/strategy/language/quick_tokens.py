"""The fast path's reading (quick.py): a file's tokens into forms, each list handed to the builder as
it closes. Two readers: `read_simple` for a file without comments or string escapes (as Composer
exports them: one `findall`, the brackets' offsets by one more scan) and `read` for the rest."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Protocol

from services.strategy.language.reader import MAX_DIGITS

_TOKENS = re.compile(
    r"""
    ;[^\n]*
  | ([(\[{])
  | ([)\]}])
  | "([^"\\]*)"
  | (-?\d{1,20}(?:\.\d{1,20})?)(?![^\s,()\[\]{}";])
  | :([^\s,()\[\]{}";]+)
  | ([^\s,()\[\]{}";]+)
  | ([^\s,])
    """,
    re.VERBOSE,
)
class Unusual(Exception):
    """Not the common case: let the reader and the builder read it (and name any error)."""


class Sym(str):
    """A symbol (a form's head, or nil / true / false)."""

    __slots__ = ()


class Kw(str):
    """A keyword, without its colon."""

    __slots__ = ()


class Num:
    __slots__ = ("offset", "text", "value")

    def __init__(self, value: Decimal, offset: int, text: str) -> None:
        self.value, self.offset, self.text = value, offset, text


class Vec(list[Any]):
    __slots__ = ("offset",)
    offset: int


class Map:
    __slots__ = ("items", "offset")

    def __init__(self, items: list[Any], offset: int) -> None:
        self.items, self.offset = items, offset



class Closer(Protocol):
    """What the readers hand each closed list, vector or map to (quick.Builder)."""

    first: int

    def close(self, opener: str, items: list[Any], offset: int, end: int) -> Any: ...


_SYMS: dict[str, Sym] = {}
_KWS: dict[str, Kw] = {}


_SIMPLE = re.compile(r'[()\[\]{}]|"[^"\\]*"|[^\s,()\[\]{}";]+')
_OPENERS = re.compile(r"[(\[{]")
_CLOSERS = re.compile(r"[)\]}]")
_NUMBER = re.compile(r"-?\d{1,20}(?:\.\d{1,20})?")


def read_simple(text: str, b: Closer) -> list[Any] | None:
    """`read` for a file without comments or escapes (as Composer exports them): tokens by
    `findall`, the brackets' offsets by one more scan. None when the file has either, or when a
    string holds a bracket (the offsets would not line up): `read` then reads it."""
    if ";" in text or "\\" in text:
        return None
    opens = iter([m.start() for m in _OPENERS.finditer(text)])
    closes = iter([m.start() for m in _CLOSERS.finditer(text)])
    top: list[Any] = []
    stack: list[tuple[str, int, list[Any]]] = []
    items = top
    strings = 0
    for token in _SIMPLE.findall(text):
        first = token[0]
        if first == '"':
            strings += 1
            items.append(token[1:-1])
        elif first in "([{":
            offset = next(opens, -1)
            stack.append((first, offset, items))
            if first == "[":
                items = Vec()
                items.offset = offset
            else:
                items = []
        elif first in ")]}":
            if not stack:
                raise Unusual
            opener, offset, parent = stack.pop()
            end = next(closes, -1)
            if "([{".index(opener) != ")]}".index(first) or offset < 0 or end < 0:
                raise Unusual
            parent.append(b.close(opener, items, offset, end))
            items = parent
        elif first == ":":
            keyword = _KWS.get(token[1:])
            items.append(keyword if keyword is not None else _KWS.setdefault(token[1:], Kw(token[1:])))
        elif (first.isdigit() or first == "-") and _NUMBER.fullmatch(token):
            value = Decimal(token)
            if len(value.as_tuple().digits) > MAX_DIGITS:
                raise Unusual
            items.append(Num(value, -1, token))
        else:
            if not top and items is top:
                b.first = _SIMPLE.search(text).start()  # type: ignore[union-attr]  # a token exists
            items.append(_symbol(token))
    if stack or next(opens, None) is not None or next(closes, None) is not None or text.count('"') != 2 * strings:
        return None
    return top


def read(text: str, b: Closer) -> list[Any]:
    """The top-level forms, each list built as it closes; Unusual on anything else."""
    top: list[Any] = []
    stack: list[tuple[str, int, list[Any]]] = []
    items = top
    for match in _TOKENS.finditer(text):
        group = match.lastindex
        if group is None:
            continue  # a comment
        if group == 6:
            if not top and items is top:
                b.first = match.start()
            items.append(_symbol(match.group(6)))
        elif group == 3:
            items.append(match.group(3))
        elif group == 1:
            opener = match.group(1)
            stack.append((opener, match.start(), items))
            if opener == "[":
                items = Vec()
                items.offset = match.start()
            else:
                items = []
        elif group == 2:
            if not stack:
                raise Unusual
            opener, offset, parent = stack.pop()
            if "([{".index(opener) != ")]}".index(match.group(2)):
                raise Unusual
            parent.append(b.close(opener, items, offset, match.start()))
            items = parent
        else:
            items.append(_atom(group, match))
    if stack:
        raise Unusual
    return top


def _symbol(token: str) -> Sym:
    found = _SYMS.get(token)
    if found is None:
        found = _SYMS[token] = Sym(token)
    return found


def _atom(group: int, match: re.Match[str]) -> Any:
    if group == 4:
        value = Decimal(match.group(4))
        if len(value.as_tuple().digits) > MAX_DIGITS:
            raise Unusual
        return Num(value, match.start(), match.group(4))
    if group == 5:
        token = match.group(5)
        keyword = _KWS.get(token)
        if keyword is None:
            keyword = _KWS[token] = Kw(token)
        return keyword
    raise Unusual
