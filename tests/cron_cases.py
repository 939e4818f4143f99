"""One table of Glue cron expressions, for the spec validation tests and the local endpoint's tests alike.

Both read src/reconciler/spec/cron.py (the module's docstring cites the AWS pages behind each rule), so a case
here states what Glue accepts and when it fires, once, for both sides.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CronCase:
    expression: str
    problem: str | None = None  # a fragment of one of the validation messages; None: Glue accepts it
    # (after, the first firing strictly after it, or None when none is left), UTC, "YYYY-MM-DD HH:MM"
    fires: tuple[tuple[str, str | None], ...] = ()
    #: Glue accepts it, but it can never fire after VALIDATION_NOW: validation refuses it with this fragment
    never: str | None = None

    @property
    def valid(self) -> bool:
        return self.problem is None

    def __str__(self) -> str:
        return self.expression


def valid(expression: str, *fires: tuple[str, str | None]) -> CronCase:
    return CronCase(expression, None, fires)


def refused(expression: str, problem: str) -> CronCase:
    return CronCase(expression, problem)


def never(expression: str, problem: str, *fires: tuple[str, str | None]) -> CronCase:
    return CronCase(expression, None, fires, never=problem)


#: the "now" the validation tests judge "can it ever fire" at
VALIDATION_NOW = "2026-03-01 00:00"


CASES = (
    # --- accepted, with when they fire -------------------------------------------------------------------
    valid("cron(0 0 1 */3 ? *)", ("2026-11-28 04:00", "2027-01-01 00:00"), ("2027-01-01 00:00", "2027-04-01 00:00")),
    valid("cron(15 12 * * ? *)", ("2026-03-01 12:15", "2026-03-02 12:15")),
    valid("cron(0 18 ? * MON-FRI *)", ("2026-03-06 18:00", "2026-03-09 18:00")),  # Fri -> Mon
    valid("cron(0 8 ? * MON-FRI *)", ("2026-03-06 09:00", "2026-03-09 08:00")),
    valid("cron(0 8 ? * 1 *)", ("2026-03-02 00:00", "2026-03-08 08:00")),  # 1 = Sunday
    valid("cron(0 0 ? * sun *)", ("2026-03-02 00:00", "2026-03-08 00:00")),  # names in any case
    valid("cron(0/15 * * * ? *)", ("2026-03-01 10:41", "2026-03-01 10:45")),
    valid("cron(0/20 * * * ? *)", ("2026-03-01 10:41", "2026-03-01 11:00")),
    valid("cron(0/5 8-17 ? * MON-FRI *)", ("2026-03-06 17:55", "2026-03-09 08:00")),
    valid("cron(0,30 * * * ? *)", ("2026-03-01 10:00", "2026-03-01 10:30")),
    valid("cron(0,58 3 * * ? *)", ("2026-03-01 03:00", "2026-03-01 03:58")),  # 3:58 -> 3:00 is a day apart
    valid("cron(30 6 L * ? *)", ("2026-02-01 00:00", "2026-02-28 06:30")),
    valid("cron(0 0 L * ? *)", ("2026-04-01 00:00", "2026-04-30 00:00")),
    valid("cron(0 0 LW * ? *)", ("2026-05-01 00:00", "2026-05-29 00:00")),  # May 31 2026 is a Sunday
    valid("cron(0 0 15W * ? *)", ("2026-03-01 00:00", "2026-03-16 00:00")),  # the 15th is a Sunday -> Monday
    valid("cron(0 0 1W * ? *)", ("2026-07-15 00:00", "2026-08-03 00:00")),  # Sat the 1st -> Mon the 3rd
    valid("cron(0 0 31W * ? *)", ("2026-04-01 00:00", "2026-05-29 00:00")),  # no April 31st; May 31st is a Sunday
    valid("cron(0 0 31 * ? *)", ("2026-04-01 00:00", "2026-05-31 00:00")),
    valid("cron(0 0 ? * 6L *)", ("2026-03-01 00:00", "2026-03-27 00:00")),  # the last Friday
    valid("cron(0 8 ? * L *)", ("2026-03-02 00:00", "2026-03-07 08:00")),  # L: the last day of the week, Saturday
    valid("cron(0 0 ? * 2/2 *)", ("2026-03-02 00:00", "2026-03-04 00:00")),  # Mon, Wed, Fri
    valid("cron(0 0 1 JAN,APR,JUL,OCT ? 2025-2030)", ("2030-10-01 00:00", None)),
    valid("cron(0 10 1,15 JAN,JUL ? 2027)", ("2026-03-01 00:00", "2027-01-01 10:00")),
    # --- accepted by Glue, refused by validation: they can never fire (after VALIDATION_NOW) -------------------
    never("cron(0 0 1 1 ? 2020)", "every time it names is in the past", ("2026-01-01 00:00", None)),
    never("cron(0 0 1 1,2 ? 2019-2025)", "its last year is 2025", ("2026-01-01 00:00", None)),
    never("cron(0 0 30 2 ? *)", "no date in the months and years it names has that day", ("2026-01-01 00:00", None)),
    never("cron(0 0 31 2 ? *)", "30 February", ("2026-01-01 00:00", None)),
    never("cron(0 0 31 4,6,9,11 ? *)", "can never fire", ("2026-01-01 00:00", None)),
    never("cron(0 0 29 2 ? 2100)", "can never fire", ("2026-01-01 00:00", None)),  # 2100 is no leap year
    valid("cron(0 0 29 2 ? 2028)", ("2026-01-01 00:00", "2028-02-29 00:00")),
    valid(
        "cron(0 22-23,0-2 * * ? *)", ("2026-03-01 02:30", "2026-03-01 22:00"), ("2026-03-01 23:00", "2026-03-02 00:00")
    ),
    valid("cron(55 23,0 * * ? *)", ("2026-03-01 23:55", "2026-03-02 00:55")),  # an hour apart across midnight
    # --- refused --------------------------------------------------------------------------------------------
    refused("cron(0 0 1 */3 *)", "six fields"),
    refused("cron(0 0 1 */3 ?)", "six"),
    refused("cron(0 0 1 */3 ? * *)", "got 7"),
    refused("cron(0 0 1\u00a0* ? *)", "got 5"),  # fields are separated by spaces, not any Unicode blank
    refused("0 0 1 */3 ? *", "must be a Glue cron expression"),
    refused("CRON(0 0 1 * ? *)", "must be a Glue cron expression"),
    refused("cron(0 0 1W * ? *)x", "must be a Glue cron expression"),
    refused("rate(5 minutes)", "not rate(...)"),
    refused("cron(0 0 ? * ? *)", "(both are)"),
    refused("cron(0 0 ? */3 ? *)", "(both are)"),
    refused("cron(0 0 1 * MON *)", "(neither is)"),
    refused("cron(0 0 1 */3 * *)", "(neither is)"),
    refused("cron(0 0 * * * *)", "(neither is)"),
    refused("cron(60 0 1 * ? *)", "minutes value 60 is outside 0-59"),
    refused("cron(61 0 1 * ? *)", "outside 0-59"),
    refused("cron(0 24 1 * ? *)", "hours value 24 is outside 0-23"),
    refused("cron(0 0 32 * ? *)", "day-of-month value 32"),
    refused("cron(0 0 0 * ? *)", "day-of-month value 0"),
    refused("cron(0 0 1 13 ? *)", "month value 13"),
    refused("cron(0 0 1 FOO ? *)", "month has 'FOO'"),
    refused("cron(0 0 ? * 8 *)", "day-of-week value 8"),
    refused("cron(0 0 1 * ? 1969)", "year value 1969"),
    refused("cron(0 0 1 * ? ?)", "'?' is only allowed"),
    refused("cron(0 0 ? * MON#2 *)", "'#'"),  # Glue's day-of-week wildcards are , - * ? / L: no '#'
    refused("cron(0 0 ? * 2#1 *)", "'#'"),
    refused("cron(0 0 ? 1W * *)", "month has '1W'"),
    refused("cron(0 0 1,L * ? *)", "cannot be combined"),
    refused("cron(0 ? 1 * ? *)", "'?' is only allowed"),
    refused("cron(0 0 1,? * MON *)", "'?' must stand alone"),
    refused("cron(*/0 0 1 * ? *)", "step"),
    refused("cron(*/60 * * * ? *)", "minutes step"),
    refused("cron(0 0 1,,2 * ? *)", "empty list item"),
    refused("cron(\u0660 0 1 * ? *)", "minutes has '\u0660'"),  # Arabic-Indic zero: ASCII digits only
    refused("cron(0 0 \u0661\u0665 * ? *)", "day-of-month has"),
    refused("cron(0/\u0665 * * * ? *)", "minutes step"),
    # ranges are defined from a lower to a higher value only; 22-2 says 22-23,0-2
    refused("cron(0 22-2 * * ? *)", "hours range '22-2' runs backwards"),
    refused("cron(0 0 ? * FRI-MON *)", "write 6-7,1-2"),
    # Glue's minimum interval: 5 minutes
    refused("cron(* * * * ? *)", "more often than every 5 minutes"),
    refused("cron(0/1 * * * ? *)", "every 1 minute(s)"),
    refused("cron(0/2 * * * ? *)", "more often than every 5 minutes"),
    refused("cron(0,58 * * * ? *)", "every 2 minute(s)"),
    refused("cron(0,58 23,0 * * ? *)", "every 2 minute(s)"),  # 23:58 -> 00:00 across midnight
)
