"""Pure rules of a run: its trading date, its workflow id, which data it reads, why it is skipped.

No I/O here: these take the clock, the calendar's answers and the delivery, and say what they mean.

Which day's data a run reads (`data_day`, the same rule for run, signals, backtest and the Lambdas)
---------------------------------------------------------------------------------------------------
The data day of a moment is the last session whose close is at or before that moment:
- the scheduled 09:35 New York run on D reads the closes of D-1 (D's bar is incomplete, and
  Alpaca's daily bar for D is provisional until after the close);
- a run (or `signals --as-of`) at or after D's close reads D: "as of 4 pm on the 24th" means the
  24th's closes; an early-close day (13:00) counts from 13:00;
- on a weekend or holiday it is the most recent session, which is what the next trading day's
  09:35 run reads, so a Saturday evaluation answers "what would Monday's run hold?".
The moment of a trading run is its command's time: the Scheduler's (or the bus's) `time` of the
delivery when it has one, else the clock. Redeliveries keep that time, so a retry of the 09:35
run at 17:00 reads the same closes and republishes the same weights under the same event ids.
Data that ends before the data day is stale: the run fails closed, it never trades on it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any, Literal

from shared.events.envelope import DeliveryKind
from shared.marketdata.port import MarketCalendar, Session
from shared.runtime.clock import NEW_YORK, trading_date

Trigger = Literal["schedule", "manual", "replay"]
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")
_ALLOCATION_PLACES = Decimal("1e-9")


def data_session(calendar: MarketCalendar, at: datetime) -> Session:
    """The last session whose close is at or before `at` (an aware datetime)."""
    if at.tzinfo is None:
        raise ValueError(f"data_session needs an aware datetime, got {at.isoformat()}")
    day = trading_date(at)
    today = calendar.session(day)
    if today is not None and today.close <= at:
        return today
    return calendar.previous_session(day)


def data_day(calendar: MarketCalendar, at: datetime) -> date:
    """The data day of the moment `at`: see the module doc. Stable name (the backtest uses it)."""
    return data_session(calendar, at).date


def command_moment(delivery_time: str | None, clock: datetime) -> datetime:
    """When the command was issued: the delivery's ISO `time` (kept across redeliveries) when it is
    on the clock's New York date and not after the clock, else the clock (a console test event
    written on another day, a direct invocation)."""
    if delivery_time:
        try:
            moment = datetime.fromisoformat(delivery_time.replace("Z", "+00:00"))
        except ValueError:
            return clock
        if moment.tzinfo is not None and moment <= clock and trading_date(moment) == trading_date(clock):
            return moment
    return clock


def data_through(day: date, *, latest: datetime | None = None, synthetic: bool = False) -> str:
    """How every output names the data: "data through 2026-11-24 close" (or latest trades)."""
    text = f"data through {day.isoformat()} close"
    if latest is not None:
        text = f"data through {latest.astimezone(NEW_YORK):%Y-%m-%d %H:%M} New York (latest trades as today's bar)"
    return text + (" — SYNTHETIC offline prices, not real market data" if synthetic else "")


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
            f"{needed.isoformat()} (the last session closed before the run); refusing to trade on old prices")


def freshness_check(data_as_of: date, needed: date, *, synthetic: bool = False) -> dict[str, Any]:
    """The data-freshness check of a dry run (`mode: "plan"`, `alchemiser plan`): the run's own rule (stale_reason)."""
    stale = stale_reason(data_as_of, needed)
    detail = (f"last bar {data_as_of.isoformat()}, the run needs {needed.isoformat()}"
              + ("; SYNTHETIC offline prices" if synthetic else "")
              + ("" if stale is None else ": the run would fail closed as stale"))
    return {"check": "data freshness", "ok": stale is None, "detail": detail}


def clock_detail(session: Session | None, now: datetime) -> str:
    """The session's hours against now, in New York time."""
    at = now.astimezone(NEW_YORK).isoformat()
    if session is None:
        return f"closed all day at {at}"
    opens, closes = session.open.astimezone(NEW_YORK).isoformat(), session.close.astimezone(NEW_YORK).isoformat()
    if now < session.open:
        return f"closed at {at}; opens {opens} (orders would wait for the open)"
    if now >= session.close:
        return f"closed at {at}; the session closed {closes}"
    return f"open at {at}; closes {closes}"


def trading_day_check(session: Session | None, day: date, now: datetime) -> dict[str, Any]:
    """The market-day check of a dry run: the run's own rule (no session: no workflow, `closed_reason`)."""
    return {"check": "trading day", "ok": session is not None,
            "detail": (f"a session: {clock_detail(session, now)}" if session is not None
                       else f"{closed_reason(day)}: the run would start no workflow")}


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
