"""Glue cron expressions: the one parser that both spec validation and the local endpoint's scheduler use.

`cron(Minutes Hours Day-of-month Month Day-of-week Year)`, always UTC, as the AWS Glue developer guide
defines it in "Time-based schedules for jobs and crawlers"
(https://docs.aws.amazon.com/glue/latest/dg/monitor-data-warehouse-schedule.html):

| field        | values           | wildcards (that page's table) |
| ------------ | ---------------- | ----------------------------- |
| Minutes      | 0-59             | , - * /                       |
| Hours        | 0-23             | , - * /                       |
| Day-of-month | 1-31             | , - * ? / L W                 |
| Month        | 1-12 or JAN-DEC  | , - * /                       |
| Day-of-week  | 1-7 or SUN-SAT   | , - * ? / L                   |
| Year         | 1970-2199        | , - * /                       |

and its "Limits": one of day-of-month and day-of-week is `?`, and "cron expressions that lead to rates
faster than 5 minutes are not supported". Glue's table lists no `#` for day-of-week (EventBridge's has
it), so `#` is refused here.

Where the Glue page is silent, the EventBridge "Cron expressions reference"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html), whose table is the
same but for '#', decides:

- `L` in day-of-week "specifies the last day of the week": Saturday (7); `nL` is the last weekday n of
  the month; `L` in day-of-month is the last day of the month, `LW` its last weekday, `nW` "the weekday
  closest to" day n, within the same month (a day n the month does not have never fires, like plain n).
- A range `a-b` "specifies ranges. In the Day field, 1-15 includes days 1 through 15": both pages define
  a range only from a low value to a higher one and say nothing of ranges that wrap (`22-2`). A range
  that runs backwards is refused, with the list that says the same thing (`22-23,0-2`), rather than
  guessing a meaning AWS does not document.
- `a/n` is every n-th value from a to the end of the field ("1/10 ... the 11th, 21st, and 31st minute");
  a step is 1 to the field's highest value (`*/60` in minutes is refused, as EventBridge refuses it:
  https://github.com/aws/aws-sdk-js/issues/4212).

Values are ASCII digits or the English names, in any case; any other digit (e.g. Arabic-Indic) is refused.
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

MIN_SCHEDULE_MINUTES = 5  # Glue: "Cron expressions that lead to rates faster than 5 minutes are not supported."
SEARCH_YEARS = 5  # next_after looks this many years ahead at most
EXAMPLE = "cron(0 0 1 */3 ? *)"

MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTHS = {name: index for index, name in enumerate(MONTH_NAMES, 1)}
DAYS = {name: index for index, name in enumerate(DAY_NAMES, 1)}

_NUMBER = re.compile(r"[0-9]{1,4}")  # ASCII only: `\d` and str.isdigit() accept every script's digits
_FIELD_SEPARATOR = re.compile(r"[ \t]+")


class CronError(ValueError):
    """An expression Glue refuses; `problems` holds every reason, in the validation messages' words."""

    def __init__(self, expression: str, problems: list[str]) -> None:
        self.expression = expression
        self.problems = problems
        super().__init__(f"{expression!r}: " + "; ".join(problems))


@dataclass(frozen=True)
class _Field:
    label: str
    low: int
    high: int
    names: dict[str, int] = field(default_factory=dict)
    question: bool = False  # '?' allowed (day-of-month, day-of-week)
    last: bool = False  # 'L' allowed
    weekday: bool = False  # 'LW' and 'nW' allowed (day-of-month)
    last_of: bool = False  # 'nL' allowed: the last given weekday of the month (day-of-week)


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31, question=True, last=True, weekday=True),
    _Field("month", 1, 12, names=MONTHS),
    _Field("day-of-week", 1, 7, names=DAYS, question=True, last=True, last_of=True),
    _Field("year", 1970, 2199),
)
_MINUTES, _HOURS, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK, _YEAR = _FIELDS


def _shorten(text: str, limit: int = 60) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


@dataclass(frozen=True)
class _Parsed:
    """One field: its plain values, or one special form (L, LW, nW, nL) with its number."""

    values: frozenset[int] = frozenset()
    special: str | None = None  # "L", "LW", "W" (nW) or "nL"
    number: int | None = None  # n of nW and nL
    question: bool = False


def _value(token: str, spec: _Field) -> tuple[int | None, str | None]:
    """One value (a number or a name): (value, problem)."""
    if _NUMBER.fullmatch(token):
        number = int(token)
        if spec.low <= number <= spec.high:
            return number, None
        return None, f"{spec.label} value {token} is outside {spec.low}-{spec.high}"
    if token.upper() in spec.names:
        return spec.names[token.upper()], None
    names = f" or {next(iter(spec.names))}-{list(spec.names)[-1]}" if spec.names else ""
    return None, f"{spec.label} has {_shorten(token, 20)}, expected a number {spec.low}-{spec.high}{names}"


