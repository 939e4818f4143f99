"""Suggested commands name the program as it can be called again: `reconcile` only when that is on PATH."""

from __future__ import annotations

from pathlib import Path

from reconciler.invocation import program_as_invoked


def script(root: Path) -> Path:
    path = root / ".venv" / "bin" / "reconcile"
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n")
    return path


def test_an_unactivated_virtualenv_is_named_by_its_path(tmp_path: Path) -> None:
    started = script(tmp_path)
    assert program_as_invoked(str(started), None, tmp_path) == ".venv/bin/reconcile"
    assert program_as_invoked(".venv/bin/reconcile", None, tmp_path) == ".venv/bin/reconcile"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert program_as_invoked(str(started), None, elsewhere) == str(started)


def test_reconcile_on_path_is_named_reconcile(tmp_path: Path) -> None:
    started = script(tmp_path)
    assert program_as_invoked(str(started), str(started), tmp_path) == "reconcile"
    other = tmp_path / "other" / "reconcile"
    other.parent.mkdir()
    other.write_text("")
    assert program_as_invoked(str(started), str(other), tmp_path) == ".venv/bin/reconcile"  # another one


def test_not_started_as_reconcile(tmp_path: Path) -> None:
    assert program_as_invoked("/usr/lib/python3/site-packages/pytest/__main__.py", None, tmp_path) == "reconcile"
