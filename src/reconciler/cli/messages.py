"""The short messages of the commands (validate, publication, the local endpoint, the lock, permissions,
import): every line a command prints for people, so that commands only call the library and these."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from reconciler.invocation import command, local_command
from reconciler.masking import mask_text
from reconciler.spec.model import Pipeline


def warning(console: Console, message: str) -> None:
    """A warning on stderr: something went wrong that does not fail the command."""
    console.print(f"[bold yellow]Warning:[/] {escape(message)}")


def spec_warnings(console: Console, warnings: Iterable[object]) -> None:
    for item in warnings:
        console.print(f"[yellow]{escape(str(item))}[/]")


def local_started(console: Console, state: Any, state_dir: Path) -> None:
    console.print(escape(
        f"Started the local AWS endpoint at {state.url} (pid {state.pid}, state in {state_dir}/); "
        f"stop it with: {local_command('down')}"))  # fmt: skip


def lines(texts: Iterable[str]) -> None:
    """Lines that are pasted from (ids, URIs): never wrapped or cut, masked, on stdout."""
    for text in texts:
        click.echo(mask_text(text))


def notes(console: Console, texts: Iterable[str], *, style: str | None = None) -> None:
    for note in texts:
        console.print(f"Note: {note}", markup=False, style=style)


def valid(console: Console, spec_file: Path, pipeline: Pipeline, unused: Iterable[str]) -> None:
    console.print(f"[green]Valid:[/] {spec_file} (pipeline {pipeline.name!r}, apiVersion reconciler/v1)")
    notes(console, unused)
    if pipeline.schedule is not None and pipeline.schedule.in_aws:
        console.print(
            f"Note: spec.schedule.in_aws is true: Glue workflow {pipeline.schedule.workflow!r} is the one scheduler; "
            "`reconcile run` without --quarter (the cron line, the GitHub workflow) refuses to run, so do not "
            "schedule it too (docs/scheduling.md)."
        )


# --- promote and unpublish ----------------------------------------------------------------------------------


def promote_preview(console: Console, label: str | None, current: dict[str, Any] | None, run_id: str,
                    report: dict[str, Any]) -> None:  # fmt: skip
    console.print(f"Published now for {label or '?'}: {current['run_id'] if current else '(nothing)'}")
    console.print(f"To publish:    {run_id} (rows read {report.get('rows_read')}, valid {report.get('rows_valid')})")


def gate_failures(console: Console, failures: Iterable[str]) -> None:
    console.print("[yellow]This run failed its quality gate:[/]")
    for failure in failures:
        console.print(f"  - {failure}", markup=False)


def promoted(console: Console, new: dict[str, Any]) -> None:
    console.print(f"Published {new['run_id']} for {new['quarter']} (was {new['previous_run_id'] or 'nothing'}).")


def published_now(console: Console, quarter: str, run_id: str) -> None:
    console.print(f"Published now for {quarter}: {run_id}")


def unpublished(console: Console, quarter: str, gone: dict[str, Any]) -> None:
    console.print(f"Unpublished {quarter} (was {gone['run_id']}); its data stays: "
                  f"{command('promote', str(gone['run_id']))} publishes it again.")  # fmt: skip


# --- the local endpoint and the lock ------------------------------------------------------------------------


def local_up(console: Console, state: Any, started: bool, state_dir: Path) -> None:
    where = "running" if started else "already running"
    console.print(f"Local AWS endpoint {where} at {state.url} (pid {state.pid}), state in {escape(str(state_dir))}/")
    console.print(f"Use it with: reconcile --local ...  or  export AWS_ENDPOINT_URL={state.url}")


def local_down(console: Console, stopped: bool) -> None:
    console.print("Stopped the local AWS endpoint." if stopped else "The local AWS endpoint was not running.")


def local_status(console: Console, state: Any) -> None:
    if state is None:
        console.print("The local AWS endpoint is not running.")
    else:
        console.print(f"Running at {state.url} (pid {state.pid}, since {state.started_at})")


def lock_status(console: Console, seen: Any) -> None:
    if seen is None:
        console.print("Not locked.")
        return
    stale = " (stale: its process is gone)" if seen.info.is_stale else ""
    console.print(f"Locked: {seen.info.describe()}{stale}; {seen.lease_text()}", markup=False)
    if seen.takeover_reason is not None:
        console.print(f"The next apply or run takes it over: {seen.takeover_reason}.", markup=False)


def lock_broken(console: Console, broken: Any) -> None:
    console.print(f"Removed {broken.describe()}")


def lock_wait(console: Console, holder: Any) -> None:
    console.print(f"Waiting for the lock: {holder.describe()}")


# --- permissions and import ---------------------------------------------------------------------------------


def statements(console: Console, found: Iterable[Any]) -> None:
    for statement in found:
        console.print(f"[bold]{statement.sid}[/]: {statement.why}", highlight=False)


def policy(document: dict[str, Any]) -> None:
    """The policy document after its statements' reasons, as `permissions` prints it (not masked: it holds ARNs)."""
    click.echo(json.dumps(document, indent=2))


def wrote(console: Console, written: Iterable[object], next_command: str) -> None:
    console.print(f"Wrote {', '.join(map(str, written))}. Next: {next_command}", markup=False)
