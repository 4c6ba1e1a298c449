"""Argument types and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_STATE_DIR = Path(".alchemiser")


class UsageError(Exception):
    """Bad input from the command line: printed without a traceback, exit code 2."""


def as_of_arg(text: str) -> datetime:
    """ISO-8601 with an offset (2026-11-25T09:35:00-05:00), or a date (09:35 New York that day)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(9, 35), NEW_YORK)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO date-time; e.g. 2026-11-25T09:35:00-05:00 or 2026-11-25") from exc
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no timezone offset; e.g. 2026-11-25T09:35:00-05:00")
    return moment


def add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, metavar="DIR",
                        help="where local state lives (default: .alchemiser)")


def read_json_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def dumps(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, default=_default)


def fail(message: str, code: int = 2) -> int:
    print(f"alchemiser: {message}", file=sys.stderr)
    return code
