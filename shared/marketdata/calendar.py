"""NYSE market calendar through the `exchange_calendars` library (XNYS).

`exchange_calendars` (and pandas under it) costs ~0.5 s to import, so it is imported the first
time a calendar is asked a question, never at module import; the session table it yields is
turned into numpy arrays once per process and shared by every instance.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import numpy.typing as npt

from shared.marketdata.port import Session
from shared.marketdata.series import day64

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2035, 12, 31)


@dataclass(frozen=True)
class _Table:
    dates: npt.NDArray[np.datetime64]
    """Session days, ascending, datetime64[D]."""
    opens: npt.NDArray[np.datetime64]
    """UTC, datetime64[s] (naive numpy values read as UTC)."""
    closes: npt.NDArray[np.datetime64]
    early: npt.NDArray[np.bool_]


@functools.lru_cache(maxsize=4)
def _load(code: str, first: date, last: date) -> _Table:
    import exchange_calendars as xcals  # lazy: ~0.5 s with pandas

    with warnings.catch_warnings():
        # exchange_calendars 4.13 itself trips pandas 3's deprecation of tz-dropping `.values`.
        warnings.simplefilter("ignore", DeprecationWarning)
        cal = xcals.get_calendar(code, start=first.isoformat(), end=last.isoformat())
        schedule = cal.schedule
    dates = np.asarray(schedule.index.to_numpy()).astype("datetime64[D]")
    # tz-aware UTC columns -> naive numpy values in UTC.
    opens = np.asarray(schedule["open"].dt.tz_convert(None).to_numpy()).astype("datetime64[s]")
    closes = np.asarray(schedule["close"].dt.tz_convert(None).to_numpy()).astype("datetime64[s]")
    early_days = np.asarray(cal.early_closes.to_numpy()).astype("datetime64[D]")
    return _Table(dates=dates, opens=opens, closes=closes, early=np.isin(dates, early_days))


def _utc(value: np.datetime64) -> datetime:
    seconds = int(value.astype("datetime64[s]").astype(np.int64))
    return datetime.fromtimestamp(seconds, tz=UTC)


@functools.lru_cache(maxsize=32768)
def _session_at(code: str, first: date, last: date, index: int) -> Session:
    """The table's session `index` (a frozen Session, built once: a backtest asks for every session's
    data day, once per strategy file)."""
    table = _load(code, first, last)
    return Session(
        date=date.fromisoformat(str(table.dates[index])),
        open=_utc(table.opens[index]),
        close=_utc(table.closes[index]),
        early_close=bool(table.early[index]),
    )


class ExchangeCalendar:
    """MarketCalendar for one exchange (default NYSE, XNYS) over [first_day, last_day].

    Asking about a day outside that range raises ValueError rather than guessing.
    """

    def __init__(self, code: str = "XNYS", *, first_day: date = FIRST_DAY, last_day: date = LAST_DAY) -> None:
        if first_day > last_day:
            raise ValueError(f"first_day {first_day} is after last_day {last_day}")
        self._code = code
        self.first_day = first_day
        self.last_day = last_day

    def __repr__(self) -> str:
        return f"ExchangeCalendar({self._code!r}, {self.first_day}..{self.last_day})"

    @property
    def _table(self) -> _Table:
        return _load(self._code, self.first_day, self.last_day)

    def _check(self, day: date) -> None:
        if not self.first_day <= day <= self.last_day:
            raise ValueError(
                f"{day.isoformat()} is outside the {self._code} calendar's range "
                f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"
            )

    def _session_at(self, index: int) -> Session:
        return _session_at(self._code, self.first_day, self.last_day, index)

    def session(self, day: date) -> Session | None:
        self._check(day)
        dates = self._table.dates
        index = int(np.searchsorted(dates, day64(day), side="left"))
        if index < dates.shape[0] and dates[index] == day64(day):
            return self._session_at(index)
        return None

    def is_session(self, day: date) -> bool:
        return self.session(day) is not None

    def previous_session(self, day: date) -> Session:
        self._check(day)
        index = int(np.searchsorted(self._table.dates, day64(day), side="left")) - 1
        if index < 0:
            raise ValueError(f"no {self._code} session before {day.isoformat()} in the calendar's range")
        return self._session_at(index)

    def next_session(self, day: date) -> Session:
        """The first session strictly after `day`."""
        self._check(day)
        dates = self._table.dates
        index = int(np.searchsorted(dates, day64(day), side="right"))
        if index >= dates.shape[0]:
            raise ValueError(f"no {self._code} session after {day.isoformat()} in the calendar's range")
        return self._session_at(index)

    def latest_session(self, at: datetime) -> Session:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"latest_session needs an aware datetime, got naive {at.isoformat()}")
        utc = at.astimezone(UTC)
        self._check(utc.date())
        instant = np.datetime64(utc.replace(tzinfo=None, microsecond=0).isoformat(), "s")
        index = int(np.searchsorted(self._table.opens, instant, side="right")) - 1
        if index < 0:
            raise ValueError(f"no {self._code} session opened at or before {at.isoformat()}")
        return self._session_at(index)

    def sessions_between(self, start: date, end: date) -> npt.NDArray[np.datetime64]:
        """Session days with start <= day <= end, ascending datetime64[D] (clipped to the range)."""
        dates = self._table.dates
        lo = int(np.searchsorted(dates, day64(start), side="left"))
        hi = int(np.searchsorted(dates, day64(end), side="right"))
        return dates[lo:hi].copy()
