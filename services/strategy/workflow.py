"""Pure rules of a run: its trading date, its workflow id, which data it reads, why it is skipped.

No I/O here: these take the clock, the calendar's answers and the delivery, and say what they mean.

Which day's data a run reads
----------------------------
A run for trading date D evaluates the strategies on the closes of the last session strictly
before D (`calendar.previous_session(D)`), whatever the time of day:
- at the scheduled 09:35 New York, D's own bar is incomplete (and Alpaca's daily bar for D is
  provisional until after the close);
- it makes the run deterministic per trading date: a Lambda retry, a redelivery or a second
  attempt after an infrastructure error at 17:00 reads the same closes as the 09:35 attempt, so
  the events it republishes under the same ids carry the same weights;
- on a day without a session (weekend, holiday) the same rule gives the most recent session,
  which is exactly the data the next trading day's run will read, so a signal-only evaluation
  on a Saturday answers "what would Monday's run hold?".
Data that ends before that session is stale: the run fails closed, it never trades on it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from shared.events.envelope import DeliveryKind

NEW_YORK = ZoneInfo("America/New_York")
Trigger = Literal["schedule", "manual", "replay"]
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")
_ALLOCATION_PLACES = Decimal("1e-9")


def trading_date(moment: datetime) -> date:
    """The New York calendar date of `moment` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError(f"trading_date needs an aware datetime, got {moment.isoformat()}")
    return moment.astimezone(NEW_YORK).date()


def run_correlation_id(day: date, trading_mode: str) -> str:
    """The workflow id of the day's run: one per trading date and mode (`run-2026-11-25-paper`)."""
    return f"run-{day.isoformat()}-{trading_mode}"


def closed_reason(day: date) -> str:
    """Why there is no run on `day`: "market closed on 2026-11-26 (Thursday): holiday"."""
    why = "weekend" if day.weekday() >= 5 else "holiday"
    return f"market closed on {day.isoformat()} ({day:%A}): {why}"


def trigger_of(kind: DeliveryKind) -> Trigger:
    """WorkflowStarted.trigger for how the command arrived."""
    if kind == "scheduler":
        return "schedule"
    if kind == "replay":
        return "replay"
    return "manual"


def command_id(envelope_id: str | None, request_id: str | None) -> str:
    """The id of the command that starts the run: the causation id of the events it publishes.

    The envelope id when there is one (the Scheduler's envelope keeps it across Lambda's retries
    of that delivery), else the Lambda request id (kept across Lambda's own asynchronous retries
    of one request). Either way a retried invocation republishes the same event ids.
    """
    for candidate in (envelope_id, request_id):
        if candidate and _IDENTIFIER.match(candidate):
            return candidate
    raise ValueError("the invocation has neither an envelope id nor a request id usable as an event causation id")


def stale_reason(data_as_of: date, needed: date) -> str | None:
    """None when the data reaches the session the run needs; else why the run cannot use it."""
    if data_as_of >= needed:
        return None
    return (f"market data is stale: it ends on {data_as_of.isoformat()}, but the run needs the closes of "
            f"{needed.isoformat()} (the previous trading session); refusing to trade on old prices")


def equal_allocations(count: int) -> list[Decimal]:
    """`count` allocations summing to exactly 1 (9 places; the rounding residue on the first)."""
    if count < 1:
        raise ValueError("at least one strategy is needed")
    share = (Decimal(1) / count).quantize(_ALLOCATION_PLACES, ROUND_DOWN)
    return [Decimal(1) - share * (count - 1), *[share] * (count - 1)]


def unique_names(stems: Sequence[str]) -> list[str]:
    """Strategy names from file stems, made unique with a suffix (`trend`, `trend-2`)."""
    used: set[str] = set()
    names = []
    for stem in stems:
        name, n = stem, 1
        while name in used:
            n += 1
            name = f"{stem}-{n}"
        used.add(name)
        names.append(name)
    return names


def display_file(path: Path, base: Path) -> str:
    """A strategy file as events show it: relative to the portfolio file's folder when inside it."""
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
