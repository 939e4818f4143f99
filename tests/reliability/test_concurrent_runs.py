"""Two `reconcile run`s started together against the same pipeline: one runs, the other waits for the
lock (--lock-timeout) or exits at once naming the holder; never two job runs at the same time."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from tests.helpers import job_runs

from ..integration.conftest import JOB
from .conftest import Project
from .test_faults import quick_run_project

pytestmark = pytest.mark.slow


def start(project: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint,
         "--no-color", "run", "--timeout", "120", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip


def test_two_runs_with_lock_timeout_run_one_after_the_other(project: Project, aws: Any) -> None:
    quick_run_project(project)
    first, second = start(project, "--lock-timeout", "120"), start(project, "--lock-timeout", "120")
    out1, _ = first.communicate(timeout=240)
    out2, _ = second.communicate(timeout=240)
    assert first.returncode == 0, out1
    assert second.returncode == 0, out2
    runs = job_runs(aws.client("glue"), JOB)
    assert [r["JobRunState"] for r in runs] == ["SUCCEEDED", "SUCCEEDED"]
    assert runs[1]["StartedOn"] >= runs[0]["CompletedOn"]  # never two at once
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_two_runs_without_lock_timeout_one_runs_the_other_names_the_holder(project: Project, aws: Any) -> None:
    quick_run_project(project)
    assert project.cli("apply", "--auto-approve").exit_code == 0  # both start from a reconciled pipeline
    first, second = start(project), start(project)
    results = [(p.communicate(timeout=240)[0], p.returncode) for p in (first, second)]
    codes = sorted(code for _, code in results)
    assert codes == [0, 3], results  # 3: EXIT_LOCKED
    refused = " ".join(next(out for out, code in results if code == 3).split())
    assert "the pipeline is locked" in refused and "for 'run' since" in refused and "(pid " in refused
    assert [r["JobRunState"] for r in job_runs(aws.client("glue"), JOB)] == ["SUCCEEDED"]
