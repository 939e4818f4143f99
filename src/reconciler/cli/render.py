"""Everything the tool prints goes through here: rich for people, JSON for machines."""

from __future__ import annotations

import json
import os
from typing import Any

from rich.console import Console
from rich.markup import escape

from reconciler.cli.masked import MaskingConsole
from reconciler.cli.plan_render import render_plan
from reconciler.errors import Problem, ReconcilerError, SpecError
from reconciler.masking import mask_value

__all__ = ["make_console", "print_json", "render_error", "render_plan", "render_problems"]


def make_console(no_color: bool = False, stderr: bool = False) -> Console:
    """`--no-color` or NO_COLOR (https://no-color.org): plain text, no escape sequence at all. rich's
    `no_color` alone keeps bold, so the colour system is off altogether; and the console is not treated as a
    terminal, so spinners and progress bars (which redraw with cursor escapes) print lines instead, as piped."""
    no_color = no_color or bool(os.environ.get("NO_COLOR"))
    if no_color:  # MaskingConsole: secret-looking values never reach a person (reconciler/masking.py)
        return MaskingConsole(
            stderr=stderr, color_system=None, force_terminal=False, highlight=False, soft_wrap=True
        )
    return MaskingConsole(stderr=stderr, highlight=False, soft_wrap=True)


def print_json(document: dict[str, Any]) -> None:
    """Machine output: plain JSON on stdout, never styled, so pipes and `jq` always work; secret-looking
    values masked (reconciler/masking.py)."""
    print(json.dumps(mask_value(document), indent=2, sort_keys=False))


def render_problems(console: Console, problems: list[Problem]) -> None:
    """One `file:line:col: path: message` line per problem (the quickfix format editors parse: vim's
    errorformat, VS Code's problem matchers), then how many there were."""
    for p in problems:
        console.print(escape(str(p)))
    noun = "problem" if len(problems) == 1 else "problems"
    where = f" in {problems[0].file}" if problems and len({p.file for p in problems}) == 1 else ""
    console.print(f"[red]{len(problems)} {noun}[/]{escape(where)}: the spec is not valid.")


def render_error(console: Console, err: ReconcilerError) -> None:
    if isinstance(err, SpecError):
        render_problems(console, err.problems)
        return
    console.print(f"[red]Error:[/] {escape(err.message)}")
    if err.hint:
        console.print(f"[dim]hint: {escape(err.hint)}[/]")
