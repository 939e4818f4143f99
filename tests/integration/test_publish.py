"""Write-audit-publish on the local endpoint: gate, promotion, rollback, history, retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.aws.context import AwsContext
from reconciler.quarterly.publish import Layout, apply_retention, new_run_id
from reconciler.spec.load import load_spec
from reconciler_local.datagen import generate

from .conftest import BUCKET, Project


def pointer(aws: Any, quarter: str = "2026-Q3") -> dict[str, Any]:
    """The publish pointer's entry of `quarter` (format 2: one entry per published quarter)."""
    loaded: dict[str, Any] = json.loads(
        aws.client("s3").get_object(Bucket=BUCKET, Key="prepared/_published.json")["Body"].read()
    )
    assert loaded["format_version"] == 2, loaded
    entry: dict[str, Any] = loaded["quarters"][quarter]
    return entry


def manifest_bytes(aws: Any) -> bytes:
    body: bytes = aws.client("s3").get_object(Bucket=BUCKET, Key="quicksight/manifest.json")["Body"].read()
    return body


def history(project: Project) -> list[dict[str, Any]]:
    result = project.cli("history", "--json")
    assert result.exit_code == 0, result.output
    runs: list[dict[str, Any]] = json.loads(result.stdout)["runs"]
    return runs


@pytest.mark.spark
def test_gate_publish_promote_rollback_history(project: Project, aws: Any) -> None:
    clean = project.cli("run", "--timeout", "600", "--run-quarter", "2026-Q3")
    assert clean.exit_code == 0, clean.output
    good = pointer(aws)["run_id"]
    manifest_before = manifest_bytes(aws)
    local_before = (project.root / "quicksight" / "manifest.json").read_bytes()

    # A bad quarter: the dirty share turned up. The gate fails; nothing published changes.
    raw = project.root / "Data" / "car_brands"
    generate(raw, rows=2000, quarter="2026-Q3", dirty_share=0.5, truth_path=project.root / "truth.json")
    dirty = project.cli("run", "--timeout", "600", "--run-quarter", "2026-Q3")
    assert dirty.exit_code == 4  # EXIT_GATE
    output = " ".join(dirty.output.split())
    assert "failed the quality gate" in output and "max_quarantine_share" in output and "allowed" in output
    assert pointer(aws)["run_id"] == good
    assert manifest_bytes(aws) == manifest_before
    assert (project.root / "quicksight" / "manifest.json").read_bytes() == local_before
    runs = {r["run_id"]: r for r in history(project)}
    bad = next(run_id for run_id, r in runs.items() if r["gate"] == "failed")

    # A human looked at it and publishes it anyway; then rolls back to the good run.
    promoted = project.cli("promote", bad, "--auto-approve", "--allow-failed-gate")
    assert promoted.exit_code == 0, promoted.output
    assert "failed its quality gate" in promoted.output
    assert pointer(aws)["run_id"] == bad
    assert f"runs/{bad}/aggregated/csv/" in manifest_bytes(aws).decode()
    # The good run is older than the published one of the same quarter: a rollback needs --force.
    older = project.cli("promote", good, "--auto-approve")
    assert older.exit_code == 1 and "is older than the published run" in " ".join(older.output.split())
    assert pointer(aws)["run_id"] == bad
    assert project.cli("promote", good, "--auto-approve", "--force").exit_code == 0
    assert pointer(aws) | {"promoted_at": None} == pointer(aws) | {
        "run_id": good, "previous_run_id": bad, "promoted_at": None,
    }  # fmt: skip
    assert manifest_bytes(aws) == manifest_before
    # Promoting the published run again keeps the rollback chain (it used to point at itself).
    assert project.cli("promote", good, "--auto-approve").exit_code == 0
    assert pointer(aws)["run_id"] == good and pointer(aws)["previous_run_id"] == bad

    rows = history(project)
    assert [r["run_id"] for r in rows] == sorted([good, bad])
    by_id = {r["run_id"]: r for r in rows}
    assert by_id[good]["gate"] == "passed" and by_id[good]["published"] is True
    assert by_id[bad]["gate"] == "failed" and by_id[bad]["published"] is False
    assert by_id[good]["rows_read"] == 2000 and by_id[bad]["rows_quarantined"] > by_id[good]["rows_quarantined"]
    assert project.cli("promote", "no-such-run", "--auto-approve").exit_code == 1


def test_retention_removes_only_old_unpublished_runs(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    s3 = aws.client("s3")
    now = datetime.now(UTC)
    old_published = new_run_id(now - timedelta(days=800))
    old_unpublished = new_run_id(now - timedelta(days=500))
    recent_unpublished = new_run_id(now - timedelta(days=30))
    for run_id in (old_published, old_unpublished, recent_unpublished):
        s3.put_object(Bucket=BUCKET, Key=f"prepared/runs/{run_id}/reports/run_report.json", Body=b"{}")
        s3.put_object(Bucket=BUCKET, Key=f"prepared/runs/{run_id}/clean/part-0.parquet", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="prepared/_published.json", Body=json.dumps({"run_id": old_published}).encode())

    pipeline = load_spec(project.spec)
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    removed = apply_retention(ctx, Layout.of(pipeline), keep_quarters=4)
    assert removed == [old_unpublished]
    left = {o["Key"].split("/")[2] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="prepared/runs/")["Contents"]}
    assert left == {old_published, recent_unpublished}
