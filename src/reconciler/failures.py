"""One classification of every way a command or a run can end: its exit code, kind and message.

The CLI's error boundary (`reconciler.cli.boundary`) prints by it, and `run --json`'s `run_failed` event
carries it, so the two never disagree about an exit code.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

import click

from reconciler.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    ReconcilerError,
    RunInterrupted,
    RunTimedOut,
)


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an interrupt so that it unwinds exactly like Ctrl-C."""


def interrupt_of(exc: BaseException) -> KeyboardInterrupt | None:
    """The interrupt this exception is, or was raised while handling (click's Abort wraps Ctrl-C; the run
    turns Ctrl-C during a job wait into a RunError saying whether the job was stopped)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def interrupt_exit_code(interrupt: KeyboardInterrupt) -> int:
    return EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED


def outcome(exc: BaseException) -> str:
    """How a step ended that did not succeed: `interrupted` (what it waited for goes on), `stopped` (the job run
    was stopped on an interrupt), `timed_out` (--timeout; the run stopped what it waited for) or `failed`."""
    if isinstance(exc, RunInterrupted):
        return "stopped" if exc.stopped else "interrupted"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, RunTimedOut):
        return "timed_out"
    return "failed"


#: Failure.category values, one per way the boundary reports an ending
ERROR, EXIT, USAGE, CLICK, INTERRUPT, NO_ANSWER, BROKEN_PIPE, INTERNAL = (
    "error", "exit", "usage", "click", "interrupt", "no_answer", "broken_pipe", "internal",
)  # fmt: skip


@dataclass(frozen=True)
class Failure:
    """How an exception ends the command: its exit code, the exception's kind (class name), the one-line
    message and hint a machine reader gets, and for our own errors the step outcome (`outcome`)."""

    category: str
    exit_code: int
    kind: str
    message: str
    hint: str | None = None
    outcome: str | None = None
    interrupt: KeyboardInterrupt | None = None


def classify(exc: BaseException) -> Failure:
    """The one mapping from an exception to its exit code (reconciler.errors' table) and its kind. Our errors
    raised while handling an interrupt take the interrupt's code (130 or 143); any other exception is a bug."""
    interrupt = interrupt_of(exc)
    code = interrupt_exit_code(interrupt) if interrupt is not None else None
    kind = type(exc).__name__
    if isinstance(exc, ReconcilerError):
        return Failure(ERROR, code or exc.exit_code, kind, exc.message, exc.hint, outcome(exc), interrupt)
    if isinstance(exc, click.exceptions.Exit):
        return Failure(EXIT, int(exc.exit_code), kind, "")
    if isinstance(exc, click.UsageError):  # BadParameter, NoSuchOption, MissingParameter, ...
        return Failure(USAGE, EXIT_USAGE, kind, exc.format_message())
    if isinstance(exc, click.ClickException):
        return Failure(CLICK, exc.exit_code, kind, exc.format_message())
    if isinstance(exc, KeyboardInterrupt | click.Abort) and interrupt is not None:  # Abort wraps Ctrl-C
        signal_name = "SIGTERM" if code == EXIT_TERMINATED else "SIGINT"
        return Failure(INTERRUPT, code or EXIT_INTERRUPTED, type(interrupt).__name__, f"interrupted ({signal_name})",
                       interrupt=interrupt)  # fmt: skip
    internal = f"internal error: {kind}: {exc}"
    hint = "run again with --debug for the traceback"
    if isinstance(exc, click.Abort):  # click.prompt met the end of its input
        return Failure(NO_ANSWER, EXIT_ERROR, kind, internal, hint)
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:  # `reconcile plan --json | head`: the reader left
        return Failure(BROKEN_PIPE, EXIT_ERROR, kind, internal, hint)
    return Failure(INTERNAL, EXIT_ERROR, kind, internal, hint)
