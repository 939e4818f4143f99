"""A run attaches only to a job run that is its own: a job run in progress that this
pipeline started for the same quarter (its `reconcile run` was killed) is adopted, with its run id and
output prefix, then gated and published; any other run in progress (the console, a trigger, another
quarter) makes `run` refuse, naming it. And a run killed with SIGKILL while holding the lock is taken over
by the next run without a person: at once on the same host, after the lease on another one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from reconciler.aws import lock
from reconciler.quarterly.publish import new_run_id
from tests.helpers import job_runs

from ..reliability.test_faults import quick_run_project
from .conftest import BUCKET, JOB, Project

QUARTER = "2026-Q3"
#: the quick job (no Spark) that first sleeps, so that a test can act while it runs
SLEEPY_JOB = """
import json, os, sys, time

time.sleep({seconds})
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
out = args["--output_path"]
os.makedirs(os.path.join(out, "aggregated", "csv"), exist_ok=True)
os.makedirs(os.path.join(out, "reports"), exist_ok=True)
with open(os.path.join(out, "aggregated", "csv", "part-00000.csv"), "w") as handle:
    handle.write("brand,rows\\nBMW,1\\n")
report = {{"rows_read": 1, "rows_valid": 1, "quarters": [args.get("--run_quarter")]}}
with open(os.path.join(out, "reports", "run_report.json"), "w") as handle:
    json.dump(report, handle)
"""


def sleepy_project(project: Project, aws: Any, seconds: float) -> None:
    quick_run_project(project)
    (project.root / "glue_scripts" / "car_brands_job.py").write_text(SLEEPY_JOB.format(seconds=seconds))
    assert project.cli("apply", "--auto-approve").exit_code == 0


def wait_running(aws: Any, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
    glue, deadline = aws.client("glue"), time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [r for r in job_runs(glue, JOB) if r["JobRunState"] == "RUNNING"]
        if len(running) >= count:
            return running
        time.sleep(0.1)
    raise AssertionError(f"no running job run after {timeout}s: {job_runs(glue, JOB)}")


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def finished(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return next(e for e in events(result.stdout) if e["event"] == "run_finished")


def ours(run_id: str, quarter: str = QUARTER) -> dict[str, str]:
    return {"--run_id": run_id, "--output_path": f"s3://{BUCKET}/prepared/runs/{run_id}/", "--run_quarter": quarter}


def test_a_job_run_started_by_hand_makes_run_refuse_naming_it(project: Project, aws: Any) -> None:
    sleepy_project(project, aws, seconds=60)  # still running whatever the machine's load; stopped below
    started = aws.client("glue").start_job_run(JobName=JOB)["JobRunId"]  # the console's Run button
    wait_running(aws)
    result = project.cli("run", "--run-quarter", QUARTER, "--timeout", "60")
    output = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert f"job run {started} (RUNNING, started 20" in output and "started by hand" in output
    assert "not starting a second one" in output and "batch-stop-job-run" in output
    # the stop command works as pasted: it names this endpoint and region, with the dummy credentials it takes
    assert f"aws glue batch-stop-job-run --job-name {JOB} --job-run-ids {started} --region {aws.region} " \
           f"--endpoint-url {aws.url}" in output, output  # fmt: skip
    assert [r["Id"] for r in job_runs(aws.client("glue"), JOB)] == [started]  # no second run started
    assert not aws.client("glue").get_crawler(Name="car-brands-raw")["Crawler"].get("LastCrawl")  # nothing billed
    aws.client("glue").batch_stop_job_run(JobName=JOB, JobRunIds=[started])


def test_a_job_run_of_another_quarter_makes_run_refuse_naming_it(project: Project, aws: Any) -> None:
    sleepy_project(project, aws, seconds=60)
    other = new_run_id()
    started = aws.client("glue").start_job_run(JobName=JOB, Arguments=ours(other, "2026-Q2"))["JobRunId"]
    wait_running(aws)
    result = project.cli("run", "--run-quarter", QUARTER, "--timeout", "60")
    output = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert f"job run {started}" in output and f"started by reconcile run {other} for 2026-Q2" in output
    assert len(job_runs(aws.client("glue"), JOB)) == 1
    aws.client("glue").batch_stop_job_run(JobName=JOB, JobRunIds=[started])


def test_a_job_run_this_pipeline_started_for_the_quarter_is_adopted_gated_and_published(
    project: Project, aws: Any
) -> None:
    sleepy_project(project, aws, seconds=2)
    orphan = new_run_id()
    started = aws.client("glue").start_job_run(JobName=JOB, Arguments=ours(orphan))["JobRunId"]
    wait_running(aws)
    result = project.cli("run", "--run-quarter", QUARTER, "--timeout", "60", "--json")
    done = finished(result)
    attached = next(e for e in events(result.stdout) if e["event"] == "job_attached")
    assert attached["job_run_id"] == started and attached["run_id"] == orphan
    assert done["run_id"] == orphan and done["job_run_id"] == started and done["published"] is True
    assert [r["Id"] for r in job_runs(aws.client("glue"), JOB)] == [started]  # adopted, not run twice
    s3 = aws.client("s3")
    assert s3.get_object(Bucket=BUCKET, Key=f"prepared/runs/{orphan}/_gate.json")  # gated under its own prefix


def spawn_run(project: Project, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint,
         "--no-color", "run", "--run-quarter", QUARTER, "--timeout", "120", "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )  # fmt: skip


def kill_during_the_job(project: Project, aws: Any) -> tuple[str, dict[str, Any]]:
    """SIGKILL a `run` while its job runs: (the killed run's id, the lock it left)."""
    process = spawn_run(project)
    try:
        running = wait_running(aws)
    finally:
        process.kill()
        process.communicate(timeout=30)
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=lock.LOCK_KEY)["Body"].read()
    return str(running[0]["Arguments"]["--run_id"]), dict(json.loads(body))


