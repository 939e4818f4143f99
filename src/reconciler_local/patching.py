"""Grafting our additions onto moto's classes, once, at start-up (the way LocalStack extends moto).

An addition is written as a *subclass* of the moto class it extends, so mypy checks it against moto's
attributes; `graft` then copies the functions that subclass defines onto the moto class itself. moto
creates its own instances (a backend per account and region, a response object per request), so
patching the classes is the only way our code runs inside them. When a grafted function replaces one
of moto's, the replaced function stays reachable through `original` so the addition can wrap it.
"""

from __future__ import annotations

import functools
from types import FunctionType
from typing import Any

from reconciler_local.faults import fault_point

_ORIGINALS: dict[tuple[type, str], Any] = {}


def graft(target: type, additions: type) -> None:
    """Copy every function and property `additions` defines onto `target` (idempotent)."""
    for name, value in vars(additions).items():
        if name.startswith("__") or not isinstance(value, FunctionType | property | staticmethod):
            continue
        key = (target, name)
        if key not in _ORIGINALS:
            _ORIGINALS[key] = vars(target).get(name)
        setattr(target, name, _fault_point_first(value) if isinstance(value, FunctionType) else value)


def _fault_point_first(function: FunctionType) -> Any:
    """`function`, entered through faults.fault_point: the fault mode's `raise` kind makes a grafted function
    raise as a defect of ours would (off, it costs one thread-local lookup)."""

    @functools.wraps(function)
    def grafted(*args: Any, **kwargs: Any) -> Any:
        fault_point(function.__qualname__)
        return function(*args, **kwargs)

    return grafted


def replaced(target: type, name: str) -> tuple[bool, Any]:
    """(True, what `target` itself defined as `name` before a graft replaced it: None if nothing) when a graft
    set `name` on `target`; (False, None) otherwise."""
    key = (target, name)
    return (True, _ORIGINALS[key]) if key in _ORIGINALS else (False, None)


def original(target: type, name: str) -> Any:
    """moto's own implementation of `name` on `target`, as it was before `graft` replaced it."""
    found = _ORIGINALS.get((target, name))
    if found is None:
        raise AttributeError(f"{target.__name__}.{name} was not replaced by a graft")
    return found
