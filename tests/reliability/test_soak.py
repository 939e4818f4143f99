"""Soak: six quarters, unattended, with the documented cron line (`reconcile run --json`) and nothing else.

The endpoint's schedule clock (`/_reconciler/clock`) is moved to 06:00 UTC on the first day of each
quarter, when the cron line fires; each quarter a new ingest folder appears (the 2,000-row sample's
generator settings) before it. Along the way:

- 2027-Q1: the run is SIGKILLed while its job runs; the next firing of the cron line (a retry at the same
  clock) takes the dead holder's lock over and converges with no human;
- 2027-Q2: dirty data (an extra part of misspelt brands) fails the gate (exit 4); the quarters published
  before stay published;
- 2026-Q4 is restated (`run --json --quarter 2026-Q4`): only its entry changes;
- before 2027-Q3 the endpoint restarts. Its state is in memory, so the restart loses the bucket and every
  Glue resource; the next cron line re-applies everything from pipeline.yaml (and re-uploads every ingest
  folder) and publishes its quarter: what was published before the restart is gone with the rest of the
  endpoint's state, and the check says exactly that.

After every step, with plain boto3: the pointer and the manifest name exactly the latest good run of
every quarter, the manifest's CSV objects exist and hold exactly those quarters' rows (the truth's
valid row count), history lists every run with its gate verdict, no lock is left, and at no time was more
than one job run active.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.aws.lock import LOCK_KEY
from reconciler_local import call_admin
from reconciler_local.datagen import generate

from ..conftest import ENDPOINT_ENVIRONMENT, TEST_ENVIRONMENT, Aws
from ..integration.conftest import BUCKET, JOB, make_project

pytestmark = [pytest.mark.slow, pytest.mark.spark]

POINTER = "prepared/_published.json"
MANIFEST = "quicksight/manifest.json"
SAMPLE_TRUTH = Path(__file__).resolve().parents[2] / "Data" / "sample" / "truth" / "car_brands_2026-Q3.json"


class Endpoint:
    """Our own endpoint process (the session's is shared with other tests), restartable on its port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        state = self.directory / "state.json"
        state.unlink(missing_ok=True)
        with open(self.directory / "endpoint.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reconciler_local", "serve", "--port", str(self.port), "--state-file",
                 str(state)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **TEST_ENVIRONMENT, **ENDPOINT_ENVIRONMENT},
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while not state.exists():
            assert self.process.poll() is None and time.monotonic() < deadline, "the endpoint did not start"
            time.sleep(0.05)
        loaded = json.loads(state.read_text())
        self.url, self.port = loaded["url"], int(loaded["port"])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Soak:
    def __init__(self, root: Path, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.project = make_project(root / "project", endpoint.url)
        self.raw = self.project.root / "Data" / "car_brands"
        self.rows_valid: dict[str, int] = {"2026-Q3": json.loads(SAMPLE_TRUTH.read_text())["expected"]["rows_valid"]}
        self.published: dict[str, str] = {}  # quarter -> run id: what must be published
        self.runs: dict[str, str] = {}  # run id -> "passed" / "failed": what history must list
        self.max_active = 0
        self.took: dict[str, float] = {}

    @property
    def aws(self) -> Aws:
        return Aws(url=self.endpoint.url)

    def clock(self, instant: str) -> None:
        call_admin(self.endpoint.url, "clock", {"now": instant})

    def ingest(self, quarter: str, dirty_share: float = 0.1) -> None:
        truth = generate(self.raw, rows=2000, quarter=quarter, dirty_share=dirty_share,
                         truth_path=self.project.root / "truth" / f"{quarter}.json")  # fmt: skip
        self.rows_valid[quarter] = int(truth.expected["rows_valid"])

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "reconciler", "-f", str(self.project.spec), "--endpoint-url", self.endpoint.url,
                "--no-color", "run", "--json", "--timeout", "900", *extra]  # fmt: skip

    def environment(self) -> dict[str, str]:
        environment = {**os.environ, "PIPELINE_BUCKET": BUCKET, "NO_COLOR": "1"}
        environment.pop("DATA_DIR", None)  # the project's own Data/car_brands
        return environment

    def cron(self, *extra: str) -> tuple[int, list[dict[str, Any]]]:
        """The cron line, once, watching the job runs while it works."""
        started = time.monotonic()
        process = subprocess.Popen(self.command(*extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=self.environment(), cwd=self.project.root)  # fmt: skip
        while process.poll() is None:
            self.watch()
            time.sleep(0.5)
        out = process.stdout.read().decode() if process.stdout else ""
        self.took[f"run {' '.join(extra)}".strip() + f" #{len(self.took)}"] = round(time.monotonic() - started, 1)
        return process.returncode, [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def cron_killed_during_the_job(self) -> str:
        """The cron line, SIGKILLed once its job run is RUNNING (no cleanup at all). Returns the job run id."""
        process = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=self.environment(), cwd=self.project.root)  # fmt: skip
        assert process.stdout is not None
        job_run_id = ""
        for line in process.stdout:
            if line.startswith(b"{") and json.loads(line).get("event") in {"job_started", "job_attached"}:
                job_run_id = json.loads(line)["job_run_id"]
                break
        assert job_run_id, "the run never started its job"
        glue = self.aws.client("glue")
        deadline = time.monotonic() + 120
        while glue.get_job_run(JobName=JOB, RunId=job_run_id)["JobRun"]["JobRunState"] != "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait()
        return job_run_id

    def watch(self) -> None:
        runs = self.aws.client("glue").get_job_runs(JobName=JOB).get("JobRuns", []) if self.has_job() else []
        active = [r for r in runs if r["JobRunState"] in {"STARTING", "RUNNING", "STOPPING", "WAITING"}]
        self.max_active = max(self.max_active, len(active))

    def has_job(self) -> bool:
        return JOB in self.aws.client("glue").list_jobs().get("JobNames", [])

    def published_run(self, quarter: str) -> str:
        pointer = json.loads(self.aws.client("s3").get_object(Bucket=BUCKET, Key=POINTER)["Body"].read())
        return str(pointer["quarters"][quarter]["run_id"])

    def check(self, step: str) -> None:
        """Everything published is exactly what must be, and nothing is left behind."""
        s3 = self.aws.client("s3")
        pointer = json.loads(s3.get_object(Bucket=BUCKET, Key=POINTER)["Body"].read())
        assert pointer["format_version"] == 2, step
        assert {q: e["run_id"] for q, e in pointer["quarters"].items()} == self.published, step
        manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=MANIFEST)["Body"].read())
        prefixes = [p for entry in manifest["fileLocations"] for p in entry.get("URIPrefixes", [])]
        expected = [f"s3://{BUCKET}/prepared/runs/{self.published[q]}/aggregated/csv/" for q in sorted(self.published)]
        assert prefixes == expected, step
        for quarter in sorted(self.published):
            key_prefix = f"prepared/runs/{self.published[quarter]}/aggregated/csv/"
            objects = s3.list_objects_v2(Bucket=BUCKET, Prefix=key_prefix).get("Contents", [])
            assert [o["Key"][len(key_prefix) :] for o in objects] == ["part-00000.csv"], (step, quarter)
            body = s3.get_object(Bucket=BUCKET, Key=objects[0]["Key"])["Body"].read().decode()
            rows = list(csv.DictReader(io.StringIO(body)))
            assert {r["year_quarter"] for r in rows} == {quarter}, (step, quarter)
            assert sum(int(r["events"]) for r in rows) == self.rows_valid[quarter], (step, quarter)
        assert not s3.list_objects_v2(Bucket=BUCKET, Prefix=LOCK_KEY).get("Contents"), f"{step}: a lock is left"
        history = json.loads(self.history())["runs"]
        gates = {r["run_id"]: r["gate"] for r in history}
        assert {run_id: gates.get(run_id) for run_id in self.runs} == self.runs, step
        assert {r["run_id"] for r in history if r["published"]} == set(self.published.values()), step
        self.watch()
        assert self.max_active <= 1, f"{step}: {self.max_active} job runs were active at once"

    def history(self) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "-f", str(self.project.spec), "--endpoint-url", self.endpoint.url,
             "history", "--json"], capture_output=True, text=True, env=self.environment(), timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def good_quarter(self, at: str, quarter: str) -> None:
        self.clock(at)
        code, events = self.cron()
        assert code == 0, events[-3:]
        assert next(e for e in events if e["event"] == "quarter")["quarter"] == quarter
        run_id = next(e for e in events if e["event"] == "run_finished")["run_id"]
        self.published[quarter] = run_id
        self.runs[run_id] = "passed"
        self.check(f"{quarter} at {at}")


