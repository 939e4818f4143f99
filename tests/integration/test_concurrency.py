"""Two applies at once, and locks left behind by killed processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any

import pytest

from reconciler.aws.lock import LOCK_KEY
from tests.conftest import Aws

from .conftest import BUCKET, Project


def reconcile(project: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint,
         "--no-color", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip


@pytest.mark.parametrize("region", ["eu-central-1", "us-east-1"])
def test_two_applies_at_once_one_waits_and_the_state_is_right(
    project: Project, aws: Any, region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In us-east-1 CreateBucket answers 200 to the owner of an existing bucket
    (terraform-provider-aws internal/service/s3/bucket.go; moto models it), so both first applies
    believe they created the bucket; exactly one may skip re-planning under the lock."""
    monkeypatch.setenv("AWS_REGION", region)  # the spec's region: ${AWS_REGION:-eu-central-1}
    aws = Aws(aws.url, region)
    first = reconcile(project, "apply", "--auto-approve", "--lock-timeout", "120")
    second = reconcile(project, "apply", "--auto-approve", "--lock-timeout", "120")
    out1, _ = first.communicate(timeout=180)
    out2, _ = second.communicate(timeout=180)
    assert first.returncode == 0, out1
    assert second.returncode == 0, out2
    # Exactly one apply created the pipeline; the other re-planned under the lock and found nothing to do (in
    # us-east-1 both were told they created the bucket: without the lock's verdict both would execute creates).
    outcomes = sorted(line for out in (out1, out2) for line in out.splitlines() if line.startswith("Apply complete"))
    assert outcomes == [
        "Apply complete! Resources: 0 added, 0 changed, 0 destroyed. Another apply made the planned changes "
        "while this one waited for the lock.",
        "Apply complete! Resources: 10 added, 0 changed, 0 destroyed.",
    ], (out1, out2)
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
    glue = aws.client("glue")
    assert glue.list_jobs()["JobNames"] == ["car-brands-prepare"]
    assert glue.list_crawlers()["CrawlerNames"] == ["car-brands-raw"]
    assert sorted(glue.list_triggers()["TriggerNames"]) == [
        "car-brands-quarterly-after-crawl", "car-brands-quarterly-start",
    ]  # fmt: skip
    assert not aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=LOCK_KEY).get("Contents")  # lock released


def test_a_lock_held_elsewhere_is_reported_with_holder_and_start(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    holder = {"id": "abc123def456", "operation": "apply", "who": "alice", "host": "build-7", "pid": 4242,
              "created_at": "2026-11-28T03:00:00+00:00"}  # fmt: skip
    aws.client("s3").put_object(Bucket=BUCKET, Key=LOCK_KEY, Body=json.dumps(holder).encode())
    project.edit("number_of_workers: 2", "number_of_workers: 3")
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 3  # EXIT_LOCKED
    output = " ".join(result.output.split())
    assert "alice on build-7 (pid 4242)" in output and "2026-11-28T03:00:00+00:00" in output
    # the hint repeats the global options in force, so it works when pasted
    assert f"reconcile -f {project.spec} --endpoint-url {project.endpoint} lock break abc123def456" in output
    assert aws.client("glue").get_job(JobName="car-brands-prepare")["Job"]["NumberOfWorkers"] == 2


def test_a_lock_left_by_a_killed_process_is_called_stale_taken_over_or_broken(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    holder = {"id": "deadbeef0001", "operation": "run", "who": "cron", "host": socket.gethostname(),
              "pid": dead.pid, "created_at": "2026-11-28T03:00:00+00:00"}  # fmt: skip
    aws.client("s3").put_object(Bucket=BUCKET, Key=LOCK_KEY, Body=json.dumps(holder).encode())

    status = project.cli("lock", "status")
    assert "stale" in status.output and "The next apply or run takes it over" in status.output
    project.edit("number_of_workers: 2", "number_of_workers: 3")
    taken = project.cli("apply", "--auto-approve")  # its holder is provably dead here: no person needed
    assert taken.exit_code == 0 and "Took over the pipeline lock: lock deadbeef0001" in taken.output

    aws.client("s3").put_object(Bucket=BUCKET, Key=LOCK_KEY, Body=json.dumps(holder).encode())
    wrong = project.cli("lock", "break", "not-the-id")
    assert wrong.exit_code == 3  # EXIT_LOCKED: naming the lock proves you looked at it
    broken = project.cli("lock", "break", "deadbeef0001")
    assert broken.exit_code == 0, broken.output
    assert project.cli("lock", "status").output.strip() == "Not locked."
    assert project.cli("apply", "--auto-approve").exit_code == 0
