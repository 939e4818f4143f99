"""Watching `reconcile run`: the plan it applies and --allow-destroy, --job, live progress with the
step's own time and the driver log, the non-terminal heartbeat, short ids, and the distinct outcomes of a run
that is interrupted, stopped, timed out or failed. Terminal behaviour runs under a pseudo-terminal (pty)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from typing import Any

import pytest

from reconciler.aws.context import AwsContext
from reconciler.cli.progress import HEARTBEAT_ENV, short_id
from reconciler.quarterly.driverlog import DriverLog
from tests.helpers import job_runs

from ..reliability.test_faults import quick_run_project
from .conftest import BUCKET, JOB, Project

QUARTER = "2026-Q3"
#: the quick job, printing a numbered line every 0.3 s for `--ticks` ticks (the endpoint serves driver.log live)
TICKING_JOB = """
import json, os, sys, time

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
for n in range(int(args.get("--ticks", "0"))):
    print(f"tick {n}", flush=True)
    time.sleep(0.3)
out = args["--output_path"]
os.makedirs(os.path.join(out, "aggregated", "csv"), exist_ok=True)
os.makedirs(os.path.join(out, "reports"), exist_ok=True)
with open(os.path.join(out, "aggregated", "csv", "part-00000.csv"), "w") as handle:
    handle.write("brand,rows\\nBMW,1\\n")
with open(os.path.join(out, "reports", "run_report.json"), "w") as handle:
    json.dump({"rows_read": 1, "rows_valid": 1, "run_quarter": args.get("--run_quarter")}, handle)
