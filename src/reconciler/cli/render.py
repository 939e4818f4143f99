"""Everything the tool prints goes through here: rich for people, JSON for machines."""

from __future__ import annotations

import json
import os
from typing import Any

from rich.console import Console
from rich.markup import escape

from reconciler.engine.diff import ADOPT, BLOCKED, CONFLICT, CREATE, DELETE, NOOP, REPLACE, UPDATE, Change
from reconciler.engine.plan import Plan, mask
from reconciler.engine.security import broadening
from reconciler.errors import Problem, ReconcilerError, SpecError
from reconciler.resources import fields_of
from reconciler.resources.base import AttrChange
from reconciler.resources.fields import field_at

SYMBOL = {
    CREATE: ("+", "green"),
    UPDATE: ("~", "yellow"),
    ADOPT: ("~", "cyan"),
    REPLACE: ("-/+", "red"),
    DELETE: ("-", "red"),
    CONFLICT: ("!", "magenta"),
    BLOCKED: ("x", "red"),
    NOOP: (" ", "dim"),
}
VERB = {
    CREATE: "will be created",
    UPDATE: "will be updated in place",
    ADOPT: "will be adopted and updated",
    REPLACE: "must be replaced",
    DELETE: "will be destroyed",
    CONFLICT: "is held by someone else (conflict)",
    BLOCKED: "will NOT be destroyed",
}
MAX_VALUE = 160
MAX_OBJECT_LINES = 20  # per upload, in the human-readable plan


def make_console(no_color: bool = False, stderr: bool = False) -> Console:
    no_color = no_color or bool(os.environ.get("NO_COLOR"))
    return Console(stderr=stderr, no_color=no_color, highlight=False, soft_wrap=True)


def fmt(value: Any) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def is_security_change(change: Change, attr: AttrChange) -> bool:
    """The attribute's field is flagged security in its kind's field table."""
    f = field_at(fields_of(change.kind), attr.keys)
    return f is not None and f.is_security


def _created_lines(change: Change) -> list[str]:
    assert change.desired is not None
    attrs = change.desired.attrs
    if change.kind == "upload":
        objects = attrs["objects"]
        total = sum(o["size"] for o in objects.values())
        lines = [f"{len(objects)} object(s), {total:,} bytes to s3://{attrs['bucket']}/"]
        lines += [f"+ {key} ({meta['size']:,} bytes)" for key, meta in list(objects.items())[:MAX_OBJECT_LINES]]
        if len(objects) > MAX_OBJECT_LINES:
            lines.append(f"… and {len(objects) - MAX_OBJECT_LINES} more")
        return lines
    return [f"+ {key} = {fmt(mask(change.kind, (key,), value))}" for key, value in attrs.items()]


def _upload_summary(change: Change) -> str:
    objects = change.desired.attrs["objects"] if change.desired is not None else {}
    keys = {a.keys[1] for a in change.attrs if a.top == "objects" and len(a.keys) > 1}
    sending = [k for k in keys if k in objects]
    size = sum(objects[k]["size"] for k in sending)
    return f"{len(keys)} object(s) differ: {len(sending)} to send, {size:,} bytes"


def render_plan(console: Console, plan: Plan) -> None:
    security: list[tuple[Change, AttrChange]] = []
    visible = [c for c in plan.changes if c.action != NOOP]
    for change in visible:
        symbol, style = SYMBOL[change.action]
        console.print(f"[{style}]{symbol} {escape(change.address)}[/] {VERB[change.action]}")
        if change.reason and change.action not in {CREATE, UPDATE}:
            console.print(f"    [dim]# {escape(change.reason)}[/]")
        if change.action == CREATE:
            for line in _created_lines(change):
                console.print(f"    [green]{escape(line)}[/]")
        shown = change.attrs if change.kind != "upload" else change.attrs[:MAX_OBJECT_LINES]
        if len(shown) < len(change.attrs):  # a 2,000-file upload is a count, not 2,000 lines
            console.print(f"    [yellow]{_upload_summary(change)}[/]")
        for attr in shown:
            before, after = mask(change.kind, attr.keys, attr.before), mask(change.kind, attr.keys, attr.after)
            console.print(
                f"    [yellow]~ {escape(attr.path)}[/]: {escape(fmt(before))} [bold]->[/] {escape(fmt(after))}"
            )
        if len(shown) < len(change.attrs):
            console.print(f"    [yellow]… and {len(change.attrs) - len(shown)} more (all of them: plan --json)[/]")
        security.extend((change, attr) for attr in change.attrs if is_security_change(change, attr))
        console.print()
    if security:
        console.print("[bold red]Security-relevant changes[/] (IAM, bucket policy, public access, encryption):")
        for change, attr in security:
            console.print(f"    [red]![/] {escape(change.address)} {escape(attr.path)}")
        for reason in broadening(plan.changes):
            console.print(f"    [bold red]widens access:[/] {escape(reason)}")
        console.print()
    for warning in plan.warnings:
        console.print(f"[bold yellow]Warning:[/] {escape(warning)}")
    counts = plan.counts()
    if not plan.has_changes:
        console.print("[green]No changes.[/] Live state matches the spec.")
        return
    line = (
        f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['replace']} to replace, "
        f"{counts['destroy']} to destroy."
    )
    if counts["conflict"]:
        line += f" [magenta]{counts['conflict']} conflict(s)[/]: apply refuses until they are resolved."
    if counts["blocked"]:
        line += f" [red]{counts['blocked']} delete(s) blocked[/] to protect data."
    console.print(f"[bold]{line}[/]")


def print_json(document: dict[str, Any]) -> None:
    """Machine output: plain JSON on stdout, never styled, so pipes and `jq` always work."""
    print(json.dumps(document, indent=2, sort_keys=False))


def render_problems(console: Console, problems: list[Problem]) -> None:
    for p in problems:
        console.print(f"[red]error[/] {escape(str(p))}")
    noun = "problem" if len(problems) == 1 else "problems"
    console.print(f"[red]{len(problems)} {noun}[/]: nothing was changed.")


def render_error(console: Console, err: ReconcilerError) -> None:
    if isinstance(err, SpecError):
        render_problems(console, err.problems)
        return
    console.print(f"[red]Error:[/] {escape(err.message)}")
    if err.hint:
        console.print(f"[dim]hint: {escape(err.hint)}[/]")
