"""Plain-text formatting shared by the daily report, the P&L text and the SNS notifier.

No models and no events here: the SNS notifier (on every cold start in AWS) imports it for
`subject_line` without loading the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

MAX_SUBJECT = 100


def money(value: Decimal | None) -> str:
    if value is None:
        return "n/a"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def signed_money(value: Decimal) -> str:
    return ("+" if value >= 0 else "") + money(value)


def percent(value: Decimal | None, *, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    hundred = value * 100
    text = f"{hundred:.2f}%" if hundred == 0 or abs(hundred) >= Decimal("0.01") else f"{hundred:.4f}%"
    return ("+" + text) if signed and value >= 0 else text


def ratio(numerator: Decimal, denominator: Decimal | None) -> Decimal | None:
    return numerator / denominator if denominator else None


def when(moment: datetime | None) -> str:
    return "n/a" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def subject_line(text: str) -> str:
    """SNS subject rules: printable ASCII, no line breaks, at most 100 characters."""
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in " ".join(text.split()))
    return clean if len(clean) <= MAX_SUBJECT else clean[: MAX_SUBJECT - 3] + "..."


def weights_text(weights: Mapping[str, Decimal]) -> str:
    ordered = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{symbol} {percent(weight)}" for symbol, weight in ordered) or "all cash"
