"""Versioning's 404 window for what the tool itself writes: a run straight after the bucket was created (its apply
enables versioning) publishes, and `history`, `show` and `outputs` read its record, report, gate verdict and the
pointer correctly, although S3 answers 404 for each of them two requests in three. A key that does not exist is
still reported missing at once (aws/visible.py: a 404 is believed once a listing does not show the key)."""

from __future__ import annotations

import json
import time
from typing import Any

from reconciler_local import call_admin

from .conftest import BUCKET, Project
from .test_history import QUARTER, reporting_project, run
from .test_lease import VERSIONING_WINDOW
from .test_quarters import MANIFEST, fake_run


def test_a_run_in_versionings_404_window_is_published_and_read_back_by_history_show_and_outputs(
    project: Project, aws: Any
) -> None:
    call_admin(aws.url, "settings", {"versioning_propagation_seconds": VERSIONING_WINDOW})
    reporting_project(project)
    result = run(project, "--json")  # creates the bucket and enables versioning first
    assert result.exit_code == 0, result.output
    done = next(e for e in map(json.loads, (x for x in result.stdout.splitlines() if x.startswith("{")))
                if e["event"] == "run_finished")  # fmt: skip
    run_id = done["run_id"]
    assert done["published"] is True, done

    listed = project.cli("history", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = [r for r in json.loads(listed.stdout)["runs"] if r["run_id"] == run_id]
    assert (row["state"], row["quarter"], row["gate"], row["published"]) == ("published", QUARTER, "passed", True)
    assert row["rows_read"] == 5 and row["job_run_id"], row

    shown = project.cli("show", run_id, "--json")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["record"]["state"] == "published" and document["record"]["run_id"] == run_id, document
    assert document["report"]["rows_read"] == 5 and document["gate"]["passed"] is True, document

    for args in (("outputs", run_id, "--json"), ("outputs", "--json")):  # the run's own, and the pointer's
        outputs = project.cli(*args)
        assert outputs.exit_code == 0, outputs.output
        assert "aggregated/csv/part-00000.csv" in outputs.stdout, (args, outputs.stdout)

    # A run that does not exist is still missing at once: its 404s are believed after one listing each.
    started = time.monotonic()
    missing = project.cli("show", "20200101T000000Z-000000")
    assert missing.exit_code != 0 and "no run 20200101T000000Z-000000" in " ".join(missing.output.split())
    assert time.monotonic() - started < 5, time.monotonic() - started


def test_the_manifest_a_promote_just_wrote_is_not_rewritten_or_called_stale_in_versionings_404_window(
    project: Project, aws: Any
) -> None:
    call_admin(aws.url, "settings", {"versioning_propagation_seconds": VERSIONING_WINDOW})
    assert project.cli("apply", "--auto-approve").exit_code == 0  # versioning enabled a moment ago
    fake_run(aws, "20261001T060000Z-aaaaaa", "2026-Q3", "2026-10-01T06:00:00Z")
    promoted = project.cli("promote", "20261001T060000Z-aaaaaa", "--auto-approve", "--allow-failed-gate")
    assert promoted.exit_code == 0, promoted.output
    published = aws.client("s3").list_object_versions(Bucket=BUCKET, Prefix=MANIFEST)["Versions"]
    for _ in range(3):  # each command reads the manifest, meeting a 404 two times in three
        again = project.cli("apply", "--auto-approve")
        assert again.exit_code == 0 and "Converged" not in again.output, again.output
    # the manifest the promote wrote is still the only version: neither converged again nor a placeholder
    assert aws.client("s3").list_object_versions(Bucket=BUCKET, Prefix=MANIFEST)["Versions"] == published
