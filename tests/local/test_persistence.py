"""The background endpoint keeps its state across `down` / `up` (and a SIGKILL), its job processes end with
it, and the CLI's `--local` / `local ...` use the spec's directory, whatever the working directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from reconciler.errors import EXIT_ERROR, EXIT_OK
from reconciler.spec.reserved import LOCK_FAMILY, LOCK_KEY
from reconciler_local import call_admin, down, status, up
from reconciler_local.lifecycle import EndpointState
from reconciler_local.persistence import INTERRUPTED_MESSAGE, SAVE_INTERVAL, SAVE_INTERVAL_ENV
from tests.helpers import GLUE_TRUST, make_spec_project

from .helpers import wait_for_crawl, wait_for_job_run

REGION = "eu-central-1"
BUCKET = "kept-bucket"
CSV = b"brand,founded\nVW,1937\nBMW,1916\n"
PRINTING_SCRIPT = b"print('the run ran', flush=True)\n"
# Starts a grandchild that ignores SIGHUP and its stdin (as a JVM might not), records both pids, then waits.
FORKING_SCRIPT = b'''
import os, subprocess, sys, time
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGHUP, signal.SIG_IGN); "
                          "time.sleep(300)"], stdin=subprocess.DEVNULL)
with open(args["--pid_file"], "w") as handle:
    handle.write(f"{os.getpid()} {child.pid}")
print("waiting", flush=True)
time.sleep(300)
'''


def client(state: EndpointState, service: str) -> Any:
    session: Any = boto3.session.Session(region_name=REGION)  # any service name: Any, not the overloads
    return session.client(service, endpoint_url=state.url, config=Config(s3={"addressing_style": "path"}))


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / ".reconciler"
    yield directory
    down(directory)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its new parent) is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def start_job(state: EndpointState, name: str, script: bytes, **arguments: str) -> str:
    client(state, "s3").put_object(Bucket=BUCKET, Key=f"scripts/{name}.py", Body=script)
    glue = client(state, "glue")
    glue.create_job(Name=name, Role="glue-role", GlueVersion="3.0",
                    Command={"Name": "pythonshell", "ScriptLocation": f"s3://{BUCKET}/scripts/{name}.py"})
    return str(glue.start_job_run(JobName=name, Arguments=arguments)["JobRunId"])


def test_down_then_up_keeps_buckets_objects_roles_glue_and_run_history(state_dir: Path) -> None:
    first = up(state_dir)
    s3, glue, iam = client(first, "s3"), client(first, "glue"), client(first, "iam")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key="raw/cars/part-1.csv", Body=CSV)
    iam.create_role(RoleName="glue-role", AssumeRolePolicyDocument=json.dumps(GLUE_TRUST))
    glue.create_database(DatabaseInput={"Name": "cars"})
    glue.create_crawler(Name="raw", Role="glue-role", DatabaseName="cars",
                        Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/raw/cars/"}]}, Tags={"team": "data"})
    glue.start_crawler(Name="raw")
    crawled = wait_for_crawl(glue, "raw")
    run_id = start_job(first, "report", PRINTING_SCRIPT)
    finished = wait_for_job_run(glue, "report", run_id, timeout=60)
    assert finished["JobRunState"] == "SUCCEEDED"

    assert down(state_dir) is True
    second = up(state_dir)

    assert second.pid != first.pid
    s3, glue, iam, logs = client(second, "s3"), client(second, "glue"), client(second, "iam"), client(second, "logs")
    assert s3.get_object(Bucket=BUCKET, Key="raw/cars/part-1.csv")["Body"].read() == CSV
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert iam.get_role(RoleName="glue-role")["Role"]["RoleName"] == "glue-role"
    crawler = glue.get_crawler(Name="raw")["Crawler"]
    assert crawler["State"] == "READY"
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert crawler["LastCrawl"]["StartTime"] == crawled["LastCrawl"]["StartTime"]
    assert [crawl["State"] for crawl in glue.list_crawls(CrawlerName="raw")["Crawls"]] == ["COMPLETED"]
    assert glue.get_tags(ResourceArn=f"arn:aws:glue:{REGION}:123456789012:crawler/raw")["Tags"] == {"team": "data"}
    assert [table["Name"] for table in glue.get_tables(DatabaseName="cars")["TableList"]] == ["cars"]
    run = glue.get_job_run(JobName="report", RunId=run_id)["JobRun"]
    assert (run["JobRunState"], run["StartedOn"], run["CompletedOn"]) == (
        "SUCCEEDED", finished["StartedOn"], finished["CompletedOn"])
    assert "the run ran" in Path(call_admin(second.url, f"job-runs/{run_id}")["log_path"]).read_text()
    events = logs.get_log_events(logGroupName="/aws-glue/jobs/output", logStreamName=run_id)["events"]
    assert [event["message"] for event in events] == ["the run ran"]
    # ... and it keeps working: a second run after the restart joins the first in the job's history
    again = glue.start_job_run(JobName="report")["JobRunId"]
    assert wait_for_job_run(glue, "report", again, timeout=60)["JobRunState"] == "SUCCEEDED"
    assert {r["Id"] for r in glue.get_job_runs(JobName="report")["JobRuns"]} == {run_id, again}


def test_a_killed_endpoint_leaves_no_job_process_and_keeps_its_saved_state(state_dir: Path, tmp_path: Path) -> None:
    first = up(state_dir)
    s3, glue = client(first, "s3"), client(first, "glue")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    pid_file = tmp_path / "pids"
    run_id = start_job(first, "forking", FORKING_SCRIPT, **{"--pid_file": str(pid_file)})
    deadline = time.monotonic() + 30
    while not pid_file.exists() or len(pid_file.read_text().split()) != 2:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)
    script_pid, grandchild_pid = (int(pid) for pid in pid_file.read_text().split())
    time.sleep(SAVE_INTERVAL + 1.0)  # the saver has written the running job

    os.kill(first.pid, signal.SIGKILL)

    deadline = time.monotonic() + 10
    while alive(script_pid) or alive(grandchild_pid):
        assert time.monotonic() < deadline, "the job's processes outlived the killed endpoint"
        time.sleep(0.1)
    assert status(state_dir) is None
    second = up(state_dir)
    glue = client(second, "glue")
    assert [b["Name"] for b in client(second, "s3").list_buckets()["Buckets"]] == [BUCKET]
    run = glue.get_job_run(JobName="forking", RunId=run_id)["JobRun"]
    assert (run["JobRunState"], run["ErrorMessage"]) == ("FAILED", INTERRUPTED_MESSAGE)


def test_an_unreadable_state_file_is_set_aside_and_the_endpoint_starts_empty(state_dir: Path) -> None:
    state_dir.mkdir()
    data = state_dir / "local-endpoint-data.pickle"
    data.write_bytes(b"not a pickle")

    started = up(state_dir)

    assert client(started, "s3").list_buckets()["Buckets"] == []
    assert (state_dir / "local-endpoint-data.pickle.unreadable").read_bytes() == b"not a pickle"
    assert "cannot restore the endpoint's state" in (state_dir / "local-endpoint.log").read_text()


SPARK_WAITING_SCRIPT = b'''
import os, sys, time
from pyspark.sql import SparkSession
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
spark = SparkSession.builder.appName("waiting").getOrCreate()
assert spark.range(3).count() == 3
with open(args["--pid_file"], "w") as handle:
    handle.write(str(os.getpgrp()))
time.sleep(300)
'''


def group_members(group: int) -> list[str]:
    """The command lines of the processes in process group `group` (field 5 of /proc/<pid>/stat), zombies left
    out."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == group:
                members.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, IndexError, ValueError):
            continue
    return members


