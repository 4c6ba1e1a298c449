"""EventBridge Scheduler's schedule expressions and time zones, checked the way the service does.

cfn-lint and `sam validate` accept any string here; a bad cron only fails at deploy time (or,
worse, fires at the wrong time). Rules, from the Scheduler user guide ("Schedule types"):

- `cron(minutes hours day-of-month month day-of-week year)`, six fields;
  minutes 0-59, hours 0-23, day-of-month 1-31 (`? L W`), month 1-12 or JAN-DEC,
  day-of-week 1-7 (1 = Sunday) or SUN-SAT (`? L #`), year 1970-2199; `, - * /` everywhere;
  day-of-month and day-of-week cannot both be given: one of them is `?`.
- `rate(value unit)`: a positive whole value; unit minute(s), hour(s), day(s) (singular for 1).
- `at(yyyy-mm-ddThh:mm:ss)`: a one-time schedule.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    specials: frozenset[str] = frozenset()

    def number(self, token: str) -> int:
        upper = token.upper()
        if upper in self.names:
            return self.names.index(upper) + self.low
        if not token.isdigit():
            raise ValueError(f"{self.name}: {token!r} is not a number{' or a name' if self.names else ''}")
        value = int(token)
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.name}: {value} is outside {self.low}-{self.high}")
        return value


FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31, specials=frozenset({"?", "L", "W"})),
    _Field("month", 1, 12, MONTHS),
    _Field("day-of-week", 1, 7, DAYS, frozenset({"?", "L", "#"})),
    _Field("year", 1970, 2199),
)


def _check_item(field: _Field, item: str) -> None:
    if item == "*":
        return
    if item == "?":
        if "?" not in field.specials:
            raise ValueError(f"{field.name}: '?' is only allowed in day-of-month and day-of-week")
        return
    if "#" in item:
        if "#" not in field.specials:
            raise ValueError(f"{field.name}: '#' is only allowed in day-of-week")
        day, _, nth = item.partition("#")
        field.number(day)
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise ValueError(f"{field.name}: {item!r}: the n-th weekday must be 1-5")
        return
    if item.endswith(("L", "W")) and item[-1] in field.specials:
        rest = item[:-1]
        if item == "LW" and field.name == "day-of-month":
            return
        if rest:
            field.number(rest)
        return
    base, slash, step = item.partition("/")
    if slash and (not step.isdigit() or int(step) < 1):
        raise ValueError(f"{field.name}: {item!r}: the step must be a positive number")
    if base == "*" and slash:
        return
    first, dash, last = base.partition("-")
    low = field.number(first)
    if dash:
        high = field.number(last)
        if field.name != "day-of-week" and high < low:
            raise ValueError(f"{field.name}: {item!r}: the range runs backwards")


def check_cron(body: str) -> list[str]:
    """The six fields of a valid cron body (what is inside `cron(...)`); raises ValueError."""
    parts = body.split()
    if len(parts) != 6:
        raise ValueError(f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(parts)}")
    for field, part in zip(FIELDS, parts, strict=True):
        for item in part.split(","):
            if not item:
                raise ValueError(f"{field.name}: empty list item in {part!r}")
            _check_item(field, item)
    day_of_month, day_of_week = parts[2], parts[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ValueError("exactly one of day-of-month and day-of-week must be '?' "
                         f"(got {day_of_month!r} and {day_of_week!r})")
    return parts


def check_expression(expression: str) -> None:
    """Raise ValueError unless `expression` is a schedule expression EventBridge Scheduler accepts."""
    match = re.fullmatch(r"(cron|rate|at)\((.*)\)", expression.strip())
    if not match:
        raise ValueError(f"{expression!r} is not cron(...), rate(...) or at(...)")
    kind, body = match.groups()
    if kind == "cron":
        check_cron(body)
    elif kind == "rate":
        rate = re.fullmatch(r"([1-9][0-9]*) (minute|minutes|hour|hours|day|days)", body.strip())
        if not rate:
            raise ValueError(f"rate({body}): expected 'rate(<positive number> minute(s)|hour(s)|day(s))'")
        value, unit = int(rate.group(1)), rate.group(2)
        if (value == 1) != (not unit.endswith("s")):
            raise ValueError(f"rate({body}): the unit is singular for 1 and plural otherwise")
    else:
        try:
            datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
        except ValueError as exc:
            raise ValueError(f"at({body}): expected at(yyyy-mm-ddThh:mm:ss)") from exc


def check_timezone(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise ValueError(f"{name!r} is not an IANA time zone")
