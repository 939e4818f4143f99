"""`reconcile history` and `reconcile show` from the run records (quarterly/history.py, history_rows.py): every run is
listed, however it ended, with quarter, state, durations, rows, gate, published and cost; one run shows
its report, gate rules with observed and allowed values, outputs as s3:// URIs and where its logs are."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.aws.context import AwsContext
from reconciler.quarterly.publish import Layout, apply_retention, new_run_id
from reconciler.spec.load import load_spec
from reconciler_local import call_admin
from tests.helpers import job_runs

from ..reliability.test_faults import quick_run_project
from .conftest import BUCKET, JOB, Project

QUARTER = "2026-Q3"
#: the quick job, with a report like the real job's (rejects by reason, brands) and paths of its own folder
REPORTING_JOB = """
import json, os, sys, time

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
time.sleep(float(args.get("--sleep", "0")))
out = args["--output_path"]
for folder in ("aggregated/csv", "reports", "clean"):
    os.makedirs(os.path.join(out, folder), exist_ok=True)
with open(os.path.join(out, "aggregated", "csv", "part-00000.csv"), "w") as handle:
    handle.write("brand,rows\\nBMW,3\\nAudi,1\\n")
report = {"rows_read": 5, "rows_valid": 4, "rows_rejected": 1, "duplicates_dropped": 0,
          "rejected_by_reason": {"unknown_brand": 1}, "valid_by_brand": {"BMW": 3, "Audi": 1},
          "brands_seen": ["Audi", "BMW"], "run_quarter": args.get("--run_quarter"),
          "output_path": out, "outputs": {"clean": os.path.join(out, "clean"),
                                          "aggregated_csv": os.path.join(out, "aggregated/csv") + "/"}}
with open(os.path.join(out, "reports", "run_report.json"), "w") as handle:
    json.dump(report, handle)
