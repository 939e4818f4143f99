"""Publishing by hand: promote refuses a rollback before it asks, a gate-failed run needs its own flag, and
`unpublish` withdraws a quarter (pointer and manifest, under the lock). Runs are made by writing their report
and gate verdict into the bucket, as a finished run leaves them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.quarterly.publish import new_run_id

from .conftest import BUCKET, Project

POINTER = "prepared/_published.json"
MANIFEST = "quicksight/manifest.json"


def finished_run(aws: Any, quarter: str, days_ago: int, *, passed: bool = True) -> str:
    """A run of `quarter` that finished `days_ago` days ago, with its gate verdict and one data file."""
    started = datetime.now(UTC) - timedelta(days=days_ago)
    run_id = new_run_id(started)
    s3 = aws.client("s3")
    base = f"prepared/runs/{run_id}/"
    report = {"run_quarter": quarter, "started_at": started.isoformat(timespec="seconds"), "rows_read": 10,
              "rows_valid": 10 if passed else 4}  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key=base + "reports/run_report.json", Body=json.dumps(report).encode())
    gate = {"passed": passed, "failures": [] if passed else ["max_quarantine_share: 60% of rows, 5% allowed"]}
    s3.put_object(Bucket=BUCKET, Key=base + "_gate.json", Body=json.dumps(gate).encode())
    s3.put_object(Bucket=BUCKET, Key=base + "aggregated/csv/part-0.csv", Body=b"brand,n\nBMW,1\n")
    return run_id


def published(aws: Any) -> dict[str, str]:
    pointer = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=POINTER)["Body"].read())
    return {q: e["run_id"] for q, e in pointer["quarters"].items()}


def manifest(aws: Any) -> str | None:
    try:
        return str(aws.client("s3").get_object(Bucket=BUCKET, Key=MANIFEST)["Body"].read().decode())
    except aws.client("s3").exceptions.NoSuchKey:
        return None


def test_a_rollback_is_refused_before_promote_asks(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    older, newer = finished_run(aws, "2026-Q3", 3), finished_run(aws, "2026-Q3", 1)
    assert project.cli("promote", newer, "--auto-approve").exit_code == 0
    refused = project.cli("promote", older)  # no terminal and no --auto-approve: it would refuse to ask
    assert refused.exit_code == 1, refused.output
    text = " ".join(refused.output.split())
    assert "is older than the published run" in text and f"promote --force {older}" in text
    assert "without confirmation" not in text
    assert published(aws) == {"2026-Q3": newer}


def test_a_gate_failed_run_is_published_only_with_its_flag(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    good, bad = finished_run(aws, "2026-Q3", 2), finished_run(aws, "2026-Q3", 1, passed=False)
    assert project.cli("promote", good, "--auto-approve").exit_code == 0
    refused = project.cli("promote", bad, "--auto-approve")
    assert refused.exit_code == 4, refused.output  # EXIT_GATE: nothing was published
    text = " ".join(refused.output.split())
    assert "failed its quality gate" in text and "max_quarantine_share" in text
    assert f"promote --allow-failed-gate {bad}" in text
    assert published(aws) == {"2026-Q3": good}
    allowed = project.cli("promote", bad, "--auto-approve", "--allow-failed-gate")
    assert allowed.exit_code == 0, allowed.output
    assert published(aws) == {"2026-Q3": bad}


def test_unpublish_withdraws_one_quarter_then_the_last(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    q2, q3 = finished_run(aws, "2026-Q2", 90), finished_run(aws, "2026-Q3", 1)
    assert project.cli("promote", q2, "--auto-approve").exit_code == 0
    assert project.cli("promote", q3, "--auto-approve").exit_code == 0
    assert f"runs/{q2}/" in (manifest(aws) or "") and f"runs/{q3}/" in (manifest(aws) or "")

    asked = project.cli("unpublish", "2026-Q3")  # no terminal: refuses to change anything unasked
    assert asked.exit_code == 1 and published(aws) == {"2026-Q2": q2, "2026-Q3": q3}
    gone = project.cli("unpublish", "2026-Q3", "--auto-approve")
    assert gone.exit_code == 0, gone.output
    assert f"Unpublished 2026-Q3 (was {q3})" in gone.output
    assert published(aws) == {"2026-Q2": q2}
    assert f"runs/{q3}/" not in (manifest(aws) or "") and f"runs/{q2}/" in (manifest(aws) or "")
    runs = {r["run_id"]: r for r in json.loads(project.cli("history", "--json").stdout)["runs"]}
    assert runs[q3]["published"] is False and runs[q2]["published"] is True
    assert project.cli("lock", "status").output == "Not locked.\n"  # unpublish took the lock and let it go

    again = project.cli("unpublish", "2026-Q3", "--auto-approve")
    assert again.exit_code == 1 and "quarter 2026-Q3 is not published (published: 2026-Q2)" in again.output
    assert project.cli("unpublish", "2026-Q2", "--auto-approve").exit_code == 0
    assert published(aws) == {} and manifest(aws) is None  # the manifest must not name withdrawn data
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0  # and nothing puts it back


def test_a_malformed_quarter_is_a_usage_error_with_a_suggestion(project: Project, aws: Any) -> None:
    result = project.cli("unpublish", "2026Q3")
    assert result.exit_code == 64, result.output
    assert "Did you mean 2026-Q3?" in result.output
