"""`history` fits 80 columns by default, shows every column with --wide, and never cuts a value."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.quarterly.publish import new_run_id

from .conftest import BUCKET, Project


def recorded_run(aws: Any, run_id: str, state: str, *, published_then: bool) -> None:
    record = {"run_id": run_id, "quarter": "2026-Q3", "state": state, "started_at": "2026-10-01T06:00:00+00:00",
              "finished_at": "2026-10-01T06:04:10+00:00", "published": published_then,
              "steps": {"crawl": {"seconds": 41.2345}, "job": {"seconds": 180.3999}},
              "rows": {"rows_read": 1_000_000, "rows_valid": 979_480, "rows_rejected": 20_520},
              "cost": {"total_usd": 0.1234}}  # fmt: skip
    key = f"prepared/runs/{run_id}/_run.json"
    aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(record).encode())


def test_history_fits_80_columns_and_wide_shows_everything_whole(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    then, now = new_run_id(datetime.now(UTC) - timedelta(days=2)), new_run_id(datetime.now(UTC))
    recorded_run(aws, then, "published", published_then=True)  # published then, replaced since
    recorded_run(aws, now, "published", published_then=True)
    pointer = {"format_version": 2, "quarters": {"2026-Q3": {"run_id": now, "prefix": "x"}}}
    aws.client("s3").put_object(Bucket=BUCKET, Key="prepared/_published.json", Body=json.dumps(pointer).encode())

    narrow = project.cli("history")
    assert narrow.exit_code == 0, narrow.output
    header, *lines = narrow.output.splitlines()
    assert re.split(r"\s{2,}", header) == ["run id", "quarter", "state", "total s", "gate", "live"]
    assert all(len(line) <= 80 for line in narrow.output.splitlines()), narrow.output
    rows = {line.split()[0]: line.split()[1:] for line in lines}
    # `state` is how the run ended (it published then); `live` whether it is published now.
    assert rows[then] == ["2026-Q3", "published", "221.6", "-", "no"]
    assert rows[now] == ["2026-Q3", "published", "221.6", "-", "yes"]

    wide = project.cli("history", "--wide")
    assert wide.exit_code == 0 and "…" not in wide.output
    assert "2026-10-01T06:00:00+00:00" in wide.output and "1,000,000" in wide.output and "0.1234" in wide.output
    assert re.split(r"\s{2,}", wide.output.splitlines()[0]) == [
        "run id", "quarter", "state", "started", "crawl s", "job s", "total s", "read", "valid", "quarantined",
        "gate", "live", "cost $"]  # fmt: skip


def test_show_says_only_what_was_observed(project: Project, aws: Any) -> None:
    """An interrupted run wrote no report: its gate rules were not observed. A first quarter's share-change
    rule compared nothing, and says so instead of "within the limit"."""
    assert project.cli("apply", "--auto-approve").exit_code == 0
    interrupted, first = new_run_id(datetime.now(UTC) - timedelta(days=1)), new_run_id(datetime.now(UTC))
    recorded_run(aws, interrupted, "interrupted", published_then=False)
    recorded_run(aws, first, "published", published_then=True)
    s3 = aws.client("s3")
    report = {"run_quarter": "2026-Q3", "rows_read": 2000, "rows_rejected": 20, "duplicates_dropped": 0,
              "brands_seen": ["Volkswagen", "Mercedes-Benz", "BMW", "Audi"],
              "date_range": {"min": "2026-07-01", "max": "2026-09-30"}}  # fmt: skip
    s3.put_object(Bucket=BUCKET, Key=f"prepared/runs/{first}/reports/run_report.json", Body=json.dumps(report).encode())
    verdict = {"run_id": first, "passed": True, "failures": [], "compared_with": None}
    s3.put_object(Bucket=BUCKET, Key=f"prepared/runs/{first}/_gate.json", Body=json.dumps(verdict).encode())

    def rules(run_id: str) -> dict[str, str]:
        shown = project.cli("show", run_id, "--json")
        assert shown.exit_code == 0, shown.output
        return {r["rule"]: r["observed"] for r in json.loads(shown.stdout)["gate_rules"]}

    assert set(rules(interrupted).values()) == {"not observed (no report)"}
    text = project.cli("show", interrupted).output
    assert "observed 0" not in text and "within the limit" not in text, text
    assert "min_rows_read: not observed (no report), allowed >= 1,000" in text, text
    observed = rules(first)
    assert observed["max_brand_share_change"] == "not compared (no earlier published quarter)"
    assert observed["min_rows_read"] == "2,000 rows"


def test_durations_agree_in_history_json_and_show(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    run_id = new_run_id(datetime.now(UTC))
    recorded_run(aws, run_id, "published", published_then=True)  # steps of 41.2345 s and 180.3999 s
    (row,) = json.loads(project.cli("history", "--json").stdout)["runs"]
    assert (row["steps"], row["total_seconds"]) == ({"crawl": 41.2, "job": 180.4}, 221.6)
    wide = project.cli("history", "--wide").output.splitlines()[1].split()
    assert wide[4:7] == ["41.2", "180.4", "221.6"], wide
    shown = " ".join(project.cli("show", run_id).output.split())
    assert "step crawl - 41.2s" in shown and "step job - 180.4s" in shown, shown
