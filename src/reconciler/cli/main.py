"""`reconcile`, the console script (docs/cli.md): the group (cli/app.py) with every command (cli/commands/)
registered. Its main is the error boundary (cli/boundary.py)."""

from __future__ import annotations

import sys

from reconciler.cli.app import cli
from reconciler.cli.commands import register
from reconciler.invocation import set_program

register(cli)

__all__ = ["cli", "main"]


def main() -> None:
    """The console script: the group's main is the error boundary (reconciler.cli.boundary)."""
    set_program(sys.argv[0])  # hints then name a command that works from here (.venv/bin/reconcile)
    cli.main(prog_name="reconcile")
