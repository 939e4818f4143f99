"""How this process was invoked, so that every command a hint suggests works when pasted.

The CLI records the global options in force (`-f`, `--local` / `--endpoint-url`, `--region`, `--profile`)
once it has parsed them; `command("lock", "break", lock_id)` then renders
`reconcile -f other.yaml --local lock break 3f2a...`. Library code (the lock, the engine, the quarterly
run) builds its hints with `command()` and never imports the CLI. Without a CLI (the library used on its
own) there are no global options and the command is just `reconcile ...`.
"""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

PROGRAM = "reconcile"

_lock = threading.Lock()
_global_args: tuple[str, ...] = ()
_program = PROGRAM


def program_as_invoked(argv0: str, on_path: str | None, cwd: Path) -> str:
    """How to call this program again from `cwd`: `reconcile` when that name on PATH (`on_path`) is this
    program, else the path it was started by (`.venv/bin/reconcile` from the project directory): a virtualenv
    that was not activated puts nothing on PATH, and a hint naming a command that is not found helps nobody.
    Not started as `reconcile` (python -m reconciler, a test): `reconcile`."""
    started = Path(argv0)
    if started.name != PROGRAM or not started.exists():
        return PROGRAM
    if on_path is not None and Path(on_path).resolve() == started.resolve():
        return PROGRAM
    absolute = started if started.is_absolute() else cwd / started
    try:
        relative = absolute.relative_to(cwd)
    except ValueError:
        return str(absolute)
    return str(relative) if "/" in str(relative) else f"./{relative}"


def set_program(argv0: str) -> None:
    """Record how this process was started (program_as_invoked), for every suggested command."""
    global _program
    found = program_as_invoked(argv0, shutil.which(PROGRAM), Path.cwd())
    with _lock:
        _program = found


def program() -> str:
    with _lock:
        return _program


def set_global_args(args: Sequence[str]) -> None:
    """The global options to repeat in suggested commands, already as command-line words."""
    global _global_args
    with _lock:
        _global_args = tuple(args)


def global_args() -> tuple[str, ...]:
    with _lock:
        return _global_args


def command(*words: str) -> str:
    """A complete, shell-quoted command line: `reconcile <global options in force> <words>`."""
    return shlex.join([program(), *global_args(), *words])


def local_command(*words: str) -> str:
    """command("local", *words) without `--local`: the local endpoint's own commands find it from `-f`."""
    return shlex.join([program(), *(a for a in global_args() if a != "--local"), "local", *words])


def as_called_from_here(path: Path) -> str:
    """`path` as a command word from the working directory: relative below it (`.venv/bin/python`)."""
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return shlex.quote(str(path))
    return shlex.quote(str(relative) if "/" in str(relative) else f"./{relative}")


def generator_command(out: Path, quarter: str | None = None) -> str | None:
    """The command that writes the example's raw car-brand data (one quarter) into `out`, with this
    interpreter; None when the generator (the `local` extra) is not installed."""
    if importlib.util.find_spec("reconciler_local") is None:
        return None
    python = as_called_from_here(Path(sys.executable))
    words = [python, "-m", "reconciler_local.datagen", "--out", as_called_from_here(out)]
    return " ".join(words + (["--quarter", quarter] if quarter else []))