print("ticking job done", flush=True)
"""
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def ticking_project(project: Project) -> None:
    quick_run_project(project)
    (project.root / "glue_scripts" / "car_brands_job.py").write_text(TICKING_JOB)


def run(project: Project, *args: str) -> Any:
    return project.cli("run", "--run-quarter", QUARTER, "--timeout", "90", *args)


def without_schedule(project: Project) -> None:
    text = project.spec.read_text()
    start, end = text.index("  schedule:\n"), text.index("  publish:")
    project.spec.write_text(text[:start] + text[end:])  # the workflow and its two triggers are no longer declared


def workflows(aws: Any) -> list[str]:
    return list(aws.client("glue").list_workflows().get("Workflows", []))


# --- the plan it applies, --allow-destroy, --job ------------------------------------------------------------


def test_run_prints_its_plan_and_applies_a_delete_only_with_allow_destroy(project: Project, aws: Any) -> None:
    ticking_project(project)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert workflows(aws) == ["car-brands-quarterly"]
    without_schedule(project)

    refused = run(project)  # not a terminal: nobody to ask, so no yes
    assert refused.exit_code == 1, refused.output
    text = " ".join(refused.output.split())
    assert "workflow.car-brands-quarterly will be destroyed" in text  # the plan, as `plan` renders it
    assert "the run would destroy, replace or lose data; nothing was changed" in text and "--allow-destroy" in text
    assert workflows(aws) == ["car-brands-quarterly"] and job_runs(aws.client("glue"), JOB) == []

    allowed = run(project, "--allow-destroy")
    assert allowed.exit_code == 0, allowed.output
    assert "will be destroyed" in allowed.output and workflows(aws) == []
    assert len(job_runs(aws.client("glue"), JOB)) == 1


def test_run_job_runs_the_named_job_and_an_unknown_name_lists_the_declared_ones(project: Project, aws: Any) -> None:
    ticking_project(project)
    text = project.spec.read_text()
    at = text.index("  schedule:\n")
    other = (
        '    - name: car-brands-other\n      script: scripts/car_brands_job.py\n      glue_version: "5.0"\n'
        "      worker_type: G.1X\n      number_of_workers: 2\n      arguments:\n"
        f"        --input_path: s3://{BUCKET}/raw/car_brands/\n        --output_path: s3://{BUCKET}/prepared/\n\n"
    )
    project.spec.write_text(text[:at] + other + text[at:])

    unknown = run(project, "--job", "car-brands-othr")
    assert unknown.exit_code == 1, unknown.output
    message = " ".join(unknown.output.split())
    assert "--job 'car-brands-othr': the spec declares no such job (did you mean 'car-brands-other'?)" in message
    assert "its jobs: car-brands-prepare, car-brands-other" in message
    assert aws.client("s3").list_buckets()["Buckets"] == []  # refused before any AWS write

    picked = run(project, "--job", "car-brands-other")
    assert picked.exit_code == 0, picked.output
    glue = aws.client("glue")
    assert len(job_runs(glue, "car-brands-other")) == 1 and job_runs(glue, JOB) == []


# --- progress when not on a terminal -------------------------------------------------------------------------


def test_piped_run_prints_state_changes_a_heartbeat_with_the_log_and_one_short_id(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticking_project(project)
    monkeypatch.setenv(HEARTBEAT_ENV, "1")
    result = run(project, "--arg", "ticks=12")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    (job_run,) = job_runs(aws.client("glue"), JOB)
    assert job_run["Id"] not in result.stdout  # the 67-character id never appears in human output
    assert result.stdout.count(short_id(job_run["Id"])) == 1  # printed once, when the job starts
    assert f"  job car-brands-prepare run {short_id(job_run['Id'])} started" in lines
    (running,) = [line for line in lines if re.fullmatch(r"  job: car-brands-prepare RUNNING \(\d+s\)", line)]
    before = sum(float(m) for m in re.findall(r"^✓ (?:apply|crawl) \((\d+\.\d)s\)$", result.stdout, re.MULTILINE))
    assert int(re.findall(r"\d+", running)[-1]) < before  # the job step's own time, not the CLI's
    beats = [line for line in lines if line.startswith("  job: car-brands-prepare still RUNNING after ")]
    assert beats and any("newest log line: tick " in line for line in beats), lines
    # the step's own time, not the time since the CLI started (the apply and the crawl came first)
    found = re.search(r"after (\d+)s", beats[0])
    assert found is not None, beats[0]
    first = int(found.group(1))
    assert first < 5
    assert "  | tick 0" not in lines  # the whole log only with --logs
    assert "the live state changed" not in result.stdout  # the plan applied is the one shown

    logged = run(project, "--arg", "ticks=3", "--logs")
    assert logged.exit_code == 0, logged.output
    assert [line for line in logged.stdout.splitlines() if re.fullmatch(r"  \| tick \d+", line)] == [
        "  | tick 0", "  | tick 1", "  | tick 2",
    ]  # fmt: skip
    assert "  | ticking job done" in logged.stdout.splitlines()


def test_timeout_is_labelled_timed_out_and_a_failure_ends_with_its_log(project: Project, aws: Any) -> None:
    ticking_project(project)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    timed_out = project.cli(
        "run", "--run-quarter", QUARTER, "--timeout", "10", "--arg", "ticks=100", "--json", "--logs"
    )  # fmt: skip
    assert timed_out.exit_code == 1
    events = [json.loads(line) for line in timed_out.stdout.splitlines()]
    failed_step = next(e for e in events if e["event"] == "step_failed")
    assert failed_step["outcome"] == "timed_out" and failed_step["step"] in {"crawl", "job"}  # job, unless loaded
    if failed_step["step"] == "job":  # --logs with --json: the driver log as `log` events, with the full id
        logged = [line for e in events if e["event"] == "log" for line in e["lines"]]
        assert "tick 0" in logged and all(len(e["job_run_id"]) > 12 for e in events if e["event"] == "log")
    assert events[-1]["event"] == "run_failed" and events[-1]["outcome"] == "timed_out"

    (project.root / "glue_scripts" / "car_brands_job.py").write_text("print('preparing')\nraise ValueError('boom')\n")
    failed = run(project)
    assert failed.exit_code == 1
    assert "✗ job failed" in failed.output and "timed out" not in failed.output
    last = failed.output.strip().splitlines()[-1]
    newest = job_runs(aws.client("glue"), JOB)[-1]["Id"]
    assert last == (f"hint: the full driver log: CloudWatch Logs /aws-glue/jobs/output, stream {newest}-driver "
                    f"(this endpoint: {aws.url}/_reconciler/job-runs/{newest}/log)")  # fmt: skip


def test_driver_log_follower_returns_each_line_once_from_both_glue5_driver_streams(project: Project, aws: Any) -> None:
    """CloudWatch Logs through the endpoint's real GetLogEvents: from the head, then only what is new, the user's
    output (/aws-glue/jobs/output) and Spark's log (/aws-glue/jobs/error) merged by time."""
    logs = aws.client("logs")
    for group in ("/aws-glue/jobs/output", "/aws-glue/jobs/error"):
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="jr_1-driver")
    follower = DriverLog(AwsContext(region=aws.region, endpoint_url=aws.url), "jr_1")
    assert follower.poll("5.0") == []
    now = int(time.time() * 1000)

    def put(group: str, *messages: tuple[int, str]) -> None:
        events = [{"timestamp": now + at, "message": text} for at, text in messages]
        logs.put_log_events(logGroupName=f"/aws-glue/jobs/{group}", logStreamName="jr_1-driver", logEvents=events)

    put("output", (0, "one"), (2, "three"))
    put("error", (1, "INFO Stage 0 finished"))
    assert follower.poll("5.0") == ["one", "INFO Stage 0 finished", "three"]
    assert follower.poll("5.0") == []
    put("output", (3, "four"))
    assert follower.poll("5.0") == ["four"]
    put("error", (4, "INFO Stage 1 finished"))
    assert follower.poll("5.0") == ["INFO Stage 1 finished"]


