"""A failure of the embedded endpoint's own code is reported as such, never as AWS throttling; a 5xx that
outlasts the retries says what was seen.

The endpoint's fault mode has a `raise` kind (reconciler_local.faults): the first grafted function a chosen
request reaches raises, as a defect of ours would, and the endpoint answers HTTP 500 marked
`x-reconciler-internal-error` (reconciler_local.server.EndpointApp.internal_error)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import app as cli_main
from reconciler.errors import EXIT_ERROR
from reconciler_local import call_admin
from reconciler_local.lifecycle import status

from .conftest import BUCKET, Project, make_project
from .test_errors import QuickRetryContext, faults, hint_of, one_error


@pytest.fixture
def few_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's context gives up after 3 attempts without sleeping (test_errors.QuickRetryContext)."""
    monkeypatch.setattr(cli_main, "context_factory", QuickRetryContext)


def reconcile(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", "--no-color", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.slow  # about a minute on 2 busy cores: an endpoint start and four CLI processes
def test_an_exception_inside_a_graft_is_a_local_endpoint_failure_with_its_log_not_throttling(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", "")
    env = {**os.environ, "PIPELINE_BUCKET": BUCKET}
    state_dir = project.root / ".reconciler"
    try:
        up = reconcile("-f", str(project.spec), "local", "up", cwd=project.root, env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        running = status(state_dir)
        assert running is not None
        call_admin(running.url, "faults", {"rate": 1.0, "kinds": ["raise"], "operations": ["s3:CreateBucket"]})
        started = time.monotonic()
        applied = reconcile("-f", str(project.spec), "--local", "apply", "--auto-approve", cwd=project.root, env=env)
        took = time.monotonic() - started
        assert applied.returncode == EXIT_ERROR, applied.stdout + applied.stderr
        assert "Traceback" not in applied.stderr
        errors = [line for line in applied.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, applied.stderr
        text = " ".join(applied.stderr.split())  # rich wraps long lines
        log = state_dir / "local-endpoint.log"
        assert "the local endpoint failed (internal error) in s3:CreateBucket: InjectedFault" in text, text
        assert f"see {log.resolve()}" in text, text
        assert "throttl" not in text.lower()
        # Not retried: the endpoint was asked once, and the apply ended at once.
        assert call_admin(running.url, "faults")["by_operation"] == {"s3:CreateBucket": 1}
        assert took < 60, took  # not minutes of retries
        # The log holds what the message points at: the traceback of the exception.
        assert "InjectedFault: fault injection:" in log.read_text(errors="replace")
        # The failed apply released its lock: a plan after it is not locked out.
        call_admin(running.url, "faults", {})
        planned = reconcile("-f", str(project.spec), "--local", "lock", "status", cwd=project.root, env=env)
        assert planned.returncode == 0 and "Not locked." in planned.stdout, planned.stdout + planned.stderr
    finally:
        reconcile("-f", str(project.spec), "local", "down", cwd=project.root, env=env)


def test_a_5xx_outlasting_the_retries_says_what_was_seen_not_throttling(
    project: Project, aws: Any, few_retries: None
) -> None:
    """The fault mode's `500` imitates AWS's own InternalFailure (no internal-error mark): retried, then
    reported with the status, the code and the attempts."""
    faults(aws, rate=1.0, kinds=["500"], operations=["glue:ListCrawlers"])
    result = project.cli("plan")
    output = one_error(result, EXIT_ERROR)
    assert "glue:ListCrawlers still failing after 3 attempts: HTTP 500 InternalFailure" in output, output
    assert "throttl" not in output.lower()
    assert f"the endpoint {aws.url} answered HTTP 500" in hint_of(result)


def test_throttling_is_still_called_throttling(project: Project, aws: Any, few_retries: None) -> None:
    faults(aws, rate=1.0, kinds=["throttle"], operations=["glue:ListCrawlers"])
    result = project.cli("plan")
    output = one_error(result, EXIT_ERROR)
    assert "HTTP 400 ThrottlingException" in output, output
    assert "throttling" in hint_of(result)


def test_a_failed_apply_whose_release_is_denied_leaves_no_lock_a_person_must_remove(project: Project, aws: Any) -> None:
    """The apply's write fails (an endpoint defect, not retried) and so does its release (AccessDenied on
    DeleteObject): the lock stays, but the message says nobody needs to remove it, and the next apply, in a
    new process on this host, takes it over at once and converges."""
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("number_of_workers: 2", "number_of_workers: 3")
    faults(aws, rate=1.0, kinds=["raise"], operations=["glue:UpdateJob"],
           permanent={"operation": "s3:DeleteObject", "code": "AccessDenied"})  # fmt: skip
    args = ["-f", str(project.spec), "--endpoint-url", project.endpoint, "apply", "--auto-approve"]
    failed = reconcile(*args, cwd=project.root, env=dict(os.environ))
    assert failed.returncode == EXIT_ERROR, failed.stderr
    text = " ".join(failed.stderr.split())
    errors = [line for line in failed.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "1 change(s) failed" in errors[0], failed.stderr  # the step's error, first
    assert "the local endpoint failed (internal error) in glue:UpdateJob" in text, text
    assert "also releasing the pipeline lock" in text and "access denied: s3:DeleteObject" in text, text
    assert "nobody needs to remove it: the next apply or run takes it over at once" in text, text
    faults(aws)
    assert "stale" in project.cli("lock", "status").output  # left behind, by a process that has ended
    again = reconcile(*args, cwd=project.root, env=dict(os.environ))
    assert again.returncode == 0, again.stderr
    assert "Took over the pipeline lock" in again.stderr
    assert project.cli("lock", "status").output.strip() == "Not locked."
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
