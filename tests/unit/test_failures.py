"""One classification of endings: the exit code `run --json` announces in `run_failed` is the one the error
boundary then exits with, for our errors, click's, interrupts and bugs alike."""

from __future__ import annotations

from typing import NoReturn

import click
import pytest

from reconciler.cli.boundary import run_guarded
from reconciler.cli.commands.quarterly import run_failure
from reconciler.errors import (
    EXIT_ERROR,
    EXIT_GATE,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    GateError,
    LockError,
    RunInterrupted,
    RunTimedOut,
)
from reconciler.failures import Terminated, classify


def raised_while_handling(outer: BaseException, inner: BaseException) -> BaseException:
    """`outer` with `inner` as its context, as `raise outer` inside `except` gives it."""
    try:
        try:
            raise inner
        except BaseException:
            raise outer  # noqa: B904 - the implicit context is the point
    except BaseException as caught:
        return caught


def cases() -> list[tuple[str, BaseException, int]]:
    return [
        ("gate", GateError("run r failed the quality gate"), EXIT_GATE),
        ("lock", LockError("held by someone"), EXIT_LOCKED),
        ("usage", click.UsageError("No such option: --nope"), EXIT_USAGE),
        ("click", click.ClickException("bad"), 1),
        ("ctrl-c", KeyboardInterrupt(), EXIT_INTERRUPTED),
        ("sigterm", Terminated(), EXIT_TERMINATED),
        ("abort around sigterm", raised_while_handling(click.Abort(), Terminated()), EXIT_TERMINATED),
        ("ours during sigterm", raised_while_handling(RunInterrupted("stopped", stopped=True), Terminated()),
         EXIT_TERMINATED),
        ("bug during ctrl-c", raised_while_handling(RuntimeError("cleanup failed"), KeyboardInterrupt()), EXIT_ERROR),
        ("no answer", click.Abort(), EXIT_ERROR),
        ("bug", KeyError("x"), EXIT_ERROR),
    ]


@pytest.mark.parametrize(("name", "error", "code"), cases(), ids=[c[0] for c in cases()])
def test_the_run_failed_event_announces_the_exit_code_the_boundary_gives(
    name: str, error: BaseException, code: int
) -> None:
    def fail() -> NoReturn:
        raise error

    assert run_guarded(fail, []) == code
    assert run_failure(error)["exit_code"] == code
    assert classify(error).exit_code == code


def test_kinds_and_outcomes() -> None:
    assert run_failure(RunTimedOut("timed out after 5s"))["outcome"] == "timed_out"
    stopped = run_failure(raised_while_handling(RunInterrupted("interrupted: stopped", stopped=True), Terminated()))
    assert (stopped["kind"], stopped["outcome"]) == ("RunInterrupted", "stopped")
    signal = run_failure(Terminated())
    assert (signal["kind"], signal["error"], signal["hint"]) == ("Terminated", "interrupted (SIGTERM)", None)
    assert "outcome" not in signal
    bug = run_failure(KeyError("x"))
    assert bug["error"] == "internal error: KeyError: 'x'" and "--debug" in bug["hint"]
