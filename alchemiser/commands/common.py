"""Argument types and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = Path(".alchemiser")


class UsageError(Exception):
    """Bad input from the command line: printed without a traceback, exit code 2."""


def as_of_arg(text: str) -> datetime:
    """ISO-8601 with an offset (2026-11-25T09:35:00-05:00), or a date (09:35 New York that day)."""
    from shared.runtime.clock import NEW_YORK  # lazy: a command's --help imports no shared module

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
    from alchemiser.text import say

    say(f"alchemiser: {message}", err=True)
    return code


BUSY_EXIT = 75
"""Exit code when another alchemiser process holds the state directory (EX_TEMPFAIL)."""


def locked(state_dir: Path, action: Callable[[], int], *, wait: float = 0.0, hint: str = "") -> int:
    """Run `action` holding the state dir's lock; another command holding it: say so, exit BUSY_EXIT."""
    from alchemiser.local.statedir import StateDirBusy, exclusive  # not for --help

    try:
        with exclusive(state_dir, wait=wait):
            code: int = action()
    except StateDirBusy as exc:
        return fail(f"{exc}{hint}", code=BUSY_EXIT)
    return code


def add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="if another alchemiser command holds the state dir, wait up to this long for it "
                             f"(default: 0, exit {BUSY_EXIT} at once)")


def data_arg(text: str) -> str:
    """`offline`, `alpaca`, or an existing folder of CSV bars."""
    if text in ("offline", "alpaca"):
        return text
    folder = Path(text)
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"'{text}' is not offline, alpaca or an existing folder of CSV files")
    if not any(folder.glob("*.csv")):
        raise argparse.ArgumentTypeError(f"folder '{text}' has no .csv files (one SYMBOL.csv per symbol)")
    return str(folder.resolve())


def stage_arg(text: str) -> str:
    """A stage the template allows (its Stage parameter's AllowedValues)."""
    from alchemiser.local.template import load_template

    allowed = load_template().raw.get("Parameters", {}).get("Stage", {}).get("AllowedValues")
    if allowed and text not in allowed:
        raise argparse.ArgumentTypeError(f"'{text}' is not a stage of the template (allowed: {', '.join(allowed)})")
    return text


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path.resolve()


# ---------------------------------------------------------------------------------------- the user's limits


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per limit (shared/limits/model.py): overrides the portfolio file's [limits] and ALCHEMISER_*."""
    from shared.limits.specs import SPECS  # no pydantic: --help stays fast

    group = parser.add_argument_group("limits", "override the portfolio file's [limits] (and ALCHEMISER_<KEY>) "
                                                "for this command; `alchemiser limits` shows the effective ones")
    for spec in SPECS:
        group.add_argument(spec.flag, dest=f"limit_{spec.key}", type=_limit_value(spec.key),
                           metavar=_METAVAR[spec.kind], help=spec.summary)


_METAVAR = {"weight": "W", "fraction": "F", "count": "N", "mode": "refuse|clip", "symbol": "SYMBOL"}


def _limit_value(key: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        from shared.limits.model import LimitValueError, parse

        try:
            parse(key, text)
        except LimitValueError as exc:
            raise argparse.ArgumentTypeError(f"{text}: {exc.detail}") from None
        return text

    return check


def limit_flags(args: argparse.Namespace) -> dict[str, str]:
    """The limits set by flags on this command line: key -> text."""
    from shared.limits.model import KEYS

    return {key: value for key in KEYS if (value := getattr(args, f"limit_{key}", None)) is not None}


def effective_limits(args: argparse.Namespace, file_limits: Any, env: Any = None) -> Any:
    """The command's limits: the portfolio file's, then ALCHEMISER_<KEY> in the environment, then the flags
    (shared/limits/loader.py). A bad variable is a UsageError naming it."""
    import os

    from shared.limits.loader import LimitsError, env_overrides, overridden
    from shared.limits.model import SPEC_OF

    try:
        limits = overridden(file_limits, env_overrides(os.environ if env is None else env), lambda k: SPEC_OF[k].env)
        return overridden(limits, limit_flags(args), lambda k: SPEC_OF[k].flag)
    except LimitsError as exc:
        raise UsageError(str(exc)) from exc


def limit_env(args: argparse.Namespace, env: Any = None) -> dict[str, str]:
    """What the local functions need to see the same limits: ALCHEMISER_<KEY> from the environment and the
    flags, and which flag set which (the strategy step labels each value with it)."""
    import json
    import os

    from shared.limits.loader import env_overrides
    from shared.limits.model import SPEC_OF

    values = {SPEC_OF[k].env: v for k, v in env_overrides(os.environ if env is None else env).items()}
    flags = limit_flags(args)
    values.update({SPEC_OF[k].env: v for k, v in flags.items()})
    if flags:
        values["ALCHEMISER_LIMITS_SET_BY"] = json.dumps({k: SPEC_OF[k].flag for k in flags})
    return values


def limits_file_problem(path: Path | None) -> str | None:
    """Why a portfolio file's [limits] cannot be used (an out-of-range value: file:line), or None."""
    if path is None:
        return None
    from shared.limits.loader import LimitsError, read_file

    try:
        read_file(path)
    except LimitsError as exc:
        return str(exc)
    return None
