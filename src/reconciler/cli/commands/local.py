"""`local up|down|status`: the embedded local AWS endpoint of the spec's directory."""

from __future__ import annotations

import sys

import click

from reconciler.cli import messages
from reconciler.cli.app import Globals, local_lifecycle, pass_globals
from reconciler.errors import EXIT_ERROR
from reconciler.invocation import command


@click.group()
def local() -> None:
    """The embedded local AWS endpoint (moto plus our Glue runtime)."""


@local.command("up")
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: a free one).")
@pass_globals
def local_up(g: Globals, port: int | None) -> None:
    """Start the endpoint in the background (its state is kept in the spec's .reconciler/ across restarts)."""
    lifecycle = local_lifecycle()
    try:
        state, started = lifecycle.start(g.local_state_dir(), port)
    except lifecycle.AlreadyRunningError as error:
        raise lifecycle.AlreadyRunningError(
            error.state, hint=f"run `{command('local', 'down')}` first to change the port") from None
    messages.local_up(g.console, state, started, g.local_state_dir())


@local.command("down")
@pass_globals
def local_down(g: Globals) -> None:
    """Stop the endpoint."""
    messages.local_down(g.console, local_lifecycle().down(g.local_state_dir()))


@local.command("status")
@pass_globals
def local_status(g: Globals) -> None:
    """Show whether the endpoint runs (exit 1 if not)."""
    state = local_lifecycle().status(g.local_state_dir())
    messages.local_status(g.console, state)
    if state is None:
        sys.exit(EXIT_ERROR)


COMMANDS = (local,)
