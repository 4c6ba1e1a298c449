"""The strategy portfolio: which strategy files run, and what share of the account each gets.

    [[strategy]]
    name = "trend"
    file = "leveraged_trend.clj"     # relative to this TOML file
    allocation = "0.5"               # a string or a number; read as Decimal, never as float

Allocations are positive and sum to exactly 1. Every strategy file is parsed on load, so a typo
anywhere fails before any market data is read (as a StrategyError naming file, line, column).

An optional `[limits]` table sets the user's limits for every run of this portfolio (the keys, their
defaults and why: shared/limits/model.py; an out-of-range value fails the load naming file:line):

    [limits]
    max_position_weight = 0.75
    position_cap = "clip"            # or "refuse" (the default)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from services.strategy.language import StrategyError, Symphony, parse_file
from shared.limits.loader import TABLE as LIMITS_TABLE
from shared.limits.loader import LimitsError, from_table, key_lines
from shared.limits.model import Limits

_ENTRY_KEYS = {"name", "file", "allocation"}


class PortfolioConfigError(ValueError):
    """The portfolio file itself is wrong; the message starts with its path."""


@dataclass(frozen=True)
class StrategyEntry:
    name: str
    file: Path
    allocation: Decimal
    symphony: Symphony


@dataclass(frozen=True)
class BrokenStrategy:
    """A strategy whose file does not parse (collected by `load_portfolio(..., broken=[...])`)."""

    name: str
    file: Path
    allocation: Decimal
    error: StrategyError


@dataclass(frozen=True)
class StrategyPortfolio:
    source: Path
    strategies: tuple[StrategyEntry, ...]
    limits: Limits = field(default_factory=Limits)
    """The file's `[limits]` (the defaults for a portfolio of strategy files given on the command line)."""

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every ticker any strategy needs, sorted."""
        return tuple(sorted({s for entry in self.strategies for s in entry.symphony.symbols}))

    @property
    def lookback_days(self) -> int:
        """History to fetch so that every strategy can be evaluated."""
        return max(entry.symphony.lookback_days for entry in self.strategies)


def _allocation(value: Any, where: str, fail: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise fail(f'{where}: allocation must be a number or a numeric string such as "0.5", got {value!r}')
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise fail(f"{where}: allocation {value!r} is not a number") from None
    if not amount.is_finite() or not 0 < amount <= 1:
        raise fail(f"{where}: allocation must be greater than 0 and at most 1, got {value}")
    return amount


def _entry(raw: Any, index: int, base: Path, fail: Any, seen: set[str],
           broken: list[BrokenStrategy] | None) -> StrategyEntry | BrokenStrategy:
    where = f"[[strategy]] #{index + 1}"
    if not isinstance(raw, dict):
        raise fail(f"{where} must be a table with name, file and allocation")
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise fail(f"{where}: unknown key(s) {', '.join(unknown)}; expected name, file, allocation")
    missing = sorted(_ENTRY_KEYS - set(raw))
    if missing:
        raise fail(f"{where}: missing {', '.join(missing)}")
    name, file = raw["name"], raw["file"]
    if not isinstance(name, str) or not name.strip():
        raise fail(f"{where}: name must be a non-empty string")
    where = f"strategy {name!r}"
    if name in seen:
        raise fail(f"{where} is listed twice; names must be unique")
    seen.add(name)
    if not isinstance(file, str) or not file.strip():
        raise fail(f"{where}: file must be a path string")
    allocation = _allocation(raw["allocation"], where, fail)
    path = (base / file).resolve() if not Path(file).is_absolute() else Path(file)
    if not path.is_file():
        raise fail(f"{where}: strategy file {file!r} not found (looked for {path})")
    try:
        return StrategyEntry(name, path, allocation, parse_file(path))
    except StrategyError as exc:
        if broken is None:
            raise
        return BrokenStrategy(name, path, allocation, exc)


def load_portfolio(path: str | Path, *, broken: list[BrokenStrategy] | None = None) -> StrategyPortfolio:
    """Read and validate a portfolio TOML and parse every strategy it names.

    A strategy file that does not parse raises its StrategyError, unless `broken` is given (the
    `signals` command): then it is appended there and left out of the portfolio, and the others
    are still read. Problems of the portfolio file itself always raise PortfolioConfigError."""
    source = Path(path)

    def fail(message: str) -> PortfolioConfigError:
        return PortfolioConfigError(f"{source}: {message}")

    try:
        text = source.read_text(encoding="utf-8")
        data = tomllib.loads(text, parse_float=Decimal)
    except OSError as exc:
        raise fail(f"cannot read the portfolio file: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"invalid TOML: {exc}") from None
    unknown = sorted(set(data) - {"strategy", LIMITS_TABLE})
    if unknown:
        raise fail(f"unknown top-level key(s) {', '.join(unknown)}; expected [[strategy]] tables and [limits]")
    try:
        limits = from_table(data[LIMITS_TABLE], path=source, lines=key_lines(text)) if LIMITS_TABLE in data \
            else Limits()
    except LimitsError as exc:
        raise PortfolioConfigError(str(exc)) from None
    raw = data.get("strategy")
    if not isinstance(raw, list) or not raw:
        raise fail("no strategies: add at least one [[strategy]] table with name, file and allocation")
    seen: set[str] = set()
    read = [_entry(item, i, source.parent, fail, seen, broken) for i, item in enumerate(raw)]
    total = sum((e.allocation for e in read), Decimal(0))
    if total != 1:
        shown = " + ".join(str(e.allocation) for e in read)
        raise fail(f"allocations must sum to 1, but {shown} = {total}")
    if broken is not None:
        broken.extend(e for e in read if isinstance(e, BrokenStrategy))
    return StrategyPortfolio(source, tuple(e for e in read if isinstance(e, StrategyEntry)), limits)
