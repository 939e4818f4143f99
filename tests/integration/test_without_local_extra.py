"""The product package works without the `[local]` extra: `reconcile` in a subprocess where importing moto,
Flask or reconciler_local fails, against the local endpoint as an ordinary AWS-shaped HTTP endpoint."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import Project

BLOCKED = ("moto", "flask", "reconciler_local")

# Installed first on sys.meta_path: every import of a blocked package (or of a module inside one) fails as it
# would with the extra not installed, and is recorded, so a product that catches the ImportError still fails
# the test. At exit the attempts are printed to stderr on one line the test looks for.
RECONCILE_WITHOUT_LOCAL = f"""
import atexit, importlib.abc, sys

BLOCKED = {BLOCKED!r}
attempts = []

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            attempts.append(name)
            raise ModuleNotFoundError(f"No module named {{name!r}} (the [local] extra is not installed)", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
atexit.register(lambda: print("blocked imports:", sorted(set(attempts)), file=sys.stderr))
from reconciler.cli.main import main
main()
"""


def reconcile_without_local(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RECONCILE_WITHOUT_LOCAL, "-f", str(project.spec), "--endpoint-url", project.endpoint,
         "--no-color", *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"}, cwd=project.root,
    )  # fmt: skip


def test_the_blocker_blocks() -> None:
    probe = RECONCILE_WITHOUT_LOCAL.replace("from reconciler.cli.main import main\nmain()\n", "import moto\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "No module named 'moto' (the [local] extra is not installed)" in result.stderr
    assert "blocked imports: ['moto']" in result.stderr


def test_plan_apply_plan_without_moto_flask_or_reconciler_local(project: Project) -> None:
    planned = reconcile_without_local(project, "plan")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "create" in planned.stdout
    assert "blocked imports: []" in planned.stderr, planned.stderr

    applied = reconcile_without_local(project, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "blocked imports: []" in applied.stderr, applied.stderr

    settled = reconcile_without_local(project, "plan", "--detailed-exitcode")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert "blocked imports: []" in settled.stderr, settled.stderr
