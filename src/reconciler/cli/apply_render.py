"""What plan, apply and destroy print besides the plan itself: the progress of each change, upload bars,
the summary line, the targeting warning and access that a plan widens."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.status import Status

from reconciler.aws.context import AwsContext
from reconciler.engine.diff import Change
from reconciler.invocation import command


class ApplyResult(Protocol):
    """What the summary line counts of engine.apply's result (a renderer imports no module that does work)."""

    @property
    def done(self) -> list[Change]: ...
    @property
    def failed(self) -> list[Any]: ...
    @property
    def blocked(self) -> list[Any]: ...
    @property
    def ok(self) -> bool: ...


class ApplyReporter:
    """Progress of an apply: one line per change, and byte progress bars for uploads."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started: dict[str, float] = {}
        self.progress: Progress | None = None
        self.tasks: dict[str, Any] = {}
        self.lock = threading.Lock()

    def attach(self, ctx: AwsContext) -> ApplyReporter:
        ctx.on_upload_bytes = self.upload_bytes
        return self

    def __call__(self, change: Change, phase: str, error: BaseException | None) -> None:
        if phase == "start":
            self.started[change.address] = time.monotonic()
            if change.kind == "upload" and change.desired is not None:
                self._start_bar(change)
            return
        took = time.monotonic() - self.started.get(change.address, time.monotonic())
        if change.kind == "upload":
            self._stop_bar(change.name)
        if phase == "done":
            self.console.print(f"[green]✓[/] {change.address}: {change.action} done ({took:.1f}s)")
        else:
            self.console.print(f"[red]✗[/] {change.address}: {change.action} failed: {error}")

    def _start_bar(self, change: Change) -> None:
        assert change.desired is not None
        objects = change.desired.attrs["objects"]
        keys = {a.keys[1] for a in change.attrs if len(a.keys) > 1} if change.attrs else set(objects)
        total = sum(objects[k]["size"] for k in keys if k in objects)
        with self.lock:
            if self.progress is None:
                self.progress = Progress(
                    TextColumn("  uploading {task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), console=self.console, transient=True,
                )  # fmt: skip
                self.progress.start()
            self.tasks[change.name] = self.progress.add_task(change.name, total=total)

    def upload_bytes(self, name: str, n: int) -> None:
        with self.lock:
            if self.progress is not None and name in self.tasks:
                self.progress.advance(self.tasks[name], n)

    def _stop_bar(self, name: str) -> None:
        with self.lock:
            if self.progress is None:
                return
            task = self.tasks.pop(name, None)
            if task is not None:
                self.progress.remove_task(task)
            if not self.tasks:
                self.progress.stop()
                self.progress = None


def summary_line(result: ApplyResult, verb: str, *, overtaken: bool = False) -> str:
    """Terraform's words: `Apply complete! Resources: 1 added, 2 changed, 0 destroyed.` (a replacement
    counts as one added and one destroyed). `overtaken`: the plan shown had changes, and another apply
    made them while this one waited for the lock."""
    added = sum(1 for c in result.done if c.action in ("create", "replace"))
    changed = sum(1 for c in result.done if c.action in ("update", "adopt"))
    destroyed = sum(1 for c in result.done if c.action in ("delete", "replace"))
    destroyed += sum(len(c.deleted_objects) for c in result.done)  # objects an upload pruned
    counted = f"{added} added, {changed} changed, {destroyed} destroyed"
    if result.ok:
        resources = f"{destroyed} destroyed" if verb == "Destroy" else counted
        line = f"{verb} complete! Resources: {resources}."
        if overtaken:
            line += " Another apply made the planned changes while this one waited for the lock."
        return line
    return f"{verb} incomplete: {counted}, {len(result.failed)} failed, {len(result.blocked)} refused."


def reading(console: Console) -> Status:
    """The spinner while the live state is read (on a terminal only: see render.make_console)."""
    return console.status("Reading live state…", spinner="dots")


def summary(console: Console, result: ApplyResult, verb: str, *, overtaken: bool = False) -> None:
    console.print(f"[bold]{summary_line(result, verb, overtaken=overtaken)}[/]")


def target(console: Console, line: str) -> None:
    """Where the plan was read (plan_header.target_line), dim, above it."""
    console.print(line, markup=False, style="dim")


def targeting(console: Console, targets: tuple[str, ...]) -> None:
    if targets:
        console.print(
            "[yellow]Resource targeting is in effect:[/] only "
            + ", ".join(targets)
            + " and what they depend on are planned; the rest of the pipeline may still differ from the spec."
        )


def saved(console: Console, out: Path) -> None:
    console.print(f"Saved the plan to {out}; apply it with: {command('apply', str(out))}", markup=False)


def estimate(console: Console, lines: list[str]) -> None:
    for line in lines:
        console.print(line, markup=False)


def broadening(console: Console, reasons: list[str]) -> None:
    console.print("[bold red]This plan widens access:[/]")
    for reason in reasons:
        console.print(f"  [red]![/] {reason}")


def destructive(console: Console, lines: list[str]) -> None:
    console.print("[bold red]This run would destroy:[/]")
    for line in lines:
        console.print(f"  - {line}", markup=False)


def running_work(console: Console, verb: str, found: Any) -> None:
    """`Stopped first (--stop-running): ...` / `Stopping ...`: a job run or crawl destroy stops first."""
    console.print(f"{verb} {found.describe()}", markup=False)


def converged(console: Console) -> None:
    console.print("Converged the QuickSight manifest with the publish pointer.")