def test_a_run_killed_during_its_job_is_taken_over_at_once_and_its_job_run_published(
    project: Project, aws: Any
) -> None:
    sleepy_project(project, aws, seconds=3)
    killed_run, left = kill_during_the_job(project, aws)
    started = time.monotonic()
    result = project.cli("run", "--run-quarter", QUARTER, "--timeout", "60", "--json")
    took = time.monotonic() - started
    done = finished(result)
    taken = next(e for e in events(result.stdout) if e["event"] == "lock_taken_over")
    assert left["id"] in taken["holder"] and "is gone" in taken["reason"]
    assert done["run_id"] == killed_run and done["published"] is True
    assert len(job_runs(aws.client("glue"), JOB)) == 1
    assert project.cli("lock", "status").output.strip() == "Not locked."
    again = finished(project.cli("run", "--run-quarter", QUARTER, "--timeout", "60", "--json"))
    assert again["run_id"] != killed_run  # gated and published: the next run is a run of its own
    # History: the killed run is one row, published, continued by the run that adopted it; no row for the
    # adopting run's own id (it wrote nothing of its own).
    rows = {r["run_id"]: r for r in json.loads(project.cli("history", "--json").stdout)["runs"]}
    assert sorted(rows) == sorted([killed_run, again["run_id"]])
    assert rows[killed_run]["state"] == "published" and rows[killed_run]["job_run_id"]
    record = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=f"prepared/runs/{killed_run}/_run.json")[
        "Body"].read())  # fmt: skip
    assert record["adopted_by"]["run_id"] not in rows and record["steps"]["job"]["state"] == "succeeded"
    print(f"\nkilled run: the next run took the lock over at once and published the orphan in {took:.1f}s")


