"""The one loader of the limits: the portfolio file's `[limits]` table, then overrides.

    [limits]
    max_position_weight = 0.75      # numbers or numeric strings; read as Decimal, never float
    position_cap = "clip"
    cash_symbol = "BIL"

Precedence, lowest first: the defaults (model.py), the portfolio file, `ALCHEMISER_<KEY>` (locally
your shell's environment; in a deployed stage the template parameter, e.g. `MaxPositionWeight`,
which sets it on the strategy function), then a command's flag (`--max-position-weight`). Each
value keeps where it came from ("portfolio.toml:7", "ALCHEMISER_MAX_POSITION_WEIGHT", "--max-...").
An out-of-range value (negative, NaN, zero, a weight above 1, an unknown key) is a LimitsError naming
the key and where it was set (file:line, the variable or the flag).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.limits.model import KEYS, SPEC_OF, SPECS, Limits, LimitValueError, parse

TABLE = "limits"


class LimitsError(ValueError):
    """A limit is out of range or unknown; the message starts with where it was set."""

    def __init__(self, where: str, key: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.key = where, key


def display(path: Path) -> str:
    """The path as a user reads it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def key_lines(text: str) -> dict[str, int]:
    """Limit key -> the line (1-based) it is set on in a TOML text: inside `[limits]`, as
    `limits.key = ...`, or inside an inline `limits = {...}` (its line)."""
    found: dict[str, int] = {}
    table: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip()
        header = re.fullmatch(r"\[\s*([^\]\[]+?)\s*\]", stripped)
        if header:
            table = header.group(1)
            continue
        if stripped.startswith("[["):
            table = None
            continue
        match = re.match(r"([A-Za-z0-9_.\"'-]+)\s*=", stripped)
        if not match:
            continue
        name = match.group(1).strip("\"'")
        if table == TABLE:
            found.setdefault(name, number)
        elif table is None and name.startswith(TABLE + "."):
            found.setdefault(name.removeprefix(TABLE + "."), number)
        elif table is None and name == TABLE:
            for key in re.findall(r"([A-Za-z_]+)\s*=", stripped.split("=", 1)[1]):
                found.setdefault(key, number)
    return found


def from_table(table: Any, *, path: Path, lines: Mapping[str, int]) -> Limits:
    """The limits a portfolio file's `[limits]` table sets (the rest: defaults)."""
    where_file = display(path)
    if not isinstance(table, dict):
        raise LimitsError(where_file, TABLE, f"[{TABLE}] must be a table of limits ({', '.join(KEYS)})")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, raw in table.items():
        where = f"{where_file}:{lines[key]}" if key in lines else where_file
        try:
            values[key] = parse(key, raw)
        except LimitValueError as exc:
            raise LimitsError(where, key, f"[{TABLE}] {key} = {_shown(raw)}: {exc.detail}") from None
        sources[key] = where
    return Limits(**values, sources=sources)


def read_file(path: Path) -> Limits:
    """The limits of a portfolio file (only its `[limits]` table is read; none: the defaults)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LimitsError(display(path), TABLE, f"cannot read the portfolio file: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise LimitsError(display(path), TABLE, f"invalid TOML: {exc}") from None
    if TABLE not in data:
        return Limits()
    return from_table(data[TABLE], path=path, lines=key_lines(text))


def overridden(base: Limits, values: Mapping[str, Any], label: Callable[[str], str]) -> Limits:
    """`base` with `values` (limit key -> raw text) set on top, each labelled `label(key)`."""
    if not values:
        return base
    merged: dict[str, Any] = {k: base.value(k) for k in KEYS}
    sources = dict(base.sources)
    for key, raw in values.items():
        try:
            merged[key] = parse(key, raw)
        except LimitValueError as exc:
            raise LimitsError(label(key), key, f"{raw}: {exc.detail}") from None
        sources[key] = label(key)
    return Limits(**merged, sources=sources)


def env_overrides(env: Mapping[str, str]) -> dict[str, str]:
    """The limits set as ALCHEMISER_<KEY> in `env` (an empty value is unset)."""
    return {spec.key: env[spec.env] for spec in SPECS if env.get(spec.env, "") != ""}


def resolve(portfolio_file: Path | None, *, env: Mapping[str, str] | None = None,
            flags: Mapping[str, str] | None = None) -> Limits:
    """Defaults < the portfolio file's [limits] < ALCHEMISER_<KEY> in `env` (default: os.environ) < flags."""
    limits = read_file(portfolio_file) if portfolio_file is not None else Limits()
    limits = overridden(limits, env_overrides(os.environ if env is None else env), lambda k: SPEC_OF[k].env)
    return overridden(limits, flags or {}, lambda k: SPEC_OF[k].flag)


def _shown(raw: Any) -> str:
    return f'"{raw}"' if isinstance(raw, str) else str(raw)
