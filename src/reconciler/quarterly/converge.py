"""What the publish pointer implies, converged: the QuickSight manifest in S3 (one URIPrefix per published
quarter) and its local copy, checked against QuickSight's manifest limits (docs/publishing.md). Apart from
publish.py because `run`, `promote` and `apply` all converge, and a crash between the pointer PUT and the
manifest PUT is repaired by the next of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.aws.visible import read_listed
from reconciler.errors import NotFoundError, PublishError
from reconciler.quarterly.pointer import published_quarters, read_pointer
from reconciler.spec.layout import Layout
from reconciler.spec.model import Pipeline, QuickSight

#: QuickSight user guide, "Supported formats for Amazon S3 manifest files": no file above 1 GB, at most
#: 10 GB and 1,000 files in all that one manifest names.
MANIFEST_MAX_FILES = 1000
MANIFEST_MAX_FILE_BYTES = 1024**3
MANIFEST_MAX_TOTAL_BYTES = 10 * 1024**3


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
    from reconciler.spec.manifest import manifest_for_prefixes

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


def log_warning(message: str) -> None:
    logging.getLogger(__name__).warning("%s", message)


def converge(ctx: AwsContext, pipeline: Pipeline, layout: Layout, published: dict[str, Any] | None = None,
             *, warn: Warn = log_warning) -> bool:  # fmt: skip
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
        if (
            read_listed(
                ctx, layout.bucket, manifest.key, operation="head_object", doing="reading the QuickSight manifest"
            )
            is None
        ):
            return False
        ctx.call("s3", "delete_object", Bucket=layout.bucket, Key=manifest.key)
        return True
    if document is None:
        return False  # nothing published yet: a manifest a person put there is left alone
    from reconciler.spec.manifest import manifest_text

    text = manifest_text(document)
    answer = read_listed(ctx, layout.bucket, manifest.key, doing="reading the QuickSight manifest")
    current = None if answer is None else answer["Body"].read()
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
    from reconciler.spec.manifest import manifest_text, write_manifest

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
        from reconciler.spec.manifest import manifest_text

        answer = read_listed(ctx, layout.bucket, manifest.key, doing="reading the QuickSight manifest")
    except PublishError:
        return False
    if answer is None:
        return True  # published, but no manifest (or no bucket: then the lock says so)
    return bool(answer["Body"].read() != manifest_text(document).encode())


def converge_if_possible(ctx: AwsContext, pipeline: Pipeline, *, warn: Warn = log_warning) -> bool:
    """`converge` for a pipeline that may have no output path or no bucket yet (apply on a fresh account)."""
    try:
        layout = Layout.of(pipeline)
    except PublishError:
        return False
    try:
        return converge(ctx, pipeline, layout, warn=warn)
    except NotFoundError:
        return False  # the bucket does not exist: nothing is published
