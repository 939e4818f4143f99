"""`lock status|break`: who holds the pipeline lock, and removing a named one."""

from __future__ import annotations

import click

from reconciler.aws import lock as pipeline_lock
from reconciler.cli import messages
from reconciler.cli.app import Globals, pass_globals


@click.group("lock")
def lock_group() -> None:
    """Inspect or break the pipeline lock."""


@lock_group.command("status")
@pass_globals
def lock_status(g: Globals) -> None:
    """Show who holds the lock (exit 0 either way)."""
    pipeline = g.load()
    messages.lock_status(g.console, pipeline_lock.observe_lock(g.context(pipeline), pipeline.bucket.name))


@lock_group.command("break")
@click.argument("lock_id")
@click.option("--force", is_flag=True, help="Also break a lock whose holder is alive on this host.")
@pass_globals
def lock_break(g: Globals, lock_id: str, force: bool) -> None:
    """Remove the lock LOCK_ID (only that one: naming it proves you looked)."""
    pipeline = g.load()
    broken = pipeline_lock.break_lock(g.context(pipeline), pipeline.bucket.name, lock_id, force=force)
    messages.lock_broken(g.console, broken)


COMMANDS = (lock_group,)
