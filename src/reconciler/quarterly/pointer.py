"""The publish pointer and what a run leaves beside its data in S3: its report and its gate verdict, read and
written as JSON (docs/publishing.md). Apart from publishing (publish.py) and the manifest it implies
(converge.py) because both, the gate and the history read these and nothing more.

The pointer (`_published.json` under the job's output path) is the one truth of what is published:

    {"format_version": 2, "quarters": {"2026-Q3": {"run_id", "prefix", "promoted_at", "promoted_by",
                                                   "previous_run_id"}, ...}, "updated_at", "updated_by"}

(the format-1 pointer, `{"run_id", "prefix", ...}` naming one run, is still read: as that run's quarter).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.aws.visible import read_listed
from reconciler.errors import NotFoundError
from reconciler.spec import reserved
from reconciler.spec.layout import Layout

# The pointer's and the run prefixes' names are stated once, in spec/reserved.py (validation reads them).
POINTER = reserved.POINTER
POINTER_FORMAT = 2
GATE = "_gate.json"
RUN_RECORD = "_run.json"  # the run's history record, written by quarterly/history.py
REPORT = "reports/run_report.json"


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
    again (WRITTEN_404_DELAYS) before it is believed. Otherwise a 404 is believed once a listing does not
    show the key (aws/visible.py: an object S3 lists is read again, bounded)."""
    if not written:
        answer = read_listed(ctx, bucket, key)
        return None if answer is None else _loaded(answer["Body"].read())
    pending, call = list(delays), ctx.call
    while True:
        try:
            body = call("s3", "get_object", Bucket=bucket, Key=key)["Body"].read()
            break
        except NotFoundError:
            if not pending:
                return None
            time.sleep(pending.pop(0))
            call = ctx.call_fresh  # a shared read (AwsContext.shared_reads) would repeat the 404
    return _loaded(body)


def _loaded(body: bytes) -> dict[str, Any] | None:
    try:
        loaded = json.loads(body)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def put_json(ctx: AwsContext, bucket: str, key: str, document: dict[str, Any]) -> None:
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
    put_json(ctx, layout.bucket, layout.run_key(run_id, GATE), verdict)
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