def _special(upper: str, spec: _Field) -> tuple[_Parsed, list[str]] | None:
    """An L/W form (L, LW, nW in day-of-month; L, nL in day-of-week), or None if `upper` is not one."""
    if spec.last and upper == "L":
        if spec.last_of:  # day-of-week: "the last day of the week", Saturday
            return _Parsed(values=frozenset({spec.high})), []
        return _Parsed(special="L"), []
    if spec.weekday and upper == "LW":
        return _Parsed(special="LW"), []
    if len(upper) > 1 and ((spec.weekday and upper.endswith("W")) or (spec.last_of and upper.endswith("L"))):
        number, problem = _value(upper[:-1], spec)
        if problem or number is None:
            return _Parsed(), [problem or f"{spec.label}: cannot read {upper!r}"]
        return _Parsed(special="W" if upper.endswith("W") else "nL", number=number), []
    return None


def _item(item: str, spec: _Field) -> tuple[set[int], list[str]]:
    """One comma-separated element of a field: *, v, a-b, each with an optional /step."""
    base, slash, step_text = item.partition("/")
    if base == "*":
        start, end = spec.low, spec.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, p1 = _value(first, spec)
        high, p2 = _value(last, spec)
        problems = [p for p in (p1, p2) if p]
        if problems or low is None or high is None:
            return set(), problems
        if low > high:
            return set(), [
                f"{spec.label} range {base!r} runs backwards; AWS defines a range only from a lower to a higher "
                f"value: write {low}-{spec.high},{spec.low}-{high} for one that wraps past {spec.high}"
            ]
        start, end = low, high
    else:
        value, problem = _value(base, spec)
        if problem or value is None:
            return set(), [problem or f"{spec.label}: cannot read {item!r}"]
        start = value
        end = spec.high if slash else value
    step = 1
    if slash:
        if not _NUMBER.fullmatch(step_text) or not 1 <= int(step_text) <= spec.high:
            return set(), [f"{spec.label} step in {item!r} must be a number 1-{spec.high}"]
        step = int(step_text)
    return set(range(start, end + 1, step)), []


def _field(text: str, spec: _Field) -> tuple[_Parsed, list[str]]:
    if text == "?":
        if spec.question:
            return _Parsed(question=True), []
        return _Parsed(), [f"'?' is only allowed in day-of-month or day-of-week (got it in {spec.label})"]
    items = text.split(",")
    if any(item == "" for item in items):
        return _Parsed(), [f"{spec.label} has an empty list item in {text!r}"]
    values: set[int] = set()
    problems: list[str] = []
    for item in items:
        if "#" in item:
            problems.append(f"{spec.label} has '#', which Glue schedules do not support")
            continue
        if "?" in item:
            problems.append(f"'?' must stand alone, in day-of-month or day-of-week (got {item!r} in {spec.label})")
            continue
        special = _special(item.upper(), spec)
        if special is not None:
            if len(items) > 1:
                problems.append(f"{spec.label}: {item!r} cannot be combined with other values in a list")
                continue
            return special
        item_values, item_problems = _item(item, spec)
        values |= item_values
        problems += item_problems
    return _Parsed(values=frozenset(values)), problems


def _too_frequent(minutes: frozenset[int], hours: frozenset[int]) -> str | None:
    ordered = sorted(minutes)
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    # Across the hour boundary too, when two consecutive hours both fire (23 -> 0 included).
    if ordered and any((h + 1) % 24 in hours for h in hours):
        gaps.append(60 - ordered[-1] + ordered[0])
    shortest = min(gaps, default=60)
    if shortest < MIN_SCHEDULE_MINUTES:
        return (
            f"runs every {shortest} minute(s) at times; Glue schedules cannot run more often than every "
            f"{MIN_SCHEDULE_MINUTES} minutes"
        )
    return None


