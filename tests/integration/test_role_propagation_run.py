"""Inside `run`: the apply of a run changes the Glue role's policy, the job run it starts a
moment later fails because Glue cannot assume the role yet (the endpoint's IAM propagation window, as AWS's
eventual consistency), and `run` retries that job run once after a settle wait instead of failing the quarter."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler_local.lifecycle import call_admin
from tests.helpers import job_runs

from .conftest import JOB, Project

WINDOW = 8.0  # the endpoint's IAM propagation for this test: longer than apply + crawl take


@pytest.mark.slow
@pytest.mark.spark
def test_a_job_run_the_new_role_policy_is_not_ready_for_is_retried_once(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_admin(aws.url, "settings", {"role_resolution": True})
    assert project.cli("apply", "--auto-approve").exit_code == 0
    call_admin(aws.url, "settings", {"iam_propagation_seconds": WINDOW})
    # --enable-metrics is what gives the role cloudwatch:PutMetricData: without it, the apply changes the
    # role's inline policy (and the job), and the role is in the window when the job run starts.
    project.edit('        --enable-metrics: "true"\n', "")
    monkeypatch.setenv("RECONCILER_ROLE_SETTLE_SECONDS", str(WINDOW + 0.5))

    ran = project.cli("run", "--json", "--quarter", "2026-Q3", "--timeout", "600")
    assert ran.exit_code == 0, ran.output
    events = [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
    retries = [e for e in events if e["event"] == "retry"]
    assert [r["step"] for r in retries] == ["job"], retries
    assert "unable to assume" in retries[0]["error"]
    runs = job_runs(aws.client("glue"), JOB)
    assert [r["JobRunState"] for r in runs] == ["FAILED", "SUCCEEDED"]
    assert "unable to assume" in runs[0]["ErrorMessage"]
    assert any(e["event"] == "step_finished" and e["step"] == "publish" for e in events)
