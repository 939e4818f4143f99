"""Write-audit-publish: each run writes to its own prefix, is checked, and only then is published.

Layout under the job's `--output_path` (the *base*, e.g. `s3://bucket/prepared/`):

    runs/<run_id>/...                 everything one job run wrote (clean/, aggregated/, reports/, ...)
    runs/<run_id>/_gate.json          the quality gate's verdict for that run
    _published.json                   the pointer: which run is the published data

Promotion is two small PUTs, never a copy: the QuickSight manifest (at its stable key) is rewritten to
point at the run's CSV prefix, then `_published.json` is rewritten to name the run. Each PUT is atomic,
so a reader sees the old run or the new one, never a mix; the cost is the same at 1M rows and at 1B.
Readers (the ML application) resolve the pointer first. Rolling back is promoting an earlier run.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.aws.lock import missing_bucket
from reconciler.errors import NotFoundError, PublishError
from reconciler.invocation import command
from reconciler.spec.model import Pipeline, QuickSight

POINTER = "_published.json"
GATE = "_gate.json"
REPORT = "reports/run_report.json"
DAYS_PER_QUARTER = 91




def new_run_id(now: datetime | None = None) -> str:
    """Sortable by time, unique enough for one pipeline: 20261128T045900Z-1a2b3c."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run_started(run_id: str) -> datetime | None:
    try:
        return datetime.strptime(run_id.split("-", 1)[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Layout:
    bucket: str
    base_key: str  # e.g. "prepared/"

    @classmethod
    def of(cls, pipeline: Pipeline) -> Layout:
        job = pipeline.jobs[0] if pipeline.schedule is None else next(
            j for j in pipeline.jobs if j.name == pipeline.schedule.job
        )  # fmt: skip
        output = dict(job.arguments).get("--output_path", "")
        own = f"s3://{pipeline.bucket.name}/"
        if not output.startswith(own):
            raise PublishError(
                f"job {job.name!r} has no --output_path inside s3://{pipeline.bucket.name}/: nothing to publish",
                hint="set arguments.--output_path to a prefix of the pipeline's bucket",
            )
        base = output[len(own) :]
        return cls(pipeline.bucket.name, base if base.endswith("/") or not base else base + "/")

    def run_key(self, run_id: str, relative: str = "") -> str:
        return f"{self.base_key}runs/{run_id}/{relative}"

    def run_uri(self, run_id: str) -> str:
        return f"s3://{self.bucket}/{self.run_key(run_id)}"

    @property
    def pointer_key(self) -> str:
        return self.base_key + POINTER


# --- the gate: pure --------------------------------------------------------------------------------


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


# --- S3 side ---------------------------------------------------------------------------------------


def _get_json(ctx: AwsContext, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = ctx.call("s3", "get_object", Bucket=bucket, Key=key)["Body"].read()
    except NotFoundError:
        return None
    try:
        loaded = json.loads(body)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _put_json(ctx: AwsContext, bucket: str, key: str, document: dict[str, Any]) -> None:
    body = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
    ctx.call("s3", "put_object", Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def read_pointer(ctx: AwsContext, layout: Layout) -> dict[str, Any] | None:
    return _get_json(ctx, layout.bucket, layout.pointer_key)


def read_report(ctx: AwsContext, layout: Layout, run_id: str) -> dict[str, Any] | None:
    return _get_json(ctx, layout.bucket, layout.run_key(run_id, REPORT))


def read_gate(ctx: AwsContext, layout: Layout, run_id: str) -> dict[str, Any] | None:
    return _get_json(ctx, layout.bucket, layout.run_key(run_id, GATE))


def write_gate(ctx: AwsContext, layout: Layout, run_id: str, failures: list[str]) -> None:
    verdict = {"run_id": run_id, "passed": not failures, "failures": failures,
               "checked_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    _put_json(ctx, layout.bucket, layout.run_key(run_id, GATE), verdict)


def published_report(ctx: AwsContext, layout: Layout) -> dict[str, Any] | None:
    pointer = read_pointer(ctx, layout)
    return read_report(ctx, layout, str(pointer["run_id"])) if pointer else None


def run_pipeline_view(pipeline: Pipeline, layout: Layout, run_id: str) -> Pipeline:
    """The pipeline as seen by one run: the manifest's data prefix moved under runs/<run_id>/."""
    manifest = pipeline.quicksight.manifest
    if manifest is None or not manifest.data_prefix.startswith(layout.base_key):
        return pipeline
    moved = layout.run_key(run_id, manifest.data_prefix[len(layout.base_key) :])
    return replace(pipeline, quicksight=QuickSight(manifest=replace(manifest, data_prefix=moved)))


def promote(ctx: AwsContext, pipeline: Pipeline, layout: Layout, run_id: str, *, by: str) -> dict[str, Any]:
    """Publish `run_id`: manifest first, pointer last. Returns the new pointer."""
    if read_report(ctx, layout, run_id) is None:
        raise PublishError(
            f"run {run_id} has no report at s3://{layout.bucket}/{layout.run_key(run_id, REPORT)}: "
            "it did not finish, or does not exist",
            hint=f"`{command('history')}` lists the runs",
        )
    previous = read_pointer(ctx, layout)
    if pipeline.quicksight.manifest is not None:
        from reconciler.quarterly.manifest import manifest_for, manifest_text, write_manifest

        view = run_pipeline_view(pipeline, layout, run_id)
        document = manifest_for(view)
        manifest = pipeline.quicksight.manifest
        write_manifest(document, manifest.output)
        ctx.call("s3", "put_object", Bucket=layout.bucket, Key=manifest.key, Body=manifest_text(document).encode(),
                 ContentType="application/json")  # fmt: skip
    pointer = {
        "run_id": run_id,
        "prefix": layout.run_uri(run_id),
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "promoted_by": by,
        "previous_run_id": previous.get("run_id") if previous else None,
    }
    _put_json(ctx, layout.bucket, layout.pointer_key, pointer)
    return pointer


def list_run_ids(ctx: AwsContext, layout: Layout) -> list[str]:
    ids: list[str] = []
    try:
        pages = ctx.pages("s3", "list_objects_v2", Bucket=layout.bucket, Prefix=layout.base_key + "runs/",
                          Delimiter="/")  # fmt: skip
    except NotFoundError as exc:
        raise missing_bucket(exc, layout.bucket, "listing the runs") from exc
    for page in pages:
        for common in page.get("CommonPrefixes", []):
            ids.append(common["Prefix"].rstrip("/").rsplit("/", 1)[-1])
    return sorted(ids)


def history(ctx: AwsContext, layout: Layout) -> list[dict[str, Any]]:
    """One row per run, oldest first, from the reports and gate verdicts in S3."""
    pointer = read_pointer(ctx, layout)
    published = pointer.get("run_id") if pointer else None
    rows = []
    for run_id in list_run_ids(ctx, layout):
        report = read_report(ctx, layout, run_id) or {}
        gate = read_gate(ctx, layout, run_id)
        rows.append({
            "run_id": run_id,
            "started_at": report.get("started_at"),
            "duration_seconds": report.get("duration_seconds"),
            "rows_read": report.get("rows_read"),
            "rows_valid": report.get("rows_valid"),
            "rows_quarantined": report.get("rows_rejected"),
            "gate": None if gate is None else ("passed" if gate.get("passed") else "failed"),
            "gate_failures": [] if gate is None else gate.get("failures", []),
            "published": run_id == published,
            "complete": bool(report),
        })  # fmt: skip
    return rows


def apply_retention(ctx: AwsContext, layout: Layout, keep_quarters: int, *, now: datetime | None = None) -> list[str]:
    """Remove unpublished runs older than `keep_quarters` quarters; never the published one."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=DAYS_PER_QUARTER * keep_quarters)
    pointer = read_pointer(ctx, layout)
    published = pointer.get("run_id") if pointer else None
    removed = []
    for run_id in list_run_ids(ctx, layout):
        started = run_started(run_id)
        if run_id == published or started is None or started >= cutoff:
            continue
        _delete_prefix(ctx, layout.bucket, layout.run_key(run_id))
        removed.append(run_id)
    return removed


def _delete_prefix(ctx: AwsContext, bucket: str, prefix: str) -> None:
    for page in ctx.pages("s3", "list_objects_v2", Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            ctx.call("s3", "delete_objects", Bucket=bucket, Delete={"Objects": keys[start : start + 1000]})
