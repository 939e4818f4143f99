"""A run is one quarter; publication is per quarter and level-based; one scheduler (no Spark: the runs
that are published here are written with plain boto3, as a job run would have written them)."""

from __future__ import annotations

import json
from typing import Any

from reconciler_local import call_admin

from .conftest import BUCKET, JOB, Project

POINTER = "prepared/_published.json"
MANIFEST = "quicksight/manifest.json"


def fake_run(aws: Any, run_id: str, quarter: str, started_at: str, rows: int = 10) -> None:
    """What a finished job run of `quarter` leaves under its run prefix: the report and the CSV copy."""
    s3 = aws.client("s3")
    report = {"run_id": run_id, "run_quarter": quarter, "quarters": [quarter], "started_at": started_at,
              "rows_read": rows, "rows_valid": rows, "rows_rejected": 0, "duplicates_dropped": 0,
              "brands_seen": ["Audi", "BMW", "Mercedes-Benz", "Volkswagen"],
              "valid_by_brand": {"Audi": 1, "BMW": 1, "Mercedes-Benz": 1, "Volkswagen": 1}}  # fmt: skip
    base = f"prepared/runs/{run_id}/"
    s3.put_object(Bucket=BUCKET, Key=base + "reports/run_report.json", Body=json.dumps(report).encode())
    s3.put_object(Bucket=BUCKET, Key=base + "aggregated/csv/part-00000.csv", Body=f"year_quarter\n{quarter}\n".encode())


def read_json(aws: Any, key: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())
    return loaded


def manifest_prefixes(aws: Any) -> list[str]:
    return [p for entry in read_json(aws, MANIFEST)["fileLocations"] for p in entry.get("URIPrefixes", [])]


def expected_prefixes(aws: Any) -> list[str]:
    quarters = read_json(aws, POINTER)["quarters"]
    return [f"s3://{BUCKET}/prepared/runs/{quarters[q]['run_id']}/aggregated/csv/" for q in sorted(quarters)]


def test_a_quarter_that_was_not_ingested_is_refused_before_anything_is_created(project: Project, aws: Any) -> None:
    result = project.cli("run", "--quarter", "2025-Q1")
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "quarter 2025-Q1 has not been ingested" in output and "ingest_quarter=2025-Q1/" in output
    assert not aws.client("s3").list_buckets().get("Buckets")  # nothing applied, nothing started
    assert "to generate example data for 2025-Q1: " in output and "-m reconciler_local.datagen --out" in output
    assert output.rstrip().endswith("--quarter 2025-Q1"), output
    malformed = project.cli("run", "--quarter", "2026Q1")  # not a quarter at all: a usage error
    assert malformed.exit_code == 64 and "Did you mean 2026-Q1?" in malformed.output, malformed.output
    # Without --quarter: the quarter due at the endpoint's clock (1 April 2027: 2027-Q1), not ingested.
    call_admin(aws.url, "clock", {"now": "2027-04-01T06:00:00Z"})
    due = project.cli("run", "--json")
    assert due.exit_code == 1 and "quarter 2027-Q1 has not been ingested" in " ".join(due.output.split())


