"""The limits, defined once: each key, its bounds, its default and why the default is what it is.

Every limit measures what a plan *buys*: a sell only ever reduces a position (the system never
opens a short), so no limit counts it and none can block it; an account that is 95% in one stock
can always be rebalanced down. The defaults never overrule a valid symphony (a 100% position and a
full switch pass); they stop mistakes: a plan that would buy more than the account is worth, too many
orders at once, a day that buys the account over again, a price that cannot be right.

The same `Limits` value travels with the workflow (SignalGenerated -> RebalancePlanned), so the
strategy, portfolio and execution steps of one day, the backtest and `alchemiser plan` all apply
the same values; `sources` says where each came from (loader.py).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.limits.specs import KEYS, SPEC_OF, SPECS, LimitSpec

__all__ = ["KEYS", "SPECS", "SPEC_OF", "LimitBinding", "LimitSpec", "LimitValueError", "Limits", "parse"]

PositionCap = Literal["refuse", "clip"]
DEFAULT_SOURCE = "default"
_SYMBOL = re.compile(r"[A-Z][A-Z0-9.\-/]{0,14}")


class LimitValueError(ValueError):
    """A limit's value is out of range; the message names the key and says what is allowed."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key, self.detail = key, message


def _decimal(key: str, raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | Decimal | float):
        raise LimitValueError(key, f"must be a number, got {raw!r}")
    try:
        value = Decimal(raw.strip()) if isinstance(raw, str) else Decimal(str(raw))
    except InvalidOperation:
        raise LimitValueError(key, f"must be a number, got {raw!r}") from None
    if not value.is_finite():
        raise LimitValueError(key, f"must be a finite number, got {raw}")
    if value <= 0:
        raise LimitValueError(key, f"must be greater than 0, got {raw} (to stop buying, set the kill switch "
                                   "to reducing)")
    return value


_SWITCH = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


def _switch(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _SWITCH:
        return _SWITCH[raw.strip().lower()]
    raise LimitValueError(key, f"must be true or false, got {raw!r}")


def parse(key: str, raw: Any) -> Any:
    """The value of limit `key` from a file, an environment variable or a flag; LimitValueError if out of range."""
    spec = SPEC_OF.get(key)
    if spec is None:
        raise LimitValueError(key, f"unknown limit; the limits are {', '.join(KEYS)}")
    if spec.kind == "mode":
        if raw not in ("refuse", "clip"):
            raise LimitValueError(key, f'must be "refuse" or "clip", got {raw!r}')
        return raw
    if spec.kind == "switch":
        return _switch(key, raw)
    if spec.kind == "symbol":
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str) or not _SYMBOL.fullmatch(raw.strip().upper()):
            raise LimitValueError(key, f"must be a ticker such as BIL (or empty), got {raw!r}")
        return raw.strip().upper()
    if spec.kind == "count":
        if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip().isdigit():
            raise LimitValueError(key, f"must be a whole number of at least 1, got {raw!r}")
        count = int(str(raw).strip())
        if count < 1:
            raise LimitValueError(key, f"must be at least 1, got {raw}")
        return count
    value = _decimal(key, raw)
    if spec.kind == "weight" and value > 1:
        raise LimitValueError(key, f"is a weight of equity: at most 1 (100%), got {raw}")
    return value


class Limits(BaseModel):
    """The effective limits of one workflow (or backtest), each value with where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_position_weight: Decimal = Decimal(1)
    position_cap: PositionCap = "refuse"
    cash_symbol: str | None = None
    max_order_equity_fraction: Decimal = Decimal("1.05")
    max_turnover_equity_fraction: Decimal = Decimal("1.05")
    max_daily_turnover_equity_fraction: Decimal = Decimal("1.5")
    max_orders_per_run: int = 500
    max_price_move: Decimal = Decimal("0.25")
    manage_whole_account: bool = False
    """Not a bound on what a plan buys but the plan's scope: which of the account's positions are the
    system's (services/portfolio/managed.py). It rides with the limits so it loads, travels and is
    reported the same way."""
    sources: dict[str, str] = Field(default_factory=dict)
    """limit key -> where its value was set ("portfolio.toml:12", "--max-position-weight", ...); absent: default."""

    @model_validator(mode="before")
    @classmethod
    def _in_range(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: (parse(k, v) if k in SPEC_OF else v) for k, v in data.items()}
        return data

    def source(self, key: str) -> str:
        return self.sources.get(key, DEFAULT_SOURCE)

    def value(self, key: str) -> Any:
        return getattr(self, key)

    def text(self, key: str) -> str:
        """The value as a person reads it: 75%, 105%, 100, clip, BIL, (none)."""
        value = self.value(key)
        if SPEC_OF[key].kind in ("weight", "fraction"):
            return percent(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "(none)" if value is None else str(value)

    def canonical(self) -> list[str]:
        """The values, in key order, as exact text (a plan's identity includes them). A switch at its default
        is left out, so the plans of a workflow without it keep the ids they had."""
        return [str(v.normalize()) if isinstance(v := self.value(k), Decimal) else
                self.text(k) if isinstance(v, bool) else str(v)
                for k in KEYS if SPEC_OF[k].kind != "switch" or self.value(k) != DEFAULTS.value(k)]

    def differs_from_default(self) -> bool:
        return any(self.value(k) != DEFAULTS.value(k) for k in KEYS)


DEFAULTS = Limits()


class LimitBinding(BaseModel):
    """A limit that shaped or stopped a plan: which, what it did, the numbers, and where to change it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: str
    action: Literal["refused", "clipped"]
    message: str = Field(max_length=1000)
    values: dict[str, str] = Field(default_factory=dict)
    change: str = Field(default="", max_length=1000)
    """Where to change it ("set in portfolio.toml:12 ([limits] max_position_weight); ...")."""

    def line(self) -> str:
        return f"{self.message}. {self.change}" if self.change else self.message


def percent(value: Decimal) -> str:
    """0.75 -> 75%, 1.05 -> 105%, 0.333 -> 33.3%."""
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def how_to_change(key: str, limits: Limits) -> str:
    """Every place this limit can be set, the one that set it first."""
    spec = SPEC_OF[key]
    source = limits.source(key)
    where = "the default" if source == DEFAULT_SOURCE else source
    return (f"{key} is {limits.text(key)} ({where}); change it with [limits] {key} in the portfolio file, "
            f"{spec.flag} on the command line, {spec.env}, or the template parameter {spec.parameter}")