"""


def reporting_project(project: Project, gate: str = "    min_rows_read: 1\n") -> None:
    quick_run_project(project)
    (project.root / "glue_scripts" / "car_brands_job.py").write_text(REPORTING_JOB)
    text = project.spec.read_text()
    at = text.index("  publish:")
    project.spec.write_text(text[:at] + "  quality:\n" + gate + text[at:])


def run(project: Project, *args: str) -> Any:
    return project.cli("run", "--run-quarter", QUARTER, "--timeout", "60", *args)


def history(project: Project) -> dict[str, dict[str, Any]]:
    result = project.cli("history", "--json")
    assert result.exit_code == 0, result.output
    return {r["run_id"]: r for r in json.loads(result.stdout)["runs"]}


def newest(rows: dict[str, dict[str, Any]], seen: set[str]) -> dict[str, Any]:
    (new,) = [r for run_id, r in rows.items() if run_id not in seen]
    seen.add(new["run_id"])
    return new


def test_history_lists_every_run_however_it_ended(project: Project, aws: Any) -> None:
    reporting_project(project)
    seen: set[str] = set()
    assert run(project).exit_code == 0
    good = newest(history(project), seen)
    assert (good["state"], good["quarter"], good["gate"], good["published"]) == ("published", QUARTER, "passed", True)
    assert good["rows_read"] == 5 and good["job_run_id"] and set(good["steps"]) >= {"crawl", "job", "gate", "publish"}
    # a G.1X x 2 job billed for its 1-minute minimum at eu-central-1's own job rate; the dated price copy has no
    # crawler rate for eu-central-1, so the crawl is unpriced and left out of the total (never us-east-1's rate)
    assert aws.region == "eu-central-1"
    assert good["cost_usd"] == pytest.approx(round(2 * 60 / 3600 * 0.44, 4))

    # The gate fails.
    project.edit("    min_rows_read: 1\n", "    min_rows_read: 1000\n")
    assert run(project).exit_code == 4
    gated = newest(history(project), seen)
    assert (gated["state"], gated["gate"], gated["published"]) == ("gate_failed", "failed", False)
    project.edit("    min_rows_read: 1000\n", "    min_rows_read: 1\n")

    # The job fails.
    script = project.root / "glue_scripts" / "car_brands_job.py"
    script.write_text("raise ValueError('boom')\n")
    assert run(project).exit_code == 1
    failed = newest(history(project), seen)
    assert failed["state"] == "job_failed" and "boom" in failed["error"] and failed["rows_read"] is None
    assert failed["cost_usd"] is not None  # a failed job run is billed too

    # The job runs past the run's --timeout: the run stops it.
    script.write_text(REPORTING_JOB)
    assert project.cli("run", "--run-quarter", QUARTER, "--timeout", "8", "--arg", "sleep=30").exit_code == 1
    timed_out = newest(history(project), seen)
    assert timed_out["state"] == "timed_out"

    # The crawl fails: a file beside the quarter folders puts data at two folder depths.
    aws.client("s3").put_object(Bucket=BUCKET, Key="raw/car_brands/stray.csv", Body=b"BMW,2026-07-01,08:00:00\n")
    assert project.cli("run", "--run-quarter", QUARTER, "--timeout", "60", "--skip-apply").exit_code == 1
    crawl_failed = newest(history(project), seen)
    assert crawl_failed["state"] == "crawl_failed" and crawl_failed["job_run_id"] is None
    aws.client("s3").delete_object(Bucket=BUCKET, Key="raw/car_brands/stray.csv")

    # Piped (not a terminal): plain columns, every id whole.
    plain = project.cli("history")
    assert plain.exit_code == 0, plain.output
    lines = plain.stdout.splitlines()
    assert lines[0].split()[:3] == ["run", "id", "quarter"] and "…" not in plain.stdout
    for run_id, state in [(good["run_id"], "published"), (gated["run_id"], "gate_failed"),
                          (failed["run_id"], "job_failed"), (timed_out["run_id"], "timed_out"),
                          (crawl_failed["run_id"], "crawl_failed")]:  # fmt: skip
        (row,) = [line for line in lines if line.startswith(run_id + " ")]
        assert row.split()[1:3] == [QUARTER, state], row


def test_an_interrupted_run_is_recorded_as_interrupted(project: Project, aws: Any) -> None:
    reporting_project(project)
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint, "run",
         "--run-quarter", QUARTER, "--timeout", "120", "--stop-on-interrupt", "--arg", "sleep=30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    glue = aws.client("glue")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not [r for r in glue_runs(glue) if r["JobRunState"] == "RUNNING"]:
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, out + err
    (row,) = history(project).values()
    assert row["state"] == "interrupted" and "interrupted" in row["error"] and row["job_run_id"]


def glue_runs(glue: Any) -> list[dict[str, Any]]:
    try:
        return job_runs(glue, JOB)
    except glue.exceptions.EntityNotFoundException:
        return []


def test_show_prints_report_gate_rules_s3_outputs_and_logs(project: Project, aws: Any) -> None:
    reporting_project(project, gate="    min_rows_read: 1\n    max_quarantine_share: 0.5\n")
    result = run(project, "--json")
    assert result.exit_code == 0, result.output
    run_id = next(json.loads(line) for line in result.stdout.splitlines() if '"run_finished"' in line)["run_id"]
    shown = project.cli("show", run_id)
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    assert f"run       {run_id}" in text and f"quarter   {QUARTER}" in text and "published" in text
    assert "rejects   unknown_brand 1" in text and "brands    BMW 75.0%, Audi 25.0%" in text
    assert "ok     min_rows_read: observed 5 rows, allowed >= 1" in text
    assert "ok     max_quarantine_share: observed 20.00%, allowed <= 50.00%" in text
    prefix = f"s3://{BUCKET}/prepared/runs/{run_id}/"
    assert f"output    aggregated_csv: {prefix}aggregated/csv/" in text and f"output    clean: {prefix}clean" in text
    outputs = [line for line in text.splitlines() if line.startswith("output")]
    assert outputs and all("s3://" in line for line in outputs) and "/tmp" not in text  # never a staging path
    job_run_id = job_runs(aws.client("glue"), JOB)[0]["Id"]
    assert f"CloudWatch Logs /aws-glue/jobs/error, stream {job_run_id}" in text
    assert f"/_reconciler/job-runs/{job_run_id}/log" in text and "cost      $" in text
    missing = project.cli("show", "20200101T000000Z-000000")
    assert missing.exit_code == 1 and "history" in missing.output


def test_retention_keeps_the_run_record_so_history_outlives_the_data(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    s3 = aws.client("s3")
    old = new_run_id(datetime.now(UTC) - timedelta(days=500))
    record = {"run_id": old, "quarter": "2025-Q2", "state": "gate_failed", "steps": {"job": {"seconds": 3.0}},
              "rows": {"rows_read": 7, "rows_valid": 6, "rows_rejected": 1}, "cost": {"total_usd": 0.1}}  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key=f"prepared/runs/{old}/_run.json", Body=json.dumps(record).encode())
    s3.put_object(Bucket=BUCKET, Key=f"prepared/runs/{old}/reports/run_report.json", Body=b'{"rows_read": 7}')
    s3.put_object(Bucket=BUCKET, Key=f"prepared/runs/{old}/clean/part-0.parquet", Body=b"x")
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    layout = Layout.of(load_spec(project.spec))
    assert apply_retention(ctx, layout, keep_quarters=4) == [old]
    assert apply_retention(ctx, layout, keep_quarters=4) == []  # only the record is left: nothing to remove
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"prepared/runs/{old}/")["Contents"]]
    assert keys == [f"prepared/runs/{old}/_run.json"]
    row = history(project)[old]
    assert (row["state"], row["quarter"], row["rows_read"], row["cost_usd"]) == ("gate_failed", "2025-Q2", 7, 0.1)
    assert call_admin(aws.url, "health")["status"] == "ok"


@pytest.mark.spark
def test_show_of_a_real_spark_run_names_s3_outputs_never_staging_paths(project: Project, aws: Any) -> None:
    """The real job runs on the endpoint's staged local folders and reports those paths: `show` names the
    same outputs in S3."""
    result = project.cli("run", "--timeout", "600", "--run-quarter", QUARTER, "--json")
    assert result.exit_code == 0, result.output
    run_id = next(json.loads(line) for line in result.stdout.splitlines() if '"run_finished"' in line)["run_id"]
    shown = project.cli("show", "--json", run_id)
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    outputs = document["outputs"]
    assert {"clean", "aggregated_csv", "quarantine", "report"} <= set(outputs)
    prefix = f"s3://{BUCKET}/prepared/runs/{run_id}/"
    assert all(uri.startswith(prefix) for uri in outputs.values()), outputs
    s3 = aws.client("s3")
    assert s3.head_object(Bucket=BUCKET, Key=outputs["report"][len(f"s3://{BUCKET}/"):])  # it is really there
    assert document["record"]["state"] == "published" and document["record"]["cost"]["total_usd"] > 0
    assert all(rule["passed"] for rule in document["gate_rules"]), document["gate_rules"]
    text = project.cli("show", run_id).stdout
    assert "rejects   " in text and "brands    " in text and str(project.root) not in text