@dataclass(frozen=True)
class CronSchedule:
    """A valid Glue cron expression, ready to say when it fires."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_of_month: _Parsed  # `question` when day-of-week decides
    day_of_week: _Parsed

    def matches_day(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        last_day = calendar.monthrange(day.year, day.month)[1]
        if not self.day_of_month.question:
            return _day_of_month_matches(self.day_of_month, day, last_day)
        weekday = day.isoweekday() % 7 + 1  # Glue counts 1 = SUN .. 7 = SAT; isoweekday 7 = Sunday
        rule = self.day_of_week
        if rule.special == "nL":
            return weekday == rule.number and day.day + 7 > last_day
        return weekday in rule.values

    def next_after(self, instant: datetime, *, ever: bool = False) -> datetime | None:
        """The first firing time strictly after `instant` (UTC, minute precision), or None within SEARCH_YEARS
        (`ever`: up to the last year the expression allows, at most 2199, so None means it never fires again).
        Months and years that cannot match are skipped whole, so even `ever` costs at most a few thousand
        days: only the days of the months named, in the years named."""
        start = instant.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        last = max(self.years) if ever else min(start.year + SEARCH_YEARS, max(self.years))
        if last < start.year:
            return None
        end = date(last, 12, 31)
        while day <= end:
            if day.year not in self.years or day.month not in self.months:
                day = (date(day.year, day.month, 1) + timedelta(days=32)).replace(day=1)
                continue
            if self.matches_day(day):
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


def _day_of_month_matches(rule: _Parsed, day: date, last_day: int) -> bool:
    if rule.special == "L":
        return day.day == last_day
    if rule.special == "LW":
        wanted = date(day.year, day.month, last_day)
        while wanted.weekday() >= 5:  # Saturday, Sunday
            wanted -= timedelta(days=1)
        return day == wanted
    if rule.special == "W":
        assert rule.number is not None
        if rule.number > last_day:
            return False
        wanted = date(day.year, day.month, rule.number)
        if wanted.weekday() == 5:  # Saturday: the Friday before, or the Monday after the 1st
            wanted = wanted - timedelta(days=1) if rule.number > 1 else wanted + timedelta(days=2)
        elif wanted.weekday() == 6:  # Sunday: the Monday after, or the Friday before the last day
            wanted = wanted + timedelta(days=1) if rule.number < last_day else wanted - timedelta(days=2)
        return day == wanted
    return day.day in rule.values


def _read(expression: str) -> tuple[CronSchedule | None, list[str]]:
    if expression.startswith("rate("):
        return None, [f"Glue schedules take cron(...) expressions, not rate(...); e.g. {EXAMPLE}"]
    if not (expression.startswith("cron(") and expression.endswith(")")):
        return None, [f"must be a Glue cron expression like {EXAMPLE} (got {_shorten(expression)})"]
    inner = expression[len("cron(") : -1].strip(" \t")
    texts = _FIELD_SEPARATOR.split(inner) if inner else []
    if len(texts) != len(_FIELDS):
        hint = "; Glue cron has a sixth field, Year: add ' *' at the end" if len(texts) == 5 else ""
        fields = "six fields (Minutes Hours Day-of-month Month Day-of-week Year)"
        return None, [f"must have {fields}, got {len(texts)}{hint}"]
    problems: list[str] = []
    parsed: list[_Parsed] = []
    for text, spec in zip(texts, _FIELDS, strict=True):
        one, field_problems = _field(text, spec)
        parsed.append(one)
        problems += field_problems
    day_of_month, day_of_week = parsed[2], parsed[4]
    if day_of_month.question and day_of_week.question:
        problems.append("exactly one of day-of-month and day-of-week must be '?' (both are)")
    elif texts[2] != "?" and texts[4] != "?":
        problems.append(
            "exactly one of day-of-month and day-of-week must be '?' (neither is); "
            "e.g. cron(0 0 1 * ? *) or cron(0 0 ? * MON *)"
        )
    if problems:
        return None, problems
    schedule = CronSchedule(
        expression=expression,
        minutes=parsed[0].values,
        hours=parsed[1].values,
        day_of_month=day_of_month,
        months=parsed[3].values,
        day_of_week=day_of_week,
        years=parsed[5].values,
    )
    frequent = _too_frequent(schedule.minutes, schedule.hours)
    return (None, [frequent]) if frequent else (schedule, [])


def cron_problems(expression: str, now: datetime | None = None) -> list[str]:
    """Every reason Glue would refuse `expression`, and a schedule that can never fire after `now` (default:
    the current time), as message fragments after a field path (empty = valid)."""
    schedule, problems = _read(expression)
    if schedule is None:
        return problems
    now = now or datetime.now(UTC)
    if schedule.next_after(now, ever=True) is not None:
        return []
    first_year = datetime(min(schedule.years), 1, 1, tzinfo=UTC) - timedelta(minutes=1)
    if schedule.next_after(first_year, ever=True) is not None:
        return [f"can never fire again: every time it names is in the past (its last year is {max(schedule.years)})"]
    return ["can never fire: no date in the months and years it names has that day (e.g. 30 February)"]


def parse_cron(expression: str) -> CronSchedule:
    """The schedule of a valid expression; CronError with every problem otherwise."""
    schedule, problems = _read(expression)
    if schedule is None:
        raise CronError(expression, problems)
    return schedule
