"""MarketCalendar from Alpaca's trading calendar (GET /v2/calendar): holidays and early closes included.

Alpaca serves New York wall-clock open/close times; sessions here are UTC. Fetched ranges are
cached (in chunks of a year, so a run asks the broker once), and the cache is thread-safe.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from shared.broker.port import CalendarDay
from shared.marketdata.port import Session
from shared.runtime.clock import NEW_YORK, trading_date

REGULAR_CLOSE = time(16, 0)
EARLIEST = date(1970, 1, 1)
LATEST = date(2099, 12, 31)
"""Alpaca's calendar starts in 1970 and (today) ends in 2029: a day outside the sessions it returns
raises LookupError rather than reading as "market closed"."""


class CalendarSource(Protocol):
    def get_calendar(self, start: date, end: date) -> list[CalendarDay]: ...


class AlpacaCalendar:
    def __init__(self, source: CalendarSource, *, chunk_days: int = 366) -> None:
        """`source`: usually an AlpacaBroker (its reads retry and are rate limited)."""
        self._source = source
        self._chunk = timedelta(days=chunk_days)
        self._sessions: dict[date, Session] = {}
        self._covered: tuple[date, date] | None = None
        self._span: tuple[date, date] | None = None
        self._lock = threading.Lock()

    def session(self, day: date) -> Session | None:
        with self._lock:
            self._cover(day)
            if not self._known(day):
                raise LookupError(f"Alpaca's calendar has no data for {day}")
            return self._sessions.get(day)

    def previous_session(self, day: date) -> Session:
        return self._search(day - timedelta(days=1), -1)

    def next_session(self, day: date) -> Session:
        """The first session strictly after `day` (not in the port; handy for clocks)."""
        return self._search(day + timedelta(days=1), +1)

    def latest_session(self, at: datetime) -> Session:
        if at.tzinfo is None:
            raise ValueError("latest_session needs an aware datetime")
        today = trading_date(at)
        session = self.session(today)
        if session is not None and session.open <= at:
            return session
        return self.previous_session(today)

    def _known(self, day: date) -> bool:
        """Inside the span of sessions Alpaca has returned: beyond it, "no session" would be a guess."""
        return self._span is not None and self._span[0] <= day <= self._span[1]

    def _search(self, start: date, step: int) -> Session:
        day = start
        with self._lock:
            while True:
                self._cover(day)
                if not self._known(day):
                    raise LookupError(f"no session {'before' if step < 0 else 'after'} {start} in Alpaca's calendar")
                found = self._sessions.get(day)
                if found is not None:
                    return found
                day += timedelta(days=step)

    def _cover(self, day: date) -> None:
        """Make sure `day` has been asked for: fetch what is missing, a chunk at a time."""
        if self._covered is None:
            self._covered = self._fetch(day - self._chunk, day + timedelta(days=31))
            return
        first, last = self._covered
        if day < first:
            first = self._fetch(day - self._chunk, first - timedelta(days=1))[0]
        elif day > last:
            last = self._fetch(last + timedelta(days=1), day + self._chunk)[1]
        self._covered = (first, last)

    def _fetch(self, start: date, end: date) -> tuple[date, date]:
        start, end = max(start, EARLIEST), min(end, LATEST)
        for day in self._source.get_calendar(start, end) if start <= end else ():
            self._sessions[day.date] = _to_session(day)
        if self._sessions:
            self._span = (min(self._sessions), max(self._sessions))
        return start, end


def _to_session(day: CalendarDay) -> Session:
    close_local = day.close.astimezone(NEW_YORK).time()
    return Session(
        date=day.date,
        open=day.open.astimezone(UTC),
        close=day.close.astimezone(UTC),
        early_close=close_local < REGULAR_CLOSE,
    )
