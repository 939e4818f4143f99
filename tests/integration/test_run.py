"""`reconcile run` end to end on the local endpoint: real crawls, real job runs, the manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from reconciler.aws.context import AwsContext
from reconciler.quarterly.run import driver_log_streams, job_log_tail
from tests.helpers import job_runs

from .conftest import BUCKET, JOB, Project

SLEEPING_JOB = "import time\ntime.sleep(60)\n"
FAILING_JOB = "import sys\nprint('preparing', file=sys.stderr)\nraise ValueError('boom: the job broke')\n"


def set_job_script(project: Project, text: str) -> None:
    (project.root / "glue_scripts" / "car_brands_job.py").write_text(text)


def published_run(aws: Any) -> str:
    pointer = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key="prepared/_published.json")["Body"].read())
    return str(pointer["quarters"]["2026-Q3"]["run_id"])


def csv_rows(aws: Any, prefix: str) -> list[str]:
    """Every CSV line under a prefix, sorted: Spark names part files anew each run, the data must not change."""
    s3, lines = aws.client("s3"), []
    for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []):
        if obj["Key"].endswith(".csv"):
            lines += s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().decode().splitlines()
    return sorted(lines)


def folders(aws: Any, prefix: str) -> set[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"][len(prefix) :].rsplit("/", 1)[0] for o in listed if "/reports/" not in o["Key"]}


@pytest.mark.spark
def test_run_from_nothing_then_again_with_identical_outputs(project: Project, aws: Any) -> None:
    first = project.cli("run", "--timeout", "600", "--run-quarter", "2026-Q3")
    assert first.exit_code == 0, first.output
    assert "Run summary" in first.output and "published" in first.output
    s3 = aws.client("s3")
    run1 = published_run(aws)
    prefix1 = f"prepared/runs/{run1}/"
    assert any(k.startswith("clean/") for k in folders(aws, prefix1))
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key="quicksight/manifest.json")["Body"].read())
    assert manifest["fileLocations"][0]["URIPrefixes"] == [f"s3://{BUCKET}/{prefix1}aggregated/csv/"]
    csvs = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix1}aggregated/csv/")["Contents"]
    assert csvs and all(o["Key"].endswith(".csv") for o in csvs)  # the manifest points at data, only data
    assert json.loads((project.root / "quicksight" / "manifest.json").read_text()) == manifest

    second = project.cli("run", "--timeout", "600", "--run-quarter", "2026-Q3", "--json")
    assert second.exit_code == 0, second.output
    events = [json.loads(line) for line in second.stdout.splitlines() if line.startswith("{")]
    assert all(e["format_version"] == "1" for e in events)
    plan_event = next(e for e in events if e["event"] == "plan")
    assert plan_event["changes"] == []  # nothing to reconcile the second time
    assert [e["step"] for e in events if e["event"] == "step_finished"] == [
        "apply", "crawl", "job", "gate", "publish",
    ]  # fmt: skip
    run2 = published_run(aws)
    assert run2 != run1
    prefix2 = f"prepared/runs/{run2}/"
    assert folders(aws, prefix2) == folders(aws, prefix1)
    for data in ("aggregated/csv/", "quarantine/"):
        assert csv_rows(aws, prefix2 + data) == csv_rows(aws, prefix1 + data)
    assert len(job_runs(aws.client("glue"), JOB)) == 2


def test_failing_job_fails_the_run_with_its_exception(project: Project, aws: Any) -> None:
    set_job_script(project, FAILING_JOB)
    result = project.cli("run", "--timeout", "300")
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "FAILED" in output and "boom: the job broke" in output
    assert "preparing" in output  # the tail of the driver log
    assert not aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="quicksight/").get("Contents")


def test_failing_job_log_tail_reads_the_glue5_driver_streams_in_cloudwatch(project: Project, aws: Any) -> None:
    """On Glue 5 the driver's stdout and stderr are in /aws-glue/jobs/output, stream
    `<run id>-driver` (the endpoint's glue5_log_layout); the tail reads them from CloudWatch Logs, not
    only from the endpoint's admin route."""
    set_job_script(project, FAILING_JOB)
    assert project.cli("run", "--timeout", "300").exit_code == 1
    failed = job_runs(aws.client("glue"), JOB)[-1]
    assert failed["JobRunState"] == "FAILED" and failed["GlueVersion"].startswith("5")
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    tail = job_log_tail(ctx, failed["Id"], glue_version=failed["GlueVersion"], admin_route=False)
    assert "preparing" in tail and "boom: the job broke" in tail
    assert driver_log_streams("jr_1", "4.0") == [("/aws-glue/jobs/error", "jr_1"), ("/aws-glue/jobs/output", "jr_1")]
    assert driver_log_streams("jr_1", "5.0")[0] == ("/aws-glue/jobs/output", "jr_1-driver")


def test_failing_crawl_stops_the_run_before_the_job(project: Project, aws: Any) -> None:
    bad = project.root / "Data" / "car_brands" / "ingest_quarter=2026-Q3" / "zz-binary.csv"
    bad.write_bytes(bytes(range(256)) * 64)
    result = project.cli("run", "--timeout", "300")
    assert result.exit_code == 1
    assert "crawler 'car-brands-raw' ended FAILED" in " ".join(result.output.split())
    assert job_runs(aws.client("glue"), JOB) == []


def test_timeout_stops_the_job_it_started(project: Project, aws: Any) -> None:
    set_job_script(project, SLEEPING_JOB)
    started = time.monotonic()
    result = project.cli("run", "--timeout", "8")
    assert result.exit_code == 1
    assert "✗ job timed out" in result.output and "job failed" not in result.output
    assert time.monotonic() - started < 40
    deadline = time.monotonic() + 20
    glue = aws.client("glue")
    while time.monotonic() < deadline and job_runs(glue, JOB)[0]["JobRunState"] not in {"STOPPED", "FAILED"}:
        time.sleep(0.5)
    assert job_runs(glue, JOB)[0]["JobRunState"] == "STOPPED"


def test_concurrent_runs_one_waits_or_fails_on_the_lock(project: Project, aws: Any) -> None:
    set_job_script(project, SLEEPING_JOB)
    env = {**os.environ, "NO_COLOR": "1"}
    holder = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", aws.url, "run",
         "--timeout", "120", "--stop-on-interrupt"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not job_runs_or_empty(aws):
            time.sleep(0.5)
        assert job_runs_or_empty(aws), "the first run never started its job"
        second = project.cli("run", "--skip-apply", "--timeout", "30")
        assert second.exit_code == 3  # EXIT_LOCKED
        output = " ".join(second.output.split())
        assert "locked" in output and "'run'" in output and "since" in output
        assert len(job_runs(aws.client("glue"), JOB)) == 1  # the loser started nothing
    finally:
        holder.terminate()
        holder.wait(timeout=30)


def job_runs_or_empty(aws: Any) -> list[dict[str, Any]]:
    try:
        return job_runs(aws.client("glue"), JOB)
    except Exception:
        return []


def test_run_refuses_someone_elses_bucket_before_writing_anything_into_it(project: Project, aws: Any) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
    s3.put_object(Bucket=BUCKET, Key="theirs.txt", Body=b"not ours")
    result = project.cli("run")
    assert result.exit_code == 1, result.output
    assert "not this pipeline's" in result.output
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["theirs.txt"]  # no lock, no serial
    assert aws.client("glue").list_jobs()["JobNames"] == []