# --- on a terminal (pty) ---------------------------------------------------------------------------------------


def _controlling_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty, so that Ctrl-C written to the
    pty's master is a SIGINT to it, as on a real terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """The CLI in a child process on a pseudo-terminal, 80 columns: what it printed, ANSI codes removed."""

    def __init__(self, project: Project, *args: str, env: dict[str, str] | None = None) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        environment = {**os.environ, "COLUMNS": "80", "TERM": "xterm", **(env or {})}
        environment.pop("NO_COLOR", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint, *args],
            stdin=slave, stdout=slave, stderr=slave, env=environment, preexec_fn=_controlling_terminal,
        )  # fmt: skip
        os.close(slave)
        self.raw = b""

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw.decode("utf-8", "replace")).replace("\r", "\n")

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.raw += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    return

    def expect(self, pattern: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while not re.search(pattern, self.text):
            assert time.monotonic() < end, f"{pattern!r} not seen in:\n{self.text[-3000:]}"
            self.read(0.2)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = 60) -> int:
        end = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < end:
            self.read(0.2)
        self.read(0.3)
        return self.process.wait(timeout=1)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        os.close(self.master)


@pytest.mark.slow
@pytest.mark.parametrize("answer", ["n", "y", "ctrl-c"])
def test_ctrl_c_on_a_terminal_asks_with_the_spinner_paused_and_says_what_became_of_the_job(
    project: Project, aws: Any, answer: str
) -> None:
    ticking_project(project)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    terminal = Terminal(project, "run", "--run-quarter", QUARTER, "--timeout", "120", "--arg", "ticks=200")
    glue = aws.client("glue")
    try:
        terminal.expect(r"job car-brands-prepare RUNNING \d+s")
        terminal.expect(r"    tick \d+")  # the newest driver log lines under the live line
        live = [line for line in terminal.text.splitlines() if "job car-brands-prepare RUNNING" in line]
        assert all(len(line) <= 80 for line in live)
        seconds = [int(m) for m in re.findall(r"job car-brands-prepare RUNNING (\d+)s", terminal.text)]
        assert seconds == sorted(seconds) and seconds[0] < 5  # the step's own time, ticking
        terminal.send(b"\x03")  # Ctrl-C
        terminal.expect(r"Interrupted\. Stop job car-brands-prepare run jr_\w{9}\? \(no: it goes on running\)")
        asked_at = len(terminal.raw)
        terminal.read(1.5)
        after = terminal.raw[asked_at:].decode("utf-8", "replace")
        assert not set("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏") & set(after) and "RUNNING" not in after  # nothing redrawn under it
        terminal.send(b"\x03" if answer == "ctrl-c" else answer.encode() + b"\r")  # a second Ctrl-C: no answer
        code = terminal.wait()
        text = " ".join(terminal.text.split())
        (job_run,) = job_runs(glue, JOB)
        assert code == 130, text
        assert "job failed" not in text
        if answer in {"n", "ctrl-c"}:
            assert "■ job interrupted" in text and "what it waited for goes on running" in text
            assert f"goes on running hint: stop it with: AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing " \
                   f"aws glue batch-stop-job-run --job-name {JOB} " \
                   f"--job-run-ids {job_run['Id']}" in text  # fmt: skip
            assert glue.get_job_run(JobName=JOB, RunId=job_run["Id"])["JobRun"]["JobRunState"] == "RUNNING"
            glue.batch_stop_job_run(JobName=JOB, JobRunIds=[job_run["Id"]])
        else:
            assert "■ job interrupted" in text and "the job run was stopped" in text
            assert f"interrupted: stopped job '{JOB}' run {short_id(job_run['Id'])}" in text
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and glue.get_job_run(JobName=JOB, RunId=job_run["Id"])["JobRun"][
                "JobRunState"] != "STOPPED":  # fmt: skip
                time.sleep(0.3)
            assert glue.get_job_run(JobName=JOB, RunId=job_run["Id"])["JobRun"]["JobRunState"] == "STOPPED"
    finally:
        terminal.close()


@pytest.mark.slow
def test_a_destructive_run_on_a_terminal_asks_and_a_no_changes_nothing(project: Project, aws: Any) -> None:
    ticking_project(project)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    without_schedule(project)
    terminal = Terminal(project, "run", "--run-quarter", QUARTER, "--timeout", "60")
    try:
        terminal.expect(r"Do you want the run to destroy these\? Only 'yes' will be accepted")
        assert "workflow.car-brands-quarterly will be destroyed" in terminal.text
        terminal.send(b"no\r")
        assert terminal.wait() == 1
        assert "cancelled: nothing was changed" in terminal.text
    finally:
        terminal.close()
    assert workflows(aws) == ["car-brands-quarterly"] and job_runs(aws.client("glue"), JOB) == []