def test_six_quarters_unattended_with_the_cron_line(tmp_path: Path) -> None:
    directory = tmp_path / "endpoint"
    directory.mkdir()
    endpoint = Endpoint(directory)
    endpoint.start()
    try:
        soak = Soak(tmp_path, endpoint)

        # 2026-Q3: the sample is already in the upload source.
        soak.good_quarter("2026-10-01T06:00:00Z", "2026-Q3")

        # 2026-Q4: a new ingest folder; Q3 stays as it was.
        soak.ingest("2026-Q4")
        soak.good_quarter("2027-01-01T06:00:00Z", "2026-Q4")

        # 2027-Q1: killed during the job; the next firing converges with no human.
        soak.ingest("2027-Q1")
        soak.clock("2027-04-01T06:00:00Z")
        orphan = soak.cron_killed_during_the_job()
        code, events = soak.cron()
        assert code == 0, events[-3:]
        assert any(e["event"] == "lock_taken_over" for e in events), [e["event"] for e in events]
        run_id = next(e for e in events if e["event"] == "run_finished")["run_id"]
        soak.published["2027-Q1"] = run_id
        soak.runs[run_id] = "passed"
        soak.check(f"2027-Q1 after the kill (orphan job run {orphan})")

        # 2027-Q2: dirty data fails the gate; what was published stays published. The export gained a part
        # of misspelt brands (well-formed lines, so the crawl still succeeds): 300 of 2,300 rows quarantined.
        soak.ingest("2027-Q2")
        misspelt = "".join(f"Volkswagon,2027-05-{1 + i % 28:02d},10:{i % 60:02d}:00\n" for i in range(300))
        (soak.raw / "ingest_quarter=2027-Q2" / "part-00004.csv").write_text(misspelt)
        soak.clock("2027-07-01T06:00:00Z")
        code, events = soak.cron()
        assert code == 4, events[-3:]  # EXIT_GATE
        failed = [r["run_id"] for r in json.loads(soak.history())["runs"] if r["gate"] == "failed"]
        assert len(failed) == 1
        soak.runs[failed[0]] = "failed"
        soak.check("2027-Q2 failed the gate")

        # 2026-Q4 restated: only its entry changes.
        code, events = soak.cron("--quarter", "2026-Q4")
        assert code == 0, events[-3:]
        restated = next(e for e in events if e["event"] == "run_finished")["run_id"]
        gate = next(e for e in events if e["event"] == "gate")
        assert gate["compared_with"]["quarter"] == "2026-Q4"  # a restatement is compared with its own quarter
        soak.published["2026-Q4"] = restated
        soak.runs[restated] = "passed"
        soak.check("2026-Q4 restated")

        # The endpoint restarts before 2027-Q3: its in-memory state is lost, the cron line rebuilds it all.
        endpoint.stop()
        endpoint.start()
        soak.published, soak.runs, soak.max_active = {}, {}, 0
        soak.ingest("2027-Q3")
        soak.good_quarter("2027-10-01T06:00:00Z", "2027-Q3")
        print(f"\nsoak: cron line durations (s): {soak.took}")
    finally:
        endpoint.stop()
