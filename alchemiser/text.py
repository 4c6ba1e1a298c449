"""How every human output of the `alchemiser` command reads: one clock, one SYNTHETIC label.

One clock: New York time (the market's, the schedule's), to the second, never microseconds or a UTC offset:
`when(moment)` -> "2026-11-25 03:00:01 ET". The functions' own messages carry ISO times in UTC (events and
logs are machines' and stay so); `readable(text)` rewrites every ISO date-time with an offset inside a message
the same way before it is shown. JSON outputs keep their ISO UTC times: they are for machines.

Imports nothing heavy: `--help` stays fast.
"""

from __future__ import annotations

import re
from datetime import datetime

SYNTHETIC = ("SYNTHETIC: the offline prices are generated, not market data; for real data use --data DIR "
             "(README: CSV files) or --data alpaca")
"""Said by every output computed on the generated offline prices (signals, run, plan, status, pnl, backtest)."""

ZONE = "ET"
_ISO = re.compile(r"(?<![\d-])(\d{4}-\d{2}-\d{2})[T ]"  # the day
                  r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)"  # the time, maybe with seconds and their fraction
                  r"\s?(Z|[+-]\d{2}:?\d{2})(?![\d:])")  # the offset
_MICROSECONDS = re.compile(r"(\d{2}:\d{2}:\d{2})\.\d+")


def new_york(moment: datetime) -> datetime:
    from shared.runtime.clock import NEW_YORK

    return moment.astimezone(NEW_YORK)


def when(moment: datetime) -> str:
    """"2026-11-25 03:00:01 ET": an instant in New York time, to the second."""
    return f"{new_york(moment):%Y-%m-%d %H:%M:%S} {ZONE}"


def _rewrite(match: re.Match[str]) -> str:
    day, clock, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}{zone}")
    except ValueError:
        return match.group(0)
    return when(moment)


def readable(text: str) -> str:
    """`text` with every ISO date-time that has an offset in New York time ("... at 2026-11-25 03:00:01 ET"), and
    any left without one cut to the second."""
    return _MICROSECONDS.sub(r"\1", _ISO.sub(_rewrite, text))


def say(text: str = "", *, err: bool = False, end: str = "\n", flush: bool = False) -> None:
    """Print a human message (stdout, or stderr with `err`) with its times made readable."""
    import sys

    print(readable(text), file=sys.stderr if err else sys.stdout, end=end, flush=flush)