def test_one_scheduler_on_demand_unless_the_spec_chooses_the_in_aws_schedule(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    glue = aws.client("glue")
    start = glue.get_trigger(Name="car-brands-quarterly-start")["Trigger"]
    assert (start["Type"], start["State"], start.get("Schedule")) == ("ON_DEMAND", "CREATED", None)
    assert "--run_quarter" not in glue.get_job(JobName=JOB)["Job"]["DefaultArguments"]  # `run` passes the quarter
    assert "is the one scheduler" not in " ".join(project.cli("validate").output.split())
    project.edit("    in_aws: false\n", "    in_aws: true\n")
    validated = " ".join(project.cli("validate").output.split())
    assert "Glue workflow 'car-brands-quarterly' is the one scheduler" in validated
    assert project.cli("apply", "--auto-approve").exit_code == 0  # the start trigger is replaced
    start = glue.get_trigger(Name="car-brands-quarterly-start")["Trigger"]
    assert (start["Type"], start["State"]) == ("SCHEDULED", "ACTIVATED")
    # A run the schedule starts has only the job's default arguments: they name the quarter rule, so that run
    # processes the one quarter spec.schedule.quarter names (the job resolves it), not every quarter ingested.
    assert glue.get_job(JobName=JOB)["Job"]["DefaultArguments"]["--run_quarter"] == "previous"
    refused = project.cli("run", "--json")  # the cron line would be a second scheduler
    assert refused.exit_code == 1 and "spec.schedule.in_aws is true" in " ".join(refused.output.split())
    assert not glue.get_job_runs(JobName=JOB)["JobRuns"]


def test_publishing_is_per_quarter_and_the_manifest_converges_from_the_pointer(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    s3 = aws.client("s3")
    fake_run(aws, "20261001T060000Z-aaaaaa", "2026-Q3", "2026-10-01T06:00:00Z")
    fake_run(aws, "20270101T060000Z-bbbbbb", "2026-Q4", "2027-01-01T06:00:00Z")
    for run_id in ("20261001T060000Z-aaaaaa", "20270101T060000Z-bbbbbb"):
        assert project.cli("promote", run_id, "--auto-approve", "--allow-failed-gate").exit_code == 0
    pointer = read_json(aws, POINTER)
    assert pointer["format_version"] == 2 and sorted(pointer["quarters"]) == ["2026-Q3", "2026-Q4"]
    assert manifest_prefixes(aws) == expected_prefixes(aws)

    # A restatement of Q3 replaces Q3 only; promoting the older Q3 run back needs --force.
    fake_run(aws, "20270115T060000Z-cccccc", "2026-Q3", "2027-01-15T06:00:00Z")
    assert project.cli("promote", "20270115T060000Z-cccccc", "--auto-approve", "--allow-failed-gate").exit_code == 0
    quarters = read_json(aws, POINTER)["quarters"]
    assert quarters["2026-Q3"]["run_id"] == "20270115T060000Z-cccccc"
    assert quarters["2026-Q3"]["previous_run_id"] == "20261001T060000Z-aaaaaa"
    assert quarters["2026-Q4"] == pointer["quarters"]["2026-Q4"]
    older = project.cli("promote", "20261001T060000Z-aaaaaa", "--auto-approve", "--allow-failed-gate")
    assert older.exit_code == 1 and "older than the published run" in " ".join(older.output.split())
    assert manifest_prefixes(aws) == expected_prefixes(aws)

    # A crash between the pointer PUT and the manifest PUT leaves the manifest behind: the next command,
    # whatever it is, converges it (here an apply with nothing to change).
    stale = s3.get_object(Bucket=BUCKET, Key=MANIFEST)["Body"].read()
    fake_run(aws, "20270401T060000Z-dddddd", "2027-Q1", "2027-04-01T06:00:00Z")
    assert project.cli("promote", "20270401T060000Z-dddddd", "--auto-approve", "--allow-failed-gate").exit_code == 0
    s3.put_object(Bucket=BUCKET, Key=MANIFEST, Body=stale)
    assert manifest_prefixes(aws) != expected_prefixes(aws)
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0 and "Converged the QuickSight manifest" in result.output
    assert manifest_prefixes(aws) == expected_prefixes(aws) and len(expected_prefixes(aws)) == 3
    assert project.cli("apply", "--auto-approve").output.count("Converged") == 0  # level-based: once

    # A format-1 pointer (one run) is still read: as that run's quarter.
    s3.put_object(Bucket=BUCKET, Key=POINTER, Body=json.dumps({"run_id": "20261001T060000Z-aaaaaa"}).encode())
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert manifest_prefixes(aws) == [f"s3://{BUCKET}/prepared/runs/20261001T060000Z-aaaaaa/aggregated/csv/"]