def test_a_run_killed_on_another_host_is_taken_over_once_its_lease_expires(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lock.LEASE_ENV, "2")
    sleepy_project(project, aws, seconds=8)  # still running when the lease expires
    killed_run, left = kill_during_the_job(project, aws)
    # The same lock as left by a CI runner that is gone: its pid cannot be checked from here.
    aws.client("s3").put_object(Bucket=BUCKET, Key=lock.LOCK_KEY, Body=json.dumps(left | {"host": "ci-runner-7"}))
    renewed = time.monotonic()
    assert project.cli("run", "--run-quarter", QUARTER, "--timeout", "60").exit_code == 3  # not expired yet
    result = project.cli("run", "--run-quarter", QUARTER, "--timeout", "60", "--lock-timeout", "30", "--json")
    done = finished(result)
    taken = next(e for e in events(result.stdout) if e["event"] == "lock_taken_over")
    took = float(taken_at(result.stdout)) - renewed
    assert "lease expired" in taken["reason"]
    assert done["run_id"] == killed_run and done["published"] is True
    print(f"\nlease 2s, holder on another host: taken over {took:.1f}s after its last renewal")
    assert 2 <= took < 12


def taken_at(stdout: str) -> float:
    """When the takeover event was printed, on this test's monotonic clock (the event carries wall time)."""
    from datetime import datetime

    event = next(e for e in events(stdout) if e["event"] == "lock_taken_over")
    wall = datetime.fromisoformat(event["ts"]).timestamp()
    return time.monotonic() - (time.time() - wall)


def test_a_killed_runs_job_run_that_finished_unwatched_is_adopted_not_run_again(project: Project, aws: Any) -> None:
    sleepy_project(project, aws, seconds=0)
    orphan = new_run_id()
    glue = aws.client("glue")
    started = glue.start_job_run(JobName=JOB, Arguments=ours(orphan))["JobRunId"]
    deadline = time.monotonic() + 60
    while glue.get_job_run(JobName=JOB, RunId=started)["JobRun"]["JobRunState"] != "SUCCEEDED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    done = finished(project.cli("run", "--run-quarter", QUARTER, "--timeout", "60", "--json"))
    assert done["run_id"] == orphan and done["job_run_id"] == started and done["published"] is True
    assert len(job_runs(glue, JOB)) == 1


def test_a_run_that_lost_its_lease_stops_before_writing(project: Project, aws: Any) -> None:
    sleepy_project(project, aws, seconds=3)
    process = spawn_run(project, env={lock.LEASE_ENV: "1"})
    try:
        running = wait_running(aws)
        s3 = aws.client("s3")
        before = s3.head_object(Bucket=BUCKET, Key=lock.LOCK_KEY)["ETag"]
        time.sleep(0.6)
        assert s3.head_object(Bucket=BUCKET, Key=lock.LOCK_KEY)["ETag"] != before  # the holder renews it
        theirs = {"id": "0the0taker00", "operation": "run", "who": "ops", "host": "ci-runner-7", "pid": 1,
                  "created_at": "2026-12-01T00:00:00+00:00", "lease_seconds": 300}  # fmt: skip
        s3.put_object(Bucket=BUCKET, Key=lock.LOCK_KEY, Body=json.dumps(theirs).encode())  # taken over
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 3, stderr  # EXIT_LOCKED
    failed = events(stdout)[-1]
    assert failed["event"] == "run_failed" and "lost the pipeline lock" in failed["error"], failed
    assert "taken over" in failed["error"] and "stopped before" in failed["error"]
    run_id = running[0]["Arguments"]["--run_id"]
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="prepared/").get("Contents", [])]
    assert f"prepared/runs/{run_id}/_gate.json" not in keys and not any(k.endswith("_published.json") for k in keys)
    assert json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=lock.LOCK_KEY)["Body"].read()) == theirs
    record = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=f"prepared/runs/{run_id}/_run.json")[
        "Body"].read())  # fmt: skip
    assert record["state"] == "lock_lost" and "lost the pipeline lock" in record["error"]["message"]
