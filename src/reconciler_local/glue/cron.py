"""Glue's cron expressions: `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, always UTC.

Supported, as in the AWS Glue developer guide ("Time-based schedules for jobs and crawlers"): `*`, `?`,
lists `a,b`, ranges `a-b`, increments `a/n` and `*/n`, month names JAN-DEC, day names SUN-SAT (days of
the week count 1 = SUN .. 7 = SAT), `L` in day-of-month (last day) and `nL` in day-of-week (last such
weekday of the month), `W` (nearest weekday) and `n#k` (k-th weekday n of the month). Exactly one of
day-of-month and day-of-week must be `?`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

MONTHS = {name: index for index, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
DAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_EXPRESSION = re.compile(r"^\s*cron\((.*)\)\s*$", re.IGNORECASE)
SEARCH_YEARS = 5


class CronError(ValueError):
    pass


def _number(text: str, names: dict[str, int], low: int, high: int, field: str) -> int:
    value = names.get(text.upper()) if names else None
    if value is None:
        if not text.isdigit():
            raise CronError(f"invalid {field} value {text!r}")
        value = int(text)
    if not low <= value <= high:
        raise CronError(f"{field} value {value} is outside {low}-{high}")
    return value


def _values(text: str, low: int, high: int, field: str, names: dict[str, int] | None = None) -> frozenset[int]:
    names = names or {}
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"empty list element in {field} {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"invalid increment {step_text!r} in {field}")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _number(first, names, low, high, field), _number(last, names, low, high, field)
            if end < start:
                raise CronError(f"range {base} in {field} runs backwards")
        else:
            start = _number(base, names, low, high, field)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int] | None
    day_of_month: str  # raw field, "?" when unused
    day_of_week: str

    def _day_matches(self, day: date) -> bool:
        last_day = calendar.monthrange(day.year, day.month)[1]
        if self.day_of_month != "?":
            field = self.day_of_month
            if field == "*":
                return True
            if field == "L":
                return day.day == last_day
            if field.endswith("W"):
                target = min(int(field[:-1]), last_day)
                wanted = date(day.year, day.month, target)
                if wanted.weekday() == 5:
                    wanted = wanted - timedelta(days=1) if target > 1 else wanted + timedelta(days=2)
                elif wanted.weekday() == 6:
                    wanted = wanted + timedelta(days=1) if target < last_day else wanted - timedelta(days=2)
                return day == wanted
            return day.day in _values(field, 1, 31, "day-of-month")
        field = self.day_of_week
        glue_weekday = (day.weekday() + 1) % 7 + 1  # Monday=0 -> 2 ... Sunday=6 -> 1
        if field == "*":
            return True
        if field.endswith("L"):
            weekday = _number(field[:-1] or "7", DAYS, 1, 7, "day-of-week")
            return glue_weekday == weekday and day.day + 7 > last_day
        if "#" in field:
            weekday_text, nth = field.split("#", 1)
            weekday = _number(weekday_text, DAYS, 1, 7, "day-of-week")
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise CronError(f"invalid day-of-week {field!r}: n#k needs k in 1-5")
            return glue_weekday == weekday and (day.day - 1) // 7 + 1 == int(nth)
        return glue_weekday in _values(field, 1, 7, "day-of-week", DAYS)

    def next_after(self, instant: datetime) -> datetime | None:
        """The first firing time strictly after `instant` (UTC, minute precision), or None within 5 years."""
        start = instant.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        end = date(start.year + SEARCH_YEARS, 12, 31)
        while day <= end:
            if (self.years is not None and day.year not in self.years) or day.month not in self.months:
                day = (date(day.year, day.month, 1) + timedelta(days=32)).replace(day=1)
                continue
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None

    def fires_between(self, after: datetime, until: datetime) -> datetime | None:
        """The firing time in (after, until], if any."""
        found = self.next_after(after)
        return found if found is not None and found <= until else None


def parse_cron(expression: str) -> CronSchedule:
    match = _EXPRESSION.match(expression or "")
    if not match:
        raise CronError(f"{expression!r} is not a Glue cron expression: cron(Minutes Hours Day-of-month Month "
                        "Day-of-week Year)")
    fields = match.group(1).split()
    if len(fields) != 6:
        raise CronError(f"{expression!r} has {len(fields)} fields; Glue cron has six: Minutes Hours "
                        "Day-of-month Month Day-of-week Year")
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise CronError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    schedule = CronSchedule(
        expression=expression,
        minutes=_values(minutes, 0, 59, "minutes"),
        hours=_values(hours, 0, 23, "hours"),
        months=_values(month, 1, 12, "month", MONTHS),
        years=None if year in ("*", "?") else _values(year, 1970, 2199, "year"),
        day_of_month=day_of_month.upper(),
        day_of_week=day_of_week.upper(),
    )
    # Validate the day fields once, on any day, so a bad expression fails here and not at firing time.
    try:
        schedule._day_matches(date(2024, 1, 1))
    except CronError:
        raise
    except ValueError as error:
        raise CronError(f"{expression!r}: {error}") from error
    return schedule
