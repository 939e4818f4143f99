"""One module per command group (pip's `commands/` layout); `register` adds them all to the group."""

from __future__ import annotations

import click

from reconciler.cli.commands import change, local, lock, publication, quarterly, runs, setup


def register(group: click.Group) -> None:
    for module in (setup, change, quarterly, publication, runs, local, lock):
        for command in module.COMMANDS:
            group.add_command(command)
