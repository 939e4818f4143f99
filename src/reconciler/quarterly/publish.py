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
afterwards, and again by every `run`, `promote` and `apply` (converge.py): a crash between the pointer PUT
and the manifest PUT is repaired by the next command, and a reader of the pointer never sees a mix.
Each PUT is atomic and the cost is the same at 1M rows and at 1B. Rolling back is promoting an earlier
run of the quarter (`--force`: it is older than the published one).
The pointer's reads and writes are pointer.py, the gate's rules gate.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.aws.lock import missing_bucket
from reconciler.errors import NotFoundError, PublishError
from reconciler.invocation import command
from reconciler.quarterly.converge import Warn, check_manifest_limits, converge, log_warning
from reconciler.quarterly.pointer import (
    POINTER_FORMAT,
    REPORT,
    RUN_RECORD,
    published_quarters,
    published_run_ids,
    put_json,
    read_gate,
    read_pointer,
    read_report,
    report_quarter,
)
from reconciler.resources.base import delete_objects_checked
from reconciler.spec import reserved
from reconciler.spec.layout import Layout as Layout  # re-exported: run, history and the tests use publish.Layout
from reconciler.spec.model import Pipeline

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


def promote(ctx: AwsContext, pipeline: Pipeline, layout: Layout, run_id: str, *, by: str,
            force: bool = False, warn: Warn = log_warning) -> dict[str, Any]:  # fmt: skip
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
    put_json(ctx, layout.bucket, layout.pointer_key, document)
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
              warn: Warn = log_warning) -> dict[str, Any]:  # fmt: skip
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
    put_json(ctx, layout.bucket, layout.pointer_key, document)
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
