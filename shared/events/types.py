"""Field types shared by every event: money as Decimal, times in UTC, validated identifiers.

Every number that can reach an order, an account or an event's size is bounded here, so a crafted
or corrupted value is a schema error naming its field instead of a brick further down the chain
(`qty: "1e-400"` once filled at the simulated broker and broke every later account read;
`qty: "1e100000"` made a 700 KB TradeExecuted that dead-lettered):
- quantities (shares): at most 9 decimal places (Alpaca's fractional step), at most 1e9 shares;
  a quantity to trade is also positive;
- notionals (dollars of one order): whole cents, positive, at most $1e9;
- other money (cash, equity, values, P&L): within +-$1e12, at most 18 decimal places (a broker's
  equity of 9-place shares times sub-cent prices keeps its digits; "1e-400" does not pass);
- prices: positive, at most 9 decimal places, at most $1e7 a share.
Free text (reasons, errors, summaries, explanation lines) is capped: longer text is cut, with a
final "…", so a long reason never costs an event (ours or anyone's) its delivery.
Times are ISO 8601 strings with a zone (a datetime object from Python code); a bare number such
as "1.0000001" (which pydantic would read as seconds since 1970) is refused. Dates are ISO
`YYYY-MM-DD` strings (or date objects).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

TradingMode = Literal["paper", "live"]
Side = Literal["buy", "sell"]

MAX_QUANTITY = Decimal("1000000000")
QUANTITY_PLACES = 9
MAX_NOTIONAL = Decimal("1000000000")
MAX_MONEY = Decimal("1000000000000")
MONEY_PLACES = 18
"""Generous: a broker's own values (equity = cash + 9-place shares x 4-8-place prices) keep every digit."""
MAX_PRICE = Decimal("10000000")
PRICE_PLACES = 9
MAX_SIGNAL_WEIGHT = Decimal("1000000")
SIGNAL_WEIGHT_PLACES = 40

SHORT_TEXT_CHARS = 1000
"""One order's reason or error, a detail value."""
TEXT_CHARS = 4000
"""An event's reason, summary or error message; a handler response's message."""
LINE_CHARS = 1000
"""One line of a strategy's explanation."""
MAX_DETAILS = 50
"""Keys of a failure's `details`."""
ELLIPSIS = "…"

_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def excerpt(value: object, limit: int = 80) -> str:
    """A bounded repr of `value` for error messages (never the whole of a huge input)."""
    import reprlib

    short = reprlib.Repr()
    short.maxstring = short.maxother = limit
    short.maxlevel, short.maxdict, short.maxlist, short.maxtuple = 2, 4, 4, 4
    text = short.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def decimal_places(value: Decimal) -> int:
    """Places after the point, trailing zeros not counted ("1.50" has 1, "1E+3" has 0)."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0 or not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing)


def _places_at_most(places: int) -> Callable[[Decimal], Decimal]:
    """At most `places` decimal places, trailing zeros not counted. Two C-level operations on the usual
    path; `decimal_places` only for a value with more digits than the context's 28 (whose scaleb rounds)."""

    def check(value: Decimal) -> Decimal:
        scaled = value.scaleb(places)
        if scaled != scaled.to_integral_value() or (value != +value and decimal_places(value) > places):
            raise ValueError(f"at most {places} decimal places, got {excerpt(str(value), 40)}")
        return value

    return check


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATETIME.fullmatch(value)):
        return value
    raise ValueError(f"an ISO 8601 date-time with a zone is required (e.g. 2026-11-25T14:35:00Z), "
                     f"got {excerpt(value, 40)}")


def _iso_date(value: Any) -> Any:
    if (isinstance(value, date) and not isinstance(value, datetime)) or (
            isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError(f"an ISO 8601 date is required (e.g. 2026-11-25), got {excerpt(value, 40)}")


def _cap(limit: int) -> Callable[[str], str]:
    def cap(value: str) -> str:
        return value if len(value) <= limit else value[: limit - len(ELLIPSIS)] + ELLIPSIS

    return cap


def cap_text(value: str, limit: int = TEXT_CHARS) -> str:
    """`value` cut to `limit` characters (the last one an ellipsis) when longer."""
    return _cap(limit)(value)


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime), AfterValidator(_to_utc)]
"""A timezone-aware datetime (ISO 8601 with a zone), normalised to UTC; naive ones and numbers are rejected."""

IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A calendar date, as YYYY-MM-DD (never a number)."""

Money = Annotated[Decimal, Field(allow_inf_nan=False, ge=-MAX_MONEY, le=MAX_MONEY),
                  AfterValidator(_places_at_most(MONEY_PLACES))]
"""Dollars. Decimal in Python, a string in JSON, so a round trip is exact."""

Notional = Annotated[Decimal, Field(allow_inf_nan=False, gt=0, le=MAX_NOTIONAL),
                     AfterValidator(_places_at_most(2))]
"""The dollars of one order: positive whole cents."""

Quantity = Annotated[Decimal, Field(allow_inf_nan=False, ge=0, le=MAX_QUANTITY),
                     AfterValidator(_places_at_most(QUANTITY_PLACES))]
"""A share count (fractional allowed), never negative: the side says the direction."""

OrderQuantity = Annotated[Decimal, Field(allow_inf_nan=False, gt=0, le=MAX_QUANTITY),
                          AfterValidator(_places_at_most(QUANTITY_PLACES))]
"""The shares of one order: positive."""

Price = Annotated[Decimal, Field(allow_inf_nan=False, gt=0, le=MAX_PRICE),
                  AfterValidator(_places_at_most(PRICE_PLACES))]

Count = Annotated[int, Field(ge=0, le=1_000_000)]
"""A number of orders."""

Seconds = Annotated[float, Field(allow_inf_nan=False, ge=0, le=1_000_000_000)]

Weight = Annotated[Decimal, Field(allow_inf_nan=False, ge=0, le=1)]
"""A portfolio weight in [0, 1]."""

SignalWeight = Annotated[Decimal, Field(allow_inf_nan=False, ge=-MAX_SIGNAL_WEIGHT, le=MAX_SIGNAL_WEIGHT),
                         AfterValidator(_places_at_most(SIGNAL_WEIGHT_PLACES))]
"""A weight as a strategy reported it: finite and of sane size, but its range is the consumer's business
rule, so a bad value fails the workflow closed with a reason instead of dead-lettering the event."""

ShortText = Annotated[str, AfterValidator(_cap(SHORT_TEXT_CHARS))]
Text = Annotated[str, AfterValidator(_cap(TEXT_CHARS))]
Line = Annotated[str, AfterValidator(_cap(LINE_CHARS))]

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9.\-]{0,14}$")]
"""An equity ticker as Alpaca spells it (e.g. SPY, BRK.B)."""

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
]
"""Correlation ids, event ids, plan ids: 1-128 characters, no spaces."""

BrokerId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""A client or broker order id (Alpaca: at most 128 characters)."""


def utc_now() -> datetime:
    return datetime.now(UTC)
