"""Stale and foreign objects are visible, against the local endpoint.

- A file deleted locally leaves its object under the upload's prefix: the plan says so (count, first keys),
  `run` refuses the quarter before anything is started (no crawl, no job run, no lock left) until the user
  chooses `--accept-stale` or `prune: true` (which the plan shows as deletes and apply carries out).
- An object at a declared key that someone else wrote (no sha256 metadata of ours) is replaced only with
  `apply --force`, and the plan says it is foreign.
"""

from __future__ import annotations

import json
from typing import Any

from ..reliability.test_faults import quick_run_project
from .conftest import BUCKET, JOB, Project

PREFIX = "raw/car_brands/"
FOLDER = "ingest_quarter=2026-Q3/"
CRAWLER = "car-brands-raw"


def deleted_locally(project: Project) -> str:
    """Delete one raw file after it was uploaded: its object is now stale. Returns its key."""
    files = sorted((project.root / "Data" / "car_brands" / FOLDER.rstrip("/")).iterdir())
    assert len(files) >= 2
    files[-1].unlink()
    return PREFIX + FOLDER + files[-1].name


def keys(aws: Any, prefix: str = PREFIX) -> set[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {str(o["Key"]) for o in listed}


def test_stale_objects_are_shown_and_run_refuses_the_quarter_until_accepted(project: Project, aws: Any) -> None:
    quick_run_project(project)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    stale = deleted_locally(project)

    plan = project.cli("plan")
    text = " ".join(plan.output.split())
    assert plan.exit_code == 0, plan.output
    assert f"1 object(s) under s3://{BUCKET}/{PREFIX} no longer exist" in text and stale in text
    assert "prune: true" in text and "--accept-stale" in text
    warnings = project.plan_json()["warnings"]
    assert any(stale in w and w.startswith(f"upload.{PREFIX}:") for w in warnings), warnings

    refused = project.cli("run", "--timeout", "120")
    text = " ".join(refused.output.split())
    assert refused.exit_code == 1, refused.output
    assert "Traceback" not in refused.output
    assert f"1 object(s) under s3://{BUCKET}/{PREFIX}{FOLDER} no longer exist" in text and stale in text
    assert "nothing was started" in text and "run --accept-stale" in text
    glue = aws.client("glue")
    assert "LastCrawl" not in glue.get_crawler(Name=CRAWLER)["Crawler"]  # never crawled
    assert glue.get_job_runs(JobName=JOB)["JobRuns"] == []
    assert not keys(aws, ".reconciler/lock.json")  # the lock was never taken
    assert stale in keys(aws)  # and nothing was deleted

    accepted = project.cli("run", "--timeout", "120", "--json", "--accept-stale")
    assert accepted.exit_code == 0, accepted.output
    events = [json.loads(line) for line in accepted.stdout.splitlines() if line.startswith("{")]
    warned = [e for e in events if e["event"] == "warning"]
    assert len(warned) == 1 and warned[0]["stale"] == [stale], warned
    assert events[-1]["event"] == "run_finished" and events[-1]["published"] is True


def test_prune_deletes_stale_objects_as_planned_deletes(project: Project, aws: Any) -> None:
    quick_run_project(project)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    stale = deleted_locally(project)
    project.edit("      prefix: raw/car_brands/\n", "      prefix: raw/car_brands/\n      prune: true\n")

    change = project.changes()[f"upload.{PREFIX}"]
    assert change["action"] == "update"
    deletes = [a for a in change["attributes"] if a["after"] is None]
    assert [a["path"] for a in deletes] == [f'objects["{stale}"]'], change
    assert not any(stale in w for w in project.plan_json()["warnings"])  # a delete now, not a warning
    assert project.plan_json()["summary"]["destroy"] == 1  # a pruned object is a destroy
    shown = project.cli("plan")
    assert f"- {stale}" in shown.output, shown.output
    assert "0 to replace, 1 to destroy (1 of them object(s) pruned from uploads)." in shown.output, shown.output

    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert stale not in keys(aws)
    assert len(keys(aws, PREFIX + FOLDER)) == len(list((project.root / "Data" / "car_brands" / FOLDER).iterdir()))
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0  # converged

    # Another file deleted: deleting raw data is a destroy, so the run's own reconcile step prunes it only
    # with --allow-destroy (then the quarter is not refused as stale).
    again = deleted_locally(project)
    refused = project.cli("run", "--timeout", "120")
    assert refused.exit_code == 1, refused.output
    assert f"upload.{PREFIX} deletes 1 object(s) its source no longer has (prune: true): {again}" in refused.output
    assert "--allow-destroy" in refused.output
    assert again in keys(aws)
    run = project.cli("run", "--timeout", "120", "--allow-destroy")
    assert run.exit_code == 0, run.output
    assert again not in keys(aws)


def test_a_foreign_object_at_a_declared_key_is_replaced_only_with_force(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    s3 = aws.client("s3")
    key = next(iter(sorted(k for k in keys(aws) if k.endswith(".csv"))))
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"someone else's file\n")  # no sha256 metadata

    plan = project.cli("plan")
    text = " ".join(plan.output.split())
    assert "replaces 1 foreign object(s), not uploaded by this tool" in text and key in text, plan.output

    refused = project.cli("apply", "--auto-approve")
    text = " ".join(refused.output.split())
    assert refused.exit_code == 1, refused.output
    assert "did not write" in text and key in text and "apply --force" in text
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"someone else's file\n"  # untouched

    forced = project.cli("apply", "--auto-approve", "--force")
    assert forced.exit_code == 0, forced.output
    assert s3.head_object(Bucket=BUCKET, Key=key)["Metadata"].get("sha256")
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
