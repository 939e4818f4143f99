"""Crash matrix for destroy (its own file so that xdist's --dist loadfile runs it beside the apply matrix):
SIGKILL `reconcile destroy --force` after its k-th mutating call, then destroy again as a user would.
See test_crash.py for the hook and the stale-lock behaviour."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

from reconciler_local import reset

from .conftest import Project
from .test_crash import DESTROY_STEP, again, assert_destroyed, count_mutations, crash

pytestmark = pytest.mark.slow


def test_destroy_killed_after_every_mutating_call_finishes_on_the_next_destroy(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    total = count_mutations(project, monkeypatch, "destroy", "--auto-approve", "--force")
    assert total > 5
    started = time.monotonic()
    outcomes: dict[int, str] = {}
    for k in range(1, total + 1, DESTROY_STEP):
        reset(aws.url)
        assert project.cli("apply", "--auto-approve").exit_code == 0
        killed = crash(project, k, "destroy", "--auto-approve", "--force")
        assert killed.returncode == -signal.SIGKILL, f"k={k}: {killed.returncode}\n{killed.stdout}{killed.stderr}"
        outcomes[k] = again(project, aws, killed, "destroy", "--auto-approve", "--force")
        assert_destroyed(aws)
    print(f"\ndestroy crash matrix: {len(outcomes)} of {total} crash points in {time.monotonic() - started:.0f}s: "
          f"{sum(v != 'no lock left' for v in outcomes.values())} left a stale lock: {outcomes}")  # fmt: skip
