"""How this process was invoked, so that every command a hint suggests works when pasted.

The CLI records the global options in force (`-f`, `--local` / `--endpoint-url`, `--region`, `--profile`)
once it has parsed them; `command("lock", "break", lock_id)` then renders
`reconcile -f other.yaml --local lock break 3f2a...`. Library code (the lock, the engine, the quarterly
run) builds its hints with `command()` and never imports the CLI. Without a CLI (the library used on its
own) there are no global options and the command is just `reconcile ...`.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Sequence

PROGRAM = "reconcile"

_lock = threading.Lock()
_global_args: tuple[str, ...] = ()


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
    return shlex.join([PROGRAM, *global_args(), *words])
