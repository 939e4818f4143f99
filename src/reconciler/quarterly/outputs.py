"""`reconcile outputs [RUN_ID]`: the objects a run wrote (or, without a run id, every published quarter's run),
with sizes, as `s3://` URIs, grouped by output folder (docs/cli.md).

Read-only: one ListObjectsV2 listing (paginated, 1,000 keys a page: S3 API reference, ListObjectsV2) per run,
and the pointer for the published runs. A run's objects are everything under its prefix
`<output_path>runs/<run_id>/` (publish.Layout), which is all the job writes (glue_scripts/car_brands_job.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.errors import PublishError
from reconciler.invocation import command
from reconciler.quarterly import pointer, publish


@dataclass(frozen=True)
class RunOutputs:
    run_id: str
    quarter: str | None  # the quarter it is published for, or None (a run given by id and not published)
    prefix: str  # s3://bucket/<output_path>runs/<run_id>/
    objects: tuple[tuple[str, int], ...]  # (key below the prefix, size in bytes), sorted by key

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.objects)

    def folders(self) -> dict[str, tuple[int, int]]:
        """First path segment (clean, aggregated, quarantine, reports, ...) -> (objects, bytes)."""
        found: dict[str, tuple[int, int]] = {}
        for key, size in self.objects:
            folder = key.split("/", 1)[0] if "/" in key else "."
            count, total = found.get(folder, (0, 0))
            found[folder] = (count + 1, total + size)
        return dict(sorted(found.items()))

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "quarter": self.quarter, "prefix": self.prefix, "total_bytes": self.total_bytes,
            "objects": [{"uri": self.prefix + key, "size": size} for key, size in self.objects],
        }  # fmt: skip


def list_run(ctx: AwsContext, layout: publish.Layout, run_id: str, quarter: str | None) -> RunOutputs:
    key_prefix = layout.run_key(run_id)
    pages = ctx.pages("s3", "list_objects_v2", Bucket=layout.bucket, Prefix=key_prefix)
    objects = sorted(
        (str(o["Key"])[len(key_prefix) :], int(o.get("Size") or 0)) for page in pages for o in page.get("Contents", [])
    )
    return RunOutputs(run_id=run_id, quarter=quarter, prefix=f"s3://{layout.bucket}/{key_prefix}",
                      objects=tuple(objects))  # fmt: skip


def outputs(ctx: AwsContext, layout: publish.Layout, run_id: str | None) -> list[RunOutputs]:
    """The given run's objects, or those of every published quarter's run (oldest quarter first)."""
    published = pointer.published_quarters(ctx, layout)
    if run_id is not None:
        quarter = next((q for q, e in published.items() if str(e["run_id"]) == run_id), None)
        found = list_run(ctx, layout, run_id, quarter)
        if not found.objects:
            raise PublishError(f"run {run_id} has no objects under {found.prefix}",
                               hint=f"`{command('history')}` lists the runs")  # fmt: skip
        return [found]
    if not published:
        raise PublishError(
            f"nothing is published yet (no pointer at s3://{layout.bucket}/{layout.pointer_key})",
            hint=f"`{command('history')}` lists the runs; publish one with `{command('run')}`",
        )
    return [list_run(ctx, layout, str(published[q]["run_id"]), q) for q in sorted(published)]


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # unreachable


def render(runs: list[RunOutputs], *, every_object: bool) -> list[str]:
    """Lines for people: per run its prefix, per folder the count and size; every object with --all."""
    lines: list[str] = []
    for run in runs:
        label = f"{run.quarter} (published)" if run.quarter else "not published"
        lines.append(f"run {run.run_id}  {label}  {len(run.objects)} objects, {human_size(run.total_bytes)}")
        lines.append(f"  {run.prefix}")
        if every_object:
            lines += [f"    {human_size(size):>10}  {run.prefix}{key}" for key, size in run.objects]
        else:
            lines += [f"    {folder + '/':<14} {count:>6} objects {human_size(total):>10}"
                      for folder, (count, total) in run.folders().items()]  # fmt: skip
    return lines
