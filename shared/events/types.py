"""Field types shared by every event: money as Decimal, times in UTC, validated identifiers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

TradingMode = Literal["paper", "live"]
Side = Literal["buy", "sell"]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC (naive datetimes are rejected)."""

Money = Annotated[Decimal, Field(allow_inf_nan=False)]
"""Dollars. Decimal in Python, a string in JSON, so a round trip is exact."""

Quantity = Annotated[Decimal, Field(allow_inf_nan=False, ge=0)]
"""A share count (fractional allowed), never negative: the side says the direction."""

Price = Annotated[Decimal, Field(allow_inf_nan=False, gt=0)]

Weight = Annotated[Decimal, Field(allow_inf_nan=False, ge=0, le=1)]
"""A portfolio weight in [0, 1]."""

SignalWeight = Annotated[Decimal, Field(allow_inf_nan=False)]
"""A weight as a strategy reported it: finite, but its range is the consumer's business rule, so a
bad value fails the workflow closed with a reason instead of dead-lettering the event."""

Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9.\-]{0,14}$")]
"""An equity ticker as Alpaca spells it (e.g. SPY, BRK.B)."""

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
]
"""Correlation ids, event ids, plan ids: 1-128 characters, no spaces."""


def utc_now() -> datetime:
    return datetime.now(UTC)
