"""Questions to a person: asked on a terminal, refused without one unless the command says not to ask."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from reconciler.cli import apply_render
from reconciler.engine.plan import Plan
from reconciler.engine.security import broadening
from reconciler.errors import ApprovalError
from reconciler.failures import Terminated, interrupt_of
from reconciler.quarterly.types import short_id


def confirm(console: Console, question: str, auto_approve: bool) -> None:
    """Ask on a TTY; refuse without one unless --auto-approve (CI-safe)."""
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise ApprovalError(
            "refusing to change anything without confirmation: no terminal to ask on",
            hint="pass --auto-approve to run unattended",
        )
    console.print(f"[bold]{question}[/] Only 'yes' will be accepted.")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        raise ApprovalError("cancelled: nothing was changed")


def confirm_broadening(console: Console, plan: Plan, auto_approve: bool, approved: bool) -> None:
    """Changes that widen access need their own yes (`cdk deploy --require-approval broadening`)."""
    reasons = broadening(plan.changes)
    if not reasons or approved:
        return
    apply_render.broadening(console, reasons)
    if auto_approve or not sys.stdin.isatty():
        raise ApprovalError(
            "refusing to widen access without explicit approval; nothing was changed",
            hint="review the lines above, then pass --approve-broadening (or answer on a terminal)",
        )
    confirm(console, "Do you want to widen access like this?", auto_approve=False)


def stop_job_question(job: str, run_id: str) -> bool:
    """Ctrl-C during the job, on a terminal: stop the job run? A second Ctrl-C leaves it running."""
    try:
        return click.confirm(f"\nInterrupted. Stop job {job} run {short_id(run_id)}? (no: it goes on running)",
                             default=True)  # fmt: skip
    except (click.Abort, KeyboardInterrupt, EOFError) as again:  # a second Ctrl-C: leave it running, say so
        click.echo()
        return isinstance(interrupt_of(again), Terminated)  # SIGTERM while asking: stop it, as unasked
