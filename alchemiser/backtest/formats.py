"""How the backtest's figures read, in the text summary and the tearsheet alike (page.js formats the
range's headline figures the same way: a test holds them equal)."""

from __future__ import annotations

import math
from typing import Any


def undefined(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def pct(value: Any, places: int = 2) -> str:
    """0.1234 -> "12.34%"; "—" where the statistic is undefined."""
    return "—" if undefined(value) else f"{value * 100:.{places}f}%"


def num(value: Any) -> str:
    """A ratio (Sharpe, beta ...) to two decimals; "—" where undefined."""
    return "—" if undefined(value) else f"{value:.2f}"


def money(value: Any, cents: bool = False, signed: bool = False) -> str:
    """140000 -> "$140,000" ("$140,000.00" with cents); a loss as "-$1,200"; `signed`: a gain as "+$1,200"."""
    if undefined(value):
        return "—"
    amount = float(value)
    text = f"${abs(amount):,.2f}" if cents else f"${abs(amount):,.0f}"
    return f"-{text}" if amount < 0 else f"+{text}" if signed else text
