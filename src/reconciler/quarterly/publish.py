"""Write-audit-publish: each run writes to its own prefix, is checked, and only then is published (docs/publishing.md).

Layout under the job's `--output_path` (the *base*, e.g. `s3://bucket/prepared/`):

    runs/<run_id>/...                 everything one job run wrote (clean/, aggregated/, reports/, ...)
    runs/<run_id>/_gate.json          the quality gate's verdict for that run
    _published.json                   the pointer: per quarter, which run is the published data

A run processes one quarter, so what is published is cumulative: for each quarter, the latest run of
that quarter that passed the gate. The pointer is the one truth of it:

    {"format_version": 2, "quarters": {"2026-Q3": {"run_id", "prefix", "promoted_at", "promoted_by",
                                                   "previous_run_id"}, ...}, "updated_at", "updated_by"}

(the format-1 pointer, `{"run_id", "prefix", ...}` naming one run, is still read: as that run's quarter).
Publishing a run replaces only its own quarter's entry, with one PUT of the pointer. Everything derived
from the pointer (the QuickSight manifest, one URIPrefix per published quarter) is *converged* from it
afterwards, and again by every `run`, `promote` and `apply` (`converge`): a crash between the pointer PUT
and the manifest PUT is repaired by the next command, and a reader of the pointer never sees a mix.
Each PUT is atomic and the cost is the same at 1M rows and at 1B. Rolling back is promoting an earlier
run of the quarter (`--force`: it is older than the published one).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.aws.lock import missing_bucket
from reconciler.errors import NotFoundError, PublishError
from reconciler.invocation import command
from reconciler.resources.base import delete_objects_checked
from reconciler.spec import reserved
from reconciler.spec.layout import Layout as Layout  # re-exported: run, history and the tests use publish.Layout
from reconciler.spec.model import Pipeline, QuickSight

# The pointer's and the run prefixes' names are stated once, in spec/reserved.py (validation reads them).
POINTER = reserved.POINTER
POINTER_FORMAT = 2
GATE = "_gate.json"
RUN_RECORD = "_run.json"  # the run's history record, written by quarterly/history.py
REPORT = "reports/run_report.json"
DAYS_PER_QUARTER = 91
#: QuickSight user guide, "Supported formats for Amazon S3 manifest files": no file above 1 GB, at most
#: 10 GB and 1,000 files in all that one manifest names.
MANIFEST_MAX_FILES = 1000
MANIFEST_MAX_FILE_BYTES = 1024**3
MANIFEST_MAX_TOTAL_BYTES = 10 * 1024**3


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by time, unique enough for one pipeline: 20261128T045900Z-1a2b3c."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run_started(run_id: str) -> datetime | None:
    try:
        return datetime.strptime(run_id.split("-", 1)[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


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


# After versioning is first enabled, S3 may answer 404 for new objects for a while (S3 API reference,
# PutBucketVersioning, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html: "While
# this change is propagating, you might encounter intermittent HTTP 404 NoSuchKey errors for requests to
# objects created or updated after enabling versioning. We recommend that you wait for 15 minutes after
# enabling versioning before issuing write operations (PUT or DELETE) on objects in the bucket";
# quote checked 2026-12-01). A read of an object that
# was just written (the report of a job run that succeeded) looks again with this bounded backoff before
# concluding it is absent: 60.5 s in all.
WRITTEN_404_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def _get_json(
    ctx: AwsContext, bucket: str, key: str, *, written: bool = False, delays: tuple[float, ...] = WRITTEN_404_DELAYS
) -> dict[str, Any] | None:
    """The JSON object at `key`, or None. `written`: someone wrote it a moment ago, so a 404 is looked at
    again (WRITTEN_404_DELAYS) before it is believed."""
    pending, call = list(delays) if written else [], ctx.call
    while True:
        try:
            body = call("s3", "get_object", Bucket=bucket, Key=key)["Body"].read()
            break
        except NotFoundError:
            if not pending:
                return None
            time.sleep(pending.pop(0))
            call = ctx.call_fresh  # a shared read (AwsContext.shared_reads) would repeat the 404
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


def read_report(ctx: AwsContext, layout: Layout, run_id: str, *, written: bool = False) -> dict[str, Any] | None:
    """The run's report; `written`: the job run succeeded, so it wrote one (a 404 is retried, _get_json)."""
    return _get_json(ctx, layout.bucket, layout.run_key(run_id, REPORT), written=written)


