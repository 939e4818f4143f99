"""`reconcile outputs [RUN_ID]`: what a run wrote, with sizes and s3:// URIs; without a run id, every
published quarter's run. Runs are written with plain boto3, as a job run would have written them."""

from __future__ import annotations

import json
from typing import Any

from .conftest import BUCKET, Project
from .test_quarters import fake_run

Q3, Q4, LOOSE = "20261001T060000Z-aaaaaa", "20270101T060000Z-bbbbbb", "20270102T060000Z-cccccc"


def test_outputs_of_the_published_quarters_and_of_one_run(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    nothing = project.cli("outputs")
    assert nothing.exit_code == 1 and "nothing is published yet" in nothing.output and "Traceback" not in nothing.output
    fake_run(aws, Q3, "2026-Q3", "2026-10-01T06:00:00Z")
    fake_run(aws, Q4, "2026-Q4", "2027-01-01T06:00:00Z")
    fake_run(aws, LOOSE, "2026-Q4", "2027-01-02T06:00:00Z")
    aws.client("s3").put_object(Bucket=BUCKET, Key=f"prepared/runs/{Q3}/clean/year=2026/quarter=3/a.parquet",
                                Body=b"x" * 3000)  # fmt: skip
    for run_id in (Q3, Q4):
        assert project.cli("promote", run_id, "--auto-approve", "--allow-failed-gate").exit_code == 0

    listed = project.cli("outputs", "--json")
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["run_id"], r["quarter"]) for r in runs] == [(Q3, "2026-Q3"), (Q4, "2026-Q4")]
    q3 = {o["uri"]: o["size"] for o in runs[0]["objects"]}
    assert q3[f"s3://{BUCKET}/prepared/runs/{Q3}/clean/year=2026/quarter=3/a.parquet"] == 3000
    assert f"s3://{BUCKET}/prepared/runs/{Q3}/reports/run_report.json" in q3
    assert runs[0]["total_bytes"] == sum(q3.values())

    human = project.cli("outputs")
    assert human.exit_code == 0, human.output
    assert f"run {Q3}  2026-Q3 (published)" in human.output and f"run {Q4}  2026-Q4 (published)" in human.output
    assert "clean/" in human.output and "2.9 KiB" in human.output  # per folder: objects and size
    assert LOOSE not in human.output  # not published

    one = project.cli("outputs", LOOSE, "--all")
    assert one.exit_code == 0, one.output
    assert f"run {LOOSE}  not published" in one.output
    assert f"s3://{BUCKET}/prepared/runs/{LOOSE}/aggregated/csv/part-00000.csv" in one.output  # never cut
    missing = project.cli("outputs", "no-such-run")
    assert missing.exit_code == 1 and "has no objects" in missing.output
