"""The quality gate is pure: a report and the rules in, the failed rules (observed vs allowed) out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.quarterly.gate import check_gate
from reconciler.quarterly.publish import new_run_id, run_started
from reconciler.spec.load import load_spec
from reconciler.spec.model import Quality

REPO = Path(__file__).resolve().parents[2]

REPORT: dict[str, Any] = {
    "rows_read": 1000, "rows_rejected": 30, "duplicates_dropped": 10, "rows_valid": 960,
    "brands_seen": ["Audi", "BMW"], "valid_by_brand": {"Audi": 480, "BMW": 480},
    "date_range": {"min": "2026-07-01", "max": "2026-09-30"}, "quarters": ["2026-Q3"],
}  # fmt: skip


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DATA_DIR", str(REPO / "Data" / "sample" / "car_brands"))
    return load_spec(REPO / "pipeline.yaml")


def gate(pipeline: Any, report: dict[str, Any], previous: dict[str, Any] | None = None, **rules: Any) -> list[str]:
    return check_gate(replace(pipeline, quality=Quality(**rules)), report, previous)


def test_no_rules_pass(pipeline: Any) -> None:
    assert gate(pipeline, REPORT) == []


def test_each_rule_names_observed_and_allowed(pipeline: Any) -> None:
    assert gate(pipeline, REPORT, min_rows_read=2000) == ["min_rows_read: read 1,000 rows, at least 2,000 required"]
    assert gate(pipeline, REPORT, max_quarantine_share=0.02) == [
        "max_quarantine_share: 3.00% of rows quarantined, at most 2.00% allowed"
    ]
    assert gate(pipeline, REPORT, max_duplicate_share=0.005) == [
        "max_duplicate_share: 1.00% of rows were duplicates, at most 0.50% allowed"
    ]
    assert gate(pipeline, REPORT, required_brands=("Audi", "Tesla")) == [
        "required_brands: missing Tesla (required: Audi, Tesla)"
    ]


def test_quarter_coverage(pipeline: Any) -> None:
    assert gate(pipeline, REPORT, covers_quarter=True) == []
    short = {**REPORT, "date_range": {"min": "2026-07-01", "max": "2026-08-31"}}
    assert gate(pipeline, short, covers_quarter=True) == [
        "covers_quarter: events span 2026-07-01 to 2026-08-31, 2026-Q3 needs 2026-07-01 to 2026-09-30"
    ]
    q4 = {**REPORT, "quarters": ["2026-Q4"], "date_range": {"min": "2026-10-01", "max": "2026-12-31"}}
    assert gate(pipeline, q4, covers_quarter=True) == []


def test_brand_share_moves_against_the_published_run(pipeline: Any) -> None:
    previous = {**REPORT, "valid_by_brand": {"Audi": 600, "BMW": 400}}
    failures = gate(pipeline, REPORT, previous, max_brand_share_change=0.05)
    assert failures == [
        "max_brand_share_change: Audi moved from 60.00% to 50.00% (10.00%), at most 5.00% allowed",
        "max_brand_share_change: BMW moved from 40.00% to 50.00% (10.00%), at most 5.00% allowed",
    ]
    assert gate(pipeline, REPORT, None, max_brand_share_change=0.05) == []  # nothing published yet


def test_run_ids_sort_by_time_and_carry_it() -> None:
    run_id = new_run_id()
    started = run_started(run_id)
    assert started is not None and started.tzinfo is not None
    assert run_started("not-a-run") is None
