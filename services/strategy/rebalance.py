"""Rebalance frequency: on which sessions a symphony decides new targets (pure, no I/O).

Composer's `:rebalance-frequency` (the JSON score's `rebalance`) is one of
`none | daily | weekly | monthly | quarterly | yearly` (composer-trade-mcp,
`symphony_score_schema.py`, `Root.rebalance`). Our rule, the same in the live chain and in the
backtest:

- the rebalance day of a period is its **first session** (weekly: the first session of the ISO
  week, Monday to Sunday; monthly / quarterly / yearly: of the calendar month / quarter / year);
- `daily` and `none` make every session a rebalance day (`none` is Composer's threshold mode:
  the logic runs every day and the corridor width decides whether to trade);
- between two rebalance days the previous targets are held: a run on any session evaluates the
  strategy **as of its most recent rebalance day** (`rebalance_day`), so a redelivery, a Lambda
  and a backtest all agree without new state.

Stable API (the backtest imports it):

    FREQUENCIES                                  the accepted names, in order
    parse_frequency(value) -> Frequency          "monthly", ":monthly", Keyword("monthly"); ValueError
    period_of(frequency, day) -> tuple           the period a day belongs to
    is_rebalance_day(frequency, day, sessions)   day is the first session of its period
    rebalance_day(frequency, day, sessions)      the most recent rebalance day on or before day
    rebalance_mask(frequency, sessions)          a bool per session: is it a rebalance day
    MAX_SESSIONS_PER_PERIOD[frequency]           extra history that reaches back past a period's start

`sessions` is an ascending sequence of session days (`datetime.date` or numpy datetime64[D])
that covers the period of `day` from its start (for yearly: from the first session of the year);
a shorter sequence would make its first element look like the period's first session.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal, TypeAlias, cast

import numpy as np
import numpy.typing as npt

Frequency: TypeAlias = Literal["none", "daily", "weekly", "monthly", "quarterly", "yearly"]
FREQUENCIES: tuple[Frequency, ...] = ("none", "daily", "weekly", "monthly", "quarterly", "yearly")
DEFAULT_FREQUENCY: Frequency = "daily"
"""A symphony without `:rebalance-frequency` decides every session (what this project always did)."""
MAX_SESSIONS_PER_PERIOD: dict[Frequency, int] = {"none": 0, "daily": 0, "weekly": 6, "monthly": 24,
                                                 "quarterly": 67, "yearly": 255}
"""More sessions than any period holds (plus one): a history this much longer than a strategy's
lookback reaches back past the start of the period of its last day."""


def parse_frequency(value: Any) -> Frequency:
    """A frequency from a keyword (`:monthly`, a Keyword with `.name`), a string, or None (daily)."""
    if value is None:
        return DEFAULT_FREQUENCY
    name = getattr(value, "name", value)
    if isinstance(name, str):
        text = name.strip().lower().removeprefix(":")
        for frequency in FREQUENCIES:
            if text == frequency:
                return frequency
    raise ValueError(f"unknown rebalance frequency {value!s}; expected one of "
                     + ", ".join(f":{f}" for f in FREQUENCIES))


def _as_date(day: date | np.datetime64) -> date:
    if isinstance(day, np.datetime64):
        return cast(date, day.astype("datetime64[D]").astype(date))
    return day


def period_of(frequency: Frequency, day: date | np.datetime64) -> tuple[int, ...]:
    """The period `day` belongs to: (y, m, d) daily, ISO (year, week), (y, m), (y, q), (y,)."""
    d = _as_date(day)
    if frequency in ("daily", "none"):
        return (d.year, d.month, d.day)
    if frequency == "weekly":
        iso = d.isocalendar()
        return (iso[0], iso[1])
    if frequency == "monthly":
        return (d.year, d.month)
    if frequency == "quarterly":
        return (d.year, (d.month - 1) // 3)
    if frequency == "yearly":
        return (d.year,)
    raise ValueError(f"unknown rebalance frequency {frequency!r}")


def _dates(sessions: Sequence[date] | npt.NDArray[np.datetime64]) -> list[date]:
    if isinstance(sessions, np.ndarray):
        return cast(list[date], sessions.astype("datetime64[D]").astype(date).tolist())
    return [_as_date(s) for s in sessions]


def rebalance_day(frequency: Frequency, day: date | np.datetime64,
                  sessions: Sequence[date] | npt.NDArray[np.datetime64]) -> date:
    """The most recent rebalance day on or before `day` (itself when it is one).

    `day` need not be a session: the latest session on or before it is used. Raises ValueError
    when `sessions` has no session on or before `day`.
    """
    days = _dates(sessions)
    target = _as_date(day)
    index = bisect.bisect_right(days, target) - 1
    if index < 0:
        raise ValueError(f"no session on or before {target.isoformat()}")
    period = period_of(frequency, days[index])
    while index > 0 and period_of(frequency, days[index - 1]) == period:
        index -= 1
    return days[index]


def is_rebalance_day(frequency: Frequency, day: date | np.datetime64,
                     sessions: Sequence[date] | npt.NDArray[np.datetime64]) -> bool:
    """True when `day` is a session and the first session of its period."""
    days = _dates(sessions)
    target = _as_date(day)
    index = bisect.bisect_left(days, target)
    if index >= len(days) or days[index] != target:
        return False
    return index == 0 or period_of(frequency, days[index - 1]) != period_of(frequency, target)


def rebalance_mask(frequency: Frequency,
                   sessions: Sequence[date] | npt.NDArray[np.datetime64]) -> npt.NDArray[np.bool_]:
    """For each session (ascending), whether it is a rebalance day; the first is always one."""
    days = _dates(sessions)
    mask = np.ones(len(days), dtype=np.bool_)
    for i in range(1, len(days)):
        mask[i] = period_of(frequency, days[i - 1]) != period_of(frequency, days[i])
    return mask
