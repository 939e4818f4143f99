"""The CLI's one error boundary: every way a command can end becomes one exit code from `reconciler.errors`.

- `ReconcilerError`: one `Error: <message>` line (a spec's problems one per line) and its `hint:`, exit
  `err.exit_code`.
- click's usage errors (unknown option, missing argument, bad value): click's usage text, exit 64
  (`EXIT_USAGE`), never 2, which means "changes" under `plan --detailed-exitcode`.
- Ctrl-C (SIGINT) exits 130; SIGTERM is turned into the same interrupt, so every cleanup that runs on
  Ctrl-C (lock release, stopping a job run) runs on SIGTERM too, and exits 143.
- Anything else is a bug: one `internal error:` line pointing at `--debug`, exit 1.

`--debug` (or `RECONCILER_DEBUG=1`) adds the traceback, for our errors too.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

from reconciler.cli.render import make_console, render_error
from reconciler.errors import EXIT_OK, EXIT_TERMINATED, ReconcilerError
from reconciler.failures import (
    BROKEN_PIPE,
    INTERRUPT,
    NO_ANSWER,
    Terminated,
    classify,
    interrupt_exit_code,
    interrupt_of,
)

__all__ = ["DEBUG_ENV", "ReconcilerGroup", "Terminated", "interrupt_exit_code", "interrupt_of", "run_guarded"]

DEBUG_ENV = "RECONCILER_DEBUG"


#: A SIGTERM that lands in a finalizer (a weakref callback or `__del__`, run by the garbage collector in the
#: middle of any line) must not be raised there: Python prints "Exception ignored in ..." and drops it, and
#: the command would go on as if never signalled. It is sent again this long after, outside the finalizer.
REDELIVER_SECONDS = 0.05


def _in_finalizer(frame: FrameType | None) -> bool:
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or code.co_filename.endswith(("weakref.py", "_weakrefset.py")):
            return True
        frame = frame.f_back
    return False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _in_finalizer(frame):
        timer = threading.Timer(REDELIVER_SECONDS, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()
        return
    raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM raises `Terminated` (only the main thread may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _options_part(args: Sequence[str]) -> list[str]:
    words = list(args)
    return words[: words.index("--")] if "--" in words else words


def debug_requested(args: Sequence[str]) -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes"} or "--debug" in _options_part(args)


def single_dash_long_option(exc: click.UsageError, args: Sequence[str]) -> str | None:
    """The `-auto-approve` (a long option with one dash) behind click's "No such option '-a'", when `--` plus
    its name is an option of the command that failed."""
    if not isinstance(exc, click.NoSuchOption) or exc.ctx is None:
        return None
    known = {name for param in exc.ctx.command.params for name in getattr(param, "opts", [])}
    for word in _options_part(args):
        name = word.split("=", 1)[0]
        if name.startswith("-") and not name.startswith("--") and len(name) > 2 and f"-{name}" in known:
            return name
    return None


def run_guarded(invoke: Callable[[], Any], args: Sequence[str]) -> int:
    """Run `invoke` (click's main in non-standalone mode) and return the process's exit code."""
    debug = debug_requested(args)
    err = make_console("--no-color" in _options_part(args), stderr=True)

    def traceback_if_debug() -> None:
        if debug:
            traceback.print_exc(file=sys.stderr)

    try:
        with sigterm_as_interrupt():
            result = invoke()
    except SystemExit:
        raise
    except BaseException as exc:
        failure = classify(exc)
        if isinstance(exc, ReconcilerError):
            traceback_if_debug()
            render_error(err, exc)
        elif isinstance(exc, click.UsageError):
            single = single_dash_long_option(exc, args)
            if single is not None:  # Terraform's spelling, -auto-approve: click read it as -a -u -t ...
                exc = click.UsageError(
                    f"No such option: {single}. Did you mean -{single}? (Terraform spells it with one dash.)", exc.ctx
                )
            exc.show()
        elif isinstance(exc, click.ClickException):
            exc.show()
        elif failure.category == NO_ANSWER:
            err.print("Aborted: no answer; nothing was changed.")
        elif failure.category == INTERRUPT:
            traceback_if_debug()
            err.print("Terminated." if failure.exit_code == EXIT_TERMINATED else "Interrupted.")
        elif failure.category != BROKEN_PIPE and not isinstance(exc, click.exceptions.Exit):
            if not isinstance(exc, Exception):
                raise
            _internal(err, exc, debug)
        return failure.exit_code
    return int(result) if isinstance(result, int) and not isinstance(result, bool) else EXIT_OK


def _internal(err: Any, exc: Exception, debug: bool) -> None:
    if debug:
        traceback.print_exc(file=sys.stderr)
    message = " ".join(str(exc).split()) or "(no message)"
    tail = "" if debug else " (run again with --debug for the traceback)"
    err.print(f"internal error: {type(exc).__name__}: {message}{tail}", markup=False)


#: the commands of a quarter's work first, in the order people use them; the rest follow by name
MAIN_COMMANDS = ("validate", "plan", "apply", "run", "history", "show", "outputs", "promote", "unpublish", "destroy")


class ReconcilerGroup(click.Group):
    """The top-level group: its `main` (the console script's, and CliRunner's) goes through run_guarded.
    Its help lists the main commands first, each with its whole first sentence (click cuts it at ~45
    characters with "...")."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = super().list_commands(ctx)
        return [n for n in MAIN_COMMANDS if n in names] + [n for n in names if n not in MAIN_COMMANDS]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(  # one signature for click's two overloads; always exits in standalone mode, like click's
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        sys.exit(run_guarded(lambda: super(ReconcilerGroup, self).main(
            argv, prog_name, complete_var, standalone_mode=False, **extra), argv))  # fmt: skip
