"""Ticker spellings: one canonical symbol inside, each adapter's own spelling at its edge.

Share classes are written differently everywhere: Composer (and Xignite) `BRK/B`, Alpaca
`BRK.B`, Yahoo `BRK-B`, CSV exports `BRK_B` or `BRK-B`. Inside the system a symbol is canonical:
upper-case letters and digits, with an optional class suffix after one dot (`BRK.B`), which is
also Alpaca's spelling for both its trading and its market-data API.

    canonical("BRK/B") == canonical("brk-b") == canonical("BRK_B") == "BRK.B"
    alpaca("BRK.B") == "BRK.B";  yahoo("BRK.B") == "BRK-B";  csv_stems("BRK.B") == ("BRK.B", "BRK_B", "BRK-B")
"""

from __future__ import annotations

import re

_CANONICAL = re.compile(r"^[A-Z0-9]{1,10}(?:\.[A-Z0-9]{1,4})?$")
_CLASS_SEPARATORS = re.compile(r"[/_\-]")


class SymbolError(ValueError):
    """Not a US equity symbol in any spelling we know."""


def canonical(text: str) -> str:
    """The canonical spelling of a ticker written by Composer, Alpaca, Yahoo or a CSV file name."""
    symbol = _CLASS_SEPARATORS.sub(".", text.strip().upper())
    if not _CANONICAL.match(symbol):
        raise SymbolError(
            f"invalid ticker {text!r}: expected a US equity symbol such as \"SPY\", or a share class "
            "such as \"BRK/B\" (Composer), \"BRK.B\" (Alpaca) or \"BRK-B\" (Yahoo)"
        )
    return symbol


def is_canonical(symbol: str) -> bool:
    return bool(_CANONICAL.match(symbol))


def alpaca(symbol: str) -> str:
    """Alpaca's spelling (trading and market data): the canonical one."""
    return symbol


def from_alpaca(symbol: str) -> str:
    return canonical(symbol)


def yahoo(symbol: str) -> str:
    return symbol.replace(".", "-")


def composer(symbol: str) -> str:
    """Composer's (Xignite's) spelling, as its JSON score and exports write it: `BRK/B`."""
    return symbol.replace(".", "/")


def csv_stems(symbol: str) -> tuple[str, ...]:
    """File names (without `.csv`) a CSV directory may use for the symbol, in the order tried."""
    return tuple(dict.fromkeys((symbol, symbol.replace(".", "_"), symbol.replace(".", "-"))))
