"""Glue cron expressions (UTC), on the pure parser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler_local.glue.cron import CronError, parse_cron


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 0 1 */3 ? *)", "2026-11-28 04:00", "2027-01-01 00:00"),  # quarterly
        ("cron(0 0 1 */3 ? *)", "2027-01-01 00:00", "2027-04-01 00:00"),  # strictly after
        ("cron(15 12 * * ? *)", "2026-03-01 12:15", "2026-03-02 12:15"),
        ("cron(0/20 * * * ? *)", "2026-03-01 10:41", "2026-03-01 11:00"),
        ("cron(0 8 ? * MON-FRI *)", "2026-03-06 09:00", "2026-03-09 08:00"),  # Fri -> Mon
        ("cron(0 8 ? * 1 *)", "2026-03-02 00:00", "2026-03-08 08:00"),  # 1 = Sunday
        ("cron(30 6 L * ? *)", "2026-02-01 00:00", "2026-02-28 06:30"),
        ("cron(0 0 ? * 6L *)", "2026-03-01 00:00", "2026-03-27 00:00"),  # last Friday
        ("cron(0 0 ? * 2#1 *)", "2026-03-01 00:00", "2026-03-02 00:00"),  # first Monday
        ("cron(0 10 1,15 JAN,JUL ? 2027)", "2026-03-01 00:00", "2027-01-01 10:00"),
    ],
)
def test_next_firing(expression: str, after: str, expected: str) -> None:
    assert parse_cron(expression).next_after(at(after)) == at(expected)


def test_no_firing_left() -> None:
    assert parse_cron("cron(0 0 1 1 ? 2020)").next_after(at("2026-01-01 00:00")) is None


def test_fires_between() -> None:
    quarterly = parse_cron("cron(0 0 1 */3 ? *)")
    assert quarterly.fires_between(at("2026-12-31 23:59"), at("2027-01-01 00:00")) == at("2027-01-01 00:00")
    assert quarterly.fires_between(at("2027-01-01 00:00"), at("2027-01-01 00:05")) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 1 */3 ? *", "not a Glue cron"),
        ("cron(0 0 1 */3 ?)", "six"),
        ("cron(0 0 1 */3 * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 0 ? */3 ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(61 0 1 * ? *)", "outside 0-59"),
        ("cron(0 0 1 FOO ? *)", "invalid month"),
        ("cron(0 0 ? * 2#9 *)", "n#k"),
    ],
)
def test_invalid_expressions(expression: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        parse_cron(expression)
