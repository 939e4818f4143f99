"""Glue cron on the local endpoint: the scheduler's firing times and CreateTrigger's refusals follow the same
table as spec validation (tests/cron_cases.py), because both use reconciler.spec.cron."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.spec.cron import CronError, parse_cron
from tests.cron_cases import CASES, CronCase


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("case", [c for c in CASES if c.valid], ids=str)
def test_next_firing(case: CronCase) -> None:
    schedule = parse_cron(case.expression)
    for after, expected in case.fires:
        assert schedule.next_after(at(after)) == (at(expected) if expected else None), after


@pytest.mark.parametrize("case", [c for c in CASES if not c.valid], ids=str)
def test_invalid_expressions_are_refused_with_the_validation_message(case: CronCase) -> None:
    assert case.problem is not None
    with pytest.raises(CronError) as error:
        parse_cron(case.expression)
    assert any(case.problem in p for p in error.value.problems), error.value.problems


def test_fires_between() -> None:
    quarterly = parse_cron("cron(0 0 1 */3 ? *)")
    assert quarterly.fires_between(at("2026-12-31 23:59"), at("2027-01-01 00:00")) == at("2027-01-01 00:00")
    assert quarterly.fires_between(at("2027-01-01 00:00"), at("2027-01-01 00:05")) is None


def test_the_endpoint_accepts_and_refuses_each_schedule_as_validation_does(aws: Any) -> None:
    glue = aws.client("glue")
    for number, case in enumerate(CASES):
        name = f"t{number}"
        try:
            glue.create_trigger(Name=name, Type="SCHEDULED", Schedule=case.expression, Actions=[{"JobName": "j"}])
        except ClientError as error:
            assert not case.valid, f"{case}: {error}"
            assert error.response["Error"]["Code"] == "InvalidInputException"
            assert case.problem is not None and case.problem in error.response["Error"]["Message"], case
        else:
            assert case.valid, f"{case} was accepted"
            assert glue.get_trigger(Name=name)["Trigger"]["Schedule"] == case.expression
