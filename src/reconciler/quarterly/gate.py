"""The quality gate of one run, for `run` and `promote` alike: compare its report with the published run
of the same quarter (a restatement) or of the quarter before, and write the verdict beside the run. The rules
themselves (`check_gate`) are pure, here beside the one place that applies them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.quarterly import pointer
from reconciler.spec.layout import Layout
from reconciler.spec.model import Pipeline


def _quarter_bounds(label: str) -> tuple[date, date] | None:
    try:
        year, q = label.split("-Q")
        first = date(int(year), 3 * int(q) - 2, 1)
    except ValueError:
        return None
    nxt = date(first.year + (first.month + 3 > 12), (first.month + 2) % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def shares(report: dict[str, Any]) -> dict[str, float]:
    by_brand = report.get("valid_by_brand") or {}
    total = sum(by_brand.values())
    return {b: n / total for b, n in by_brand.items()} if total else {}


def check_gate(pipeline: Pipeline, report: dict[str, Any], previous: dict[str, Any] | None,
               run_quarter: str | None = None) -> list[str]:  # fmt: skip
    """Every failed rule, each with the observed and the allowed value. Empty means the run passes."""
    q = pipeline.quality
    failures: list[str] = []
    rows_read = int(report.get("rows_read") or 0)
    if q.min_rows_read is not None and rows_read < q.min_rows_read:
        failures.append(f"min_rows_read: read {rows_read:,} rows, at least {q.min_rows_read:,} required")
    if q.max_quarantine_share is not None and rows_read:
        share = int(report.get("rows_rejected") or 0) / rows_read
        if share > q.max_quarantine_share:
            failures.append(
                f"max_quarantine_share: {share:.2%} of rows quarantined, at most {q.max_quarantine_share:.2%} allowed"
            )
    if q.max_duplicate_share is not None and rows_read:
        share = int(report.get("duplicates_dropped") or 0) / rows_read
        if share > q.max_duplicate_share:
            failures.append(
                f"max_duplicate_share: {share:.2%} of rows were duplicates, at most {q.max_duplicate_share:.2%} allowed"
            )
    seen = set(report.get("brands_seen") or [])
    missing = [b for b in q.required_brands if b not in seen]
    if missing:
        failures.append(f"required_brands: missing {', '.join(missing)} (required: {', '.join(q.required_brands)})")
    if q.covers_quarter:
        quarters = report.get("quarters") or []
        label = run_quarter or (quarters[0] if len(quarters) == 1 else None)
        bounds = _quarter_bounds(label) if label else None
        found = report.get("date_range") or {}
        if bounds is None:
            failures.append(f"covers_quarter: cannot tell the run's quarter (report covers {quarters or 'none'})")
        elif not found.get("min") or found["min"] > bounds[0].isoformat() or found["max"] < bounds[1].isoformat():
            failures.append(
                f"covers_quarter: events span {found.get('min')} to {found.get('max')}, "
                f"{label} needs {bounds[0]} to {bounds[1]}"
            )
    if q.max_brand_share_change is not None and previous is not None:
        now, before = shares(report), shares(previous)
        for brand in sorted(set(now) | set(before)):
            change = abs(now.get(brand, 0.0) - before.get(brand, 0.0))
            if change > q.max_brand_share_change:
                failures.append(
                    f"max_brand_share_change: {brand} moved from {before.get(brand, 0.0):.2%} to "
                    f"{now.get(brand, 0.0):.2%} ({change:.2%}), at most {q.max_brand_share_change:.2%} allowed"
                )
    return failures


@dataclass(frozen=True)
class Verdict:
    """The verdict as written (pointer.GATE), and the published (quarter, run id) it compared against."""

    document: dict[str, Any]
    compared: tuple[str, str] | None

    @property
    def failures(self) -> list[str]:
        return list(self.document["failures"])


def judge(
    ctx: AwsContext, pipeline: Pipeline, layout: Layout, run_id: str, report: dict[str, Any], quarter: str,
    *, on_compared: Callable[[tuple[str, str] | None], None] | None = None,
    before_write: Callable[[], None] | None = None,
) -> Verdict:  # fmt: skip
    """Check `report` against the gate's rules and write the verdict. `on_compared` hears which published run
    it is compared with; `before_write` runs just before the write (the run checks its lock there)."""
    compared = pointer.comparison_run(pointer.published_quarters(ctx, layout), quarter)
    if on_compared is not None:
        on_compared(compared)
    previous = pointer.read_report(ctx, layout, compared[1]) if compared else None
    failures = check_gate(pipeline, report, previous, quarter)
    if before_write is not None:
        before_write()
    document = pointer.write_gate(ctx, layout, run_id, failures, compared[1] if compared else None)
    return Verdict(document, compared)