def read_gate(ctx: AwsContext, layout: Layout, run_id: str) -> dict[str, Any] | None:
    return _get_json(ctx, layout.bucket, layout.run_key(run_id, GATE))


def write_gate(ctx: AwsContext, layout: Layout, run_id: str, failures: list[str],
               compared_with: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The verdict, with the run the share-change rule compared against (None: nothing was compared); returned
    as written."""
    verdict = {"run_id": run_id, "passed": not failures, "failures": failures, "compared_with": compared_with,
               "checked_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    _put_json(ctx, layout.bucket, layout.run_key(run_id, GATE), verdict)
    return verdict


def report_quarter(report: dict[str, Any]) -> str | None:
    """The one quarter a run processed: its `run_quarter`, else the only quarter its rows fall in."""
    if report.get("run_quarter"):
        return str(report["run_quarter"])
    covered = report.get("quarters") or []
    return str(covered[0]) if len(covered) == 1 else None


def published_quarters(ctx: AwsContext, layout: Layout, pointer: dict[str, Any] | None = None) -> dict[str, Any]:
    """quarter -> the pointer's entry of its published run. A format-1 pointer (one run) is read as that
    run's quarter (its `run_quarter`, else the last quarter its rows cover)."""
    if pointer is None:
        pointer = read_pointer(ctx, layout)
    if not pointer:
        return {}
    if isinstance(pointer.get("quarters"), dict):
        return {str(q): dict(e) for q, e in pointer["quarters"].items() if isinstance(e, dict) and e.get("run_id")}
    if not pointer.get("run_id"):
        return {}
    report = read_report(ctx, layout, str(pointer["run_id"])) or {}
    # A run that covered several quarters (format 1 allowed it) stands for the last; one that cannot
    # tell stays published under "unknown", so that retention still keeps it.
    label = report_quarter(report) or ((report.get("quarters") or [None])[-1]) or "unknown"
    return {str(label): dict(pointer)}


def published_run_ids(ctx: AwsContext, layout: Layout) -> set[str]:
    return {str(e["run_id"]) for e in published_quarters(ctx, layout).values()}


def comparison_run(published: dict[str, Any], label: str) -> tuple[str, str] | None:
    """(quarter, run id) the gate's share-change rule compares a run of `label` against: the published
    run of the same quarter for a restatement, else of the latest published quarter before it (the
    previous quarter, unless that one was never published); None for the first quarter."""
    if label in published:
        return label, str(published[label]["run_id"])
    earlier = sorted(q for q in published if q < label)
    return (earlier[-1], str(published[earlier[-1]]["run_id"])) if earlier else None


def published_report(ctx: AwsContext, layout: Layout, label: str | None = None) -> dict[str, Any] | None:
    """The report the gate compares a run of quarter `label` against (`comparison_run`)."""
    published = published_quarters(ctx, layout)
    if label is None:
        label = max(published, default=None)
        if label is None:
            return None
        return read_report(ctx, layout, str(published[label]["run_id"]))
    found = comparison_run(published, label)
    return read_report(ctx, layout, found[1]) if found else None


def run_pipeline_view(pipeline: Pipeline, layout: Layout, run_id: str) -> Pipeline:
    """The pipeline as seen by one run: the manifest's data prefix moved under runs/<run_id>/."""
    manifest = pipeline.quicksight.manifest
    if manifest is None or not manifest.data_prefix.startswith(layout.base_key):
        return pipeline
    moved = layout.run_key(run_id, manifest.data_prefix[len(layout.base_key) :])
    return replace(pipeline, quicksight=QuickSight(manifest=replace(manifest, data_prefix=moved)))


def data_prefix(pipeline: Pipeline, layout: Layout, run_id: str) -> str | None:
    """The key prefix of one run's QuickSight data (the manifest's data_prefix moved under runs/<run_id>/)."""
    manifest = run_pipeline_view(pipeline, layout, run_id).quicksight.manifest
    return manifest.data_prefix if manifest is not None else None


def manifest_document(pipeline: Pipeline, layout: Layout, published: dict[str, Any]) -> dict[str, Any] | None:
    """The QuickSight manifest the pointer implies: one URIPrefix per published quarter, oldest first."""
    if pipeline.quicksight.manifest is None or not published:
        return None
    from reconciler.quarterly.manifest import manifest_for_prefixes

    prefixes = [data_prefix(pipeline, layout, str(published[q]["run_id"])) or "" for q in sorted(published)]
    return manifest_for_prefixes(pipeline, prefixes)


def check_manifest_limits(ctx: AwsContext, pipeline: Pipeline, layout: Layout, published: dict[str, Any]) -> None:
    """PublishError when the manifest of `published` would name more than QuickSight imports through one
    manifest (MANIFEST_MAX_*): then nothing is published and the message says which limit."""
    if pipeline.quicksight.manifest is None:
        return
    files = total = 0
    for label in sorted(published):
        prefix = data_prefix(pipeline, layout, str(published[label]["run_id"])) or ""
        for page in ctx.pages("s3", "list_objects_v2", Bucket=layout.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                files += 1
                total += int(obj.get("Size") or 0)
                if int(obj.get("Size") or 0) > MANIFEST_MAX_FILE_BYTES:
                    raise PublishError(
                        f"s3://{layout.bucket}/{obj['Key']} ({label}) is larger than the 1 GB QuickSight imports "
                        "per file through a manifest: nothing was published",
                        hint="split the CSV copy into smaller files, or point QuickSight at Athena instead",
                    )
    if files > MANIFEST_MAX_FILES or total > MANIFEST_MAX_TOTAL_BYTES:
        raise PublishError(
            f"the manifest would name {files:,} files ({total / 1024**3:.1f} GB) over {len(published)} quarters; "
            f"QuickSight imports at most {MANIFEST_MAX_FILES:,} files and 10 GB through one manifest: nothing "
            "was published",
            hint="publish fewer quarters to QuickSight (retire old ones from the pointer), or use Athena",
        )


#: what a publishing step reports that is not an error (a local copy that could not be written)
Warn = Callable[[str], None]


def _log_warning(message: str) -> None:
    logging.getLogger(__name__).warning("%s", message)


def converge(ctx: AwsContext, pipeline: Pipeline, layout: Layout, published: dict[str, Any] | None = None,
             *, warn: Warn = _log_warning) -> bool:  # fmt: skip
    """Make the derived objects (the QuickSight manifest) match the pointer, the one truth of what is
    published. Level-based and idempotent: a GET of each, and a PUT only when the manifest differs.
    True when it wrote something. Called by `run`, `promote` and `apply` under the pipeline lock.

    The local convenience copy (`spec.quicksight.manifest.output`) is written last and never blocks the
    real work: a failure to write it (a read-only checkout, a full disk) is passed to `warn`."""
    manifest = pipeline.quicksight.manifest
    if manifest is None:
        return False
    withdrawn = False
    if published is None:
        pointer = read_pointer(ctx, layout)
        published = published_quarters(ctx, layout, pointer)
        withdrawn = pointer is not None and not published  # every quarter was unpublished
    document = manifest_document(pipeline, layout, published)
    if document is None and withdrawn:
        # The pointer proves the manifest is ours, and it must not name withdrawn data.
        try:
            ctx.call("s3", "head_object", Bucket=layout.bucket, Key=manifest.key)
        except NotFoundError:
            return False
        ctx.call("s3", "delete_object", Bucket=layout.bucket, Key=manifest.key)
        return True
    if document is None:
        return False  # nothing published yet: a manifest a person put there is left alone
    from reconciler.quarterly.manifest import manifest_text

    text = manifest_text(document)
    try:
        current = ctx.call("s3", "get_object", Bucket=layout.bucket, Key=manifest.key)["Body"].read()
    except NotFoundError:
        current = None
    wrote = bool(current != text.encode())
    if wrote:
        ctx.call("s3", "put_object", Bucket=layout.bucket, Key=manifest.key, Body=text.encode(),
                 ContentType="application/json")  # fmt: skip
    problem = write_local_copy(document, manifest.output)
    if problem is not None:
        warn(problem)
    return wrote


def write_local_copy(document: dict[str, Any], output: Path) -> str | None:
    """Write the local convenience copy of the manifest; None when written, else the warning to show.
    Never raises for what the file system refuses: the copy is a convenience, S3 holds the truth."""
    from reconciler.quarterly.manifest import manifest_text, write_manifest

    output = Path(output)
    try:
        if output.exists() and output.read_text(encoding="utf-8") == manifest_text(document):
            return None  # already current: nothing to write (a read-only checkout that is up to date is fine)
        write_manifest(document, output)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return (
            f"the QuickSight manifest was published to S3, but its local copy {output} could not be written "
            f"({reason}); the copy is only a convenience, nothing else is affected"
        )
    return None


def manifest_stale(ctx: AwsContext, pipeline: Pipeline) -> bool:
    """Whether the uploaded manifest differs from what the pointer implies (a read-only `converge`)."""
    manifest = pipeline.quicksight.manifest
    if manifest is None:
        return False
    try:
        layout = Layout.of(pipeline)
        document = manifest_document(pipeline, layout, published_quarters(ctx, layout))
        if document is None:
            return False
        from reconciler.quarterly.manifest import manifest_text

        current = ctx.call("s3", "get_object", Bucket=layout.bucket, Key=manifest.key)["Body"].read()
    except PublishError:
        return False
    except NotFoundError:
        return True  # published, but no manifest (or no bucket: then the lock says so)
    return bool(current != manifest_text(document).encode())


def converge_if_possible(ctx: AwsContext, pipeline: Pipeline, *, warn: Warn = _log_warning) -> bool:
    """`converge` for a pipeline that may have no output path or no bucket yet (apply on a fresh account)."""
    try:
        layout = Layout.of(pipeline)
    except PublishError:
        return False
    try:
        return converge(ctx, pipeline, layout, warn=warn)
    except NotFoundError:
        return False  # the bucket does not exist: nothing is published


def promote(ctx: AwsContext, pipeline: Pipeline, layout: Layout, run_id: str, *, by: str,
            force: bool = False, warn: Warn = _log_warning) -> dict[str, Any]:  # fmt: skip
    """Publish `run_id` for its quarter: the pointer first (one PUT: the truth), then the derived manifest
    (`converge`). Other quarters are never touched. An older run over a newer published run of the same
    quarter needs `force`. Returns the quarter's new pointer entry, with `quarter`."""
    report = read_report(ctx, layout, run_id)
    if report is None:
        raise PublishError(
            f"run {run_id} has no report at s3://{layout.bucket}/{layout.run_key(run_id, REPORT)}: "
            "it did not finish, or does not exist",
            hint=f"`{command('history')}` lists the runs",
        )
    label = report_quarter(report)
    if label is None:
        raise PublishError(
            f"run {run_id} covers {report.get('quarters') or 'no'} quarters, not one: it cannot be published per "
            "quarter",
            hint="run the quarter again with --quarter YYYY-QN",
        )
    pointer = read_pointer(ctx, layout)
    published = published_quarters(ctx, layout, pointer)
    current = published.get(label)
    check_not_older(ctx, layout, run_id, report, current, force=force)
    entry = {
        "run_id": run_id,
        "prefix": layout.run_uri(run_id),
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "promoted_by": by,
        "previous_run_id": _previous(current, run_id),
    }
    updated = dict(published) | {label: entry}
    check_manifest_limits(ctx, pipeline, layout, updated)
    document = {
        "format_version": POINTER_FORMAT,
        "quarters": {q: updated[q] for q in sorted(updated)},
        "updated_at": entry["promoted_at"],
        "updated_by": by,
    }
    _put_json(ctx, layout.bucket, layout.pointer_key, document)
    converge(ctx, pipeline, layout, updated, warn=warn)
    return entry | {"quarter": label}


def check_not_older(ctx: AwsContext, layout: Layout, run_id: str, report: dict[str, Any],
                    current: dict[str, Any] | None, *, force: bool) -> None:  # fmt: skip
    """PublishError when `run_id` is older than `current`, the published run of its quarter (a rollback),
    and not `force`. `promote` checks it before it asks and again under the lock."""
    label = report_quarter(report) or "?"
    if (
        current is not None
        and not force
        and str(current["run_id"]) != run_id
        and _started(ctx, layout, current) > (report.get("started_at") or "")
    ):
        raise PublishError(
            f"run {run_id} of {label} is older than the published run {current['run_id']} of {label}: nothing "
            "was published",
            hint=f"to roll {label} back to it anyway: {command('promote', '--force', run_id)}",
        )


def unpublish_check(ctx: AwsContext, layout: Layout, label: str) -> dict[str, Any]:
    """What is published, when `label` is among it; else PublishError."""
    published = published_quarters(ctx, layout)
    if label not in published:
        shown = ", ".join(sorted(published)) or "none"
        raise PublishError(
            f"quarter {label} is not published (published: {shown}): nothing was changed",
            hint=f"`{command('history')}` shows which run of which quarter is published",
        )
    return published


def unpublish(ctx: AwsContext, pipeline: Pipeline, layout: Layout, label: str, *, by: str,
              warn: Warn = _log_warning) -> dict[str, Any]:  # fmt: skip
    """Withdraw quarter `label`: the pointer first (one PUT: the truth), then the derived manifest. The
    run's data stays (`promote` publishes it again). When no quarter is left, the manifest is deleted: it
    would otherwise keep naming the withdrawn data. Returns the withdrawn pointer entry, with `quarter`.
    Call under the pipeline lock."""
    published = unpublish_check(ctx, layout, label)
    entry: dict[str, Any] = dict(published[label])
    left = {q: e for q, e in published.items() if q != label}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    document = {"format_version": POINTER_FORMAT, "quarters": {q: left[q] for q in sorted(left)},
                "updated_at": now, "updated_by": by}  # fmt: skip
    _put_json(ctx, layout.bucket, layout.pointer_key, document)
    converge(ctx, pipeline, layout, warn=warn)
    return entry | {"quarter": label}


def _previous(current: dict[str, Any] | None, run_id: str) -> str | None:
    """The rollback chain's next link: the run this promotion replaces. Promoting the run that is already
    published keeps its link, never pointing at itself (that would break the chain)."""
    if current is None:
        return None
    if str(current["run_id"]) == run_id:
        previous = current.get("previous_run_id")
        return None if previous is None else str(previous)
    return str(current["run_id"])


def _started(ctx: AwsContext, layout: Layout, entry: dict[str, Any]) -> str:
    report = read_report(ctx, layout, str(entry["run_id"])) or {}
    return str(report.get("started_at") or "")


def list_run_ids(ctx: AwsContext, layout: Layout) -> list[str]:
    ids: list[str] = []
    try:
        pages = ctx.pages("s3", "list_objects_v2", Bucket=layout.bucket, Prefix=reserved.runs_prefix(layout.base_key),
                          Delimiter="/")  # fmt: skip
    except NotFoundError as exc:
        raise missing_bucket(exc, layout.bucket, "listing the runs") from exc
    for page in pages:
        for common in page.get("CommonPrefixes", []):
            ids.append(common["Prefix"].rstrip("/").rsplit("/", 1)[-1])
    return sorted(ids)


def history(ctx: AwsContext, layout: Layout) -> list[dict[str, Any]]:
    """One row per run, oldest first, from the reports and gate verdicts in S3."""
    published = published_run_ids(ctx, layout)
    rows = []
    for run_id in list_run_ids(ctx, layout):
        report = read_report(ctx, layout, run_id) or {}
        gate = read_gate(ctx, layout, run_id)
        rows.append({
            "run_id": run_id,
            "quarter": report_quarter(report),
            "started_at": report.get("started_at"),
            "duration_seconds": report.get("duration_seconds"),
            "rows_read": report.get("rows_read"),
            "rows_valid": report.get("rows_valid"),
            "rows_quarantined": report.get("rows_rejected"),
            "gate": None if gate is None else ("passed" if gate.get("passed") else "failed"),
            "gate_failures": [] if gate is None else gate.get("failures", []),
            "published": run_id in published,
            "complete": bool(report),
        })  # fmt: skip
    return rows


def apply_retention(ctx: AwsContext, layout: Layout, keep_quarters: int, *, now: datetime | None = None) -> list[str]:
    """Remove unpublished runs older than `keep_quarters` quarters; never a published one (of any quarter)."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=DAYS_PER_QUARTER * keep_quarters)
    published = published_run_ids(ctx, layout)
    removed = []
    for run_id in list_run_ids(ctx, layout):
        started = run_started(run_id)
        if run_id in published or started is None or started >= cutoff:
            continue
        # The run record (history.RUN_RECORD) stays: the history outlives the data and Glue's own.
        if _delete_prefix(ctx, layout.bucket, layout.run_key(run_id), keep=layout.run_key(run_id, RUN_RECORD)):
            removed.append(run_id)
    return removed


def _delete_prefix(ctx: AwsContext, bucket: str, prefix: str, keep: str | None = None) -> int:
    deleted = 0
    for page in ctx.pages("s3", "list_objects_v2", Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", []) if o["Key"] != keep]
        deleted += len(keys)
        delete_objects_checked(ctx, bucket, keys)  # per-key Errors are failures too
    return deleted
