"""The quarter of a run (quarterly/quarters.py) and the per-quarter publication rules (pointer.py): pure."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from tests.helpers import make_spec_project

from reconciler.errors import RunError
from reconciler.quarterly import quarters
from reconciler.quarterly.pointer import comparison_run, report_quarter
from reconciler.spec.load import load_spec
from reconciler.spec.manifest import manifest_for_prefixes


@pytest.mark.parametrize(
    ("now", "rule", "expected"),
    [
        (datetime(2026, 10, 1, 6, tzinfo=UTC), "previous", "2026-Q3"),  # the documented cron time
        (datetime(2027, 1, 1, 6, tzinfo=UTC), "previous", "2026-Q4"),  # across the year
        (datetime(2027, 3, 31, 23, 59, tzinfo=UTC), "previous", "2026-Q4"),
        (datetime(2027, 4, 1, tzinfo=UTC), "previous", "2027-Q1"),
        (datetime(2026, 10, 1, 6, tzinfo=UTC), "current", "2026-Q4"),
    ],
)
def test_the_due_quarter(now: datetime, rule: str, expected: str) -> None:
    assert quarters.due(rule, now) == expected


def test_labels_bounds_and_previous() -> None:
    assert quarters.bounds("2026-Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert quarters.bounds("2028-Q1") == (date(2028, 1, 1), date(2028, 3, 31))
    assert quarters.previous("2027-Q1") == "2026-Q4"
    for bad in ("2026Q3", "2026-Q5", "26-Q1", "2026-q3", ""):
        with pytest.raises(RunError, match="not a quarter"):
            quarters.parse(bad)


def test_the_ingest_folder_is_found_in_the_upload_source(tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path)
    folder = tmp_path / "Data" / "car_brands" / "ingest_quarter=2026-Q3"
    folder.mkdir()
    (folder / "part-00000.csv").write_text("BMW,2026-07-01,08:00:00\n")
    pipeline = load_spec(spec)
    assert quarters.input_location(pipeline, "car-brands-prepare") == ("car-brands-pipeline-local", "raw/car_brands/")
    assert quarters.in_upload_source(pipeline, "raw/car_brands/", "2026-Q3") == folder
    assert quarters.in_upload_source(pipeline, "raw/car_brands/", "2026-Q4") is None


def test_a_run_is_compared_with_its_own_quarter_or_the_latest_one_before() -> None:
    published = {"2026-Q2": {"run_id": "a"}, "2026-Q3": {"run_id": "b"}}
    assert comparison_run(published, "2026-Q3") == ("2026-Q3", "b")  # a restatement: the same quarter
    assert comparison_run(published, "2026-Q4") == ("2026-Q3", "b")  # a new quarter: the previous one
    assert comparison_run(published, "2027-Q1") == ("2026-Q3", "b")  # Q4 never passed: the latest before
    assert comparison_run(published, "2026-Q1") is None  # nothing before it
    assert report_quarter({"run_quarter": "2026-Q3", "quarters": ["2026-Q3"]}) == "2026-Q3"
    assert report_quarter({"quarters": ["2026-Q3"]}) == "2026-Q3"
    assert report_quarter({"quarters": ["2026-Q3", "2026-Q4"]}) is None


def test_the_manifest_lists_one_prefix_per_published_quarter(tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path)
    (tmp_path / "quicksight" / "manifest.template.json").write_text(
        (Path(__file__).resolve().parents[2] / "quicksight" / "manifest.template.json").read_text()
    )
    pipeline = load_spec(spec)
    prefixes = ["prepared/runs/a/aggregated/csv/", "prepared/runs/b/aggregated/csv/"]
    doc = manifest_for_prefixes(pipeline, prefixes)
    assert doc["fileLocations"] == [{"URIPrefixes": [f"s3://car-brands-pipeline-local/{p}" for p in prefixes]}]
    assert doc["globalUploadSettings"]["format"] == "CSV"