@pytest.mark.spark
def test_a_killed_endpoint_leaves_no_spark_process(state_dir: Path, tmp_path: Path) -> None:
    first = up(state_dir)
    client(first, "s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    client(first, "s3").put_object(Bucket=BUCKET, Key="scripts/spark.py", Body=SPARK_WAITING_SCRIPT)
    glue = client(first, "glue")
    glue.create_job(Name="spark", Role="glue-role", GlueVersion="5.1",
                    Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/scripts/spark.py"})
    pid_file = tmp_path / "group"
    run_id = glue.start_job_run(JobName="spark", Arguments={"--pid_file": str(pid_file)})["JobRunId"]
    deadline = time.monotonic() + 240
    while not pid_file.exists() or not pid_file.read_text():
        run = glue.get_job_run(JobName="spark", RunId=run_id)["JobRun"]
        assert run["JobRunState"] in ("STARTING", "RUNNING"), run.get("ErrorMessage")  # STARTING: being staged
        assert time.monotonic() < deadline, "Spark never started"
        time.sleep(0.5)
    group = int(pid_file.read_text())
    assert any("java" in member for member in group_members(group)), group_members(group)  # the JVM is there

    os.kill(first.pid, signal.SIGKILL)

    deadline = time.monotonic() + 15
    while group_members(group):
        assert time.monotonic() < deadline, f"left behind: {group_members(group)}"
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def reconcile(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", "--no-color", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow  # about 35 s: six CLI processes, two endpoint starts, one apply
def test_local_uses_the_specs_directory_says_when_it_starts_one_and_keeps_the_pipeline(tmp_path: Path) -> None:
    project = tmp_path / "project"
    spec = make_spec_project(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    state_dir = project / ".reconciler"
    try:
        applied = reconcile("-f", str(spec), "--local", "apply", "--auto-approve", cwd=elsewhere)
        assert applied.returncode == EXIT_OK, applied.stdout + applied.stderr
        started = status(state_dir)
        assert started is not None
        assert not (elsewhere / ".reconciler").exists()
        line = " ".join(applied.stderr.split())
        assert f"Started the local AWS endpoint at {started.url} (pid {started.pid}" in line
        assert f"stop it with: reconcile -f {spec} local down" in line  # pasted, it works

        planned = reconcile("-f", str(spec), "--local", "plan", "--detailed-exitcode", cwd=elsewhere)
        assert planned.returncode == EXIT_OK, planned.stdout + planned.stderr  # the same endpoint: no changes
        assert "Started the local AWS endpoint" not in planned.stderr

        stopped = reconcile("-f", str(spec), "local", "down", cwd=elsewhere)
        assert stopped.returncode == EXIT_OK and status(state_dir) is None, stopped.stdout + stopped.stderr
        restarted = reconcile("local", "up", cwd=project)
        assert restarted.returncode == EXIT_OK, restarted.stdout + restarted.stderr
        running = status(state_dir)
        assert running is not None and running.pid != started.pid

        planned = reconcile("-f", str(spec), "--local", "plan", "--detailed-exitcode", cwd=elsewhere)
        assert planned.returncode == EXIT_OK, planned.stdout + planned.stderr  # everything was kept
        again = reconcile("-f", str(spec), "local", "up", cwd=elsewhere)
        assert again.returncode == EXIT_OK and "already running at" in again.stdout, again.stdout + again.stderr
        other_port = reconcile("-f", str(spec), "local", "up", "--port", str(free_port()), cwd=elsewhere)
        assert other_port.returncode == EXIT_ERROR, other_port.stdout + other_port.stderr
        message = " ".join(other_port.stderr.split())
        assert f"already running at {running.url} (pid {running.pid})" in message
        assert f"run `reconcile -f {spec} local down` first to change the port" in message
        assert "Traceback" not in other_port.stderr
        assert status(state_dir) == running
    finally:
        down(state_dir)


@pytest.mark.slow  # about 30 s: an apply that starts the endpoint, a kill, a restart and a plan
def test_a_command_leaves_the_endpoints_state_saved_before_it_exits(tmp_path: Path) -> None:
    """A one-command container (`docker run ... --local apply`) SIGKILLs the endpoint the command started as soon
    as the command exits: the state must already be on disk then, up to the lock's release."""
    project = tmp_path / "project"
    make_spec_project(project)
    state_dir = project / ".reconciler"
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("AWS_REGION", "PIPELINE_BUCKET", "DATA_DIR")}
    # The endpoint's own saver waits this long between saves: only the command's request can save in time.
    environment[SAVE_INTERVAL_ENV] = "600"
    try:
        applied = subprocess.run([sys.executable, "-m", "reconciler", "--no-color", "--local", "apply",
                                  "--auto-approve"], cwd=project, capture_output=True, text=True, timeout=300,
                                 env=environment)
        assert applied.returncode == EXIT_OK, applied.stdout + applied.stderr
        started = status(state_dir)
        assert started is not None
        os.killpg(started.pid, signal.SIGKILL)  # the container's end: its processes die at once
        deadline = time.monotonic() + 10
        while alive(started.pid):
            assert time.monotonic() < deadline, "the endpoint outlived SIGKILL"
            time.sleep(0.05)

        restarted = up(state_dir)
        s3 = client(restarted, "s3")
        kept = [item["Key"] for item in s3.list_objects_v2(Bucket="car-brands-pipeline-local",
                                                               Prefix=LOCK_FAMILY).get("Contents", [])]
        assert LOCK_KEY not in kept, "the lock the apply released is back"
        planned = subprocess.run([sys.executable, "-m", "reconciler", "--no-color", "--local", "plan",
                                  "--detailed-exitcode"], cwd=project, capture_output=True, text=True, timeout=300,
                                 env=environment)
        assert planned.returncode == EXIT_OK, planned.stdout + planned.stderr  # all the apply did was kept
    finally:
        down(state_dir)
