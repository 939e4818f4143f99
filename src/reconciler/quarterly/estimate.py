"""The expected cost of the next quarterly run, for the end of `plan` (and `plan --json`'s `cost_estimate`).

It is an estimate, and says what it rests on:
- **The job**: the declared workers x the worker type's DPUs x the median billed duration (`ExecutionTime`,
  at least Glue's 1-minute minimum) of the job's last successful runs in our own history (the run records,
  quarterly/history.py: at most HISTORY_RUNS of them). Without such a run, the job's timeout (declared, or
  AWS's default for its Glue version: resources/job.py `default_timeout`) is the upper bound.
- **Each crawler**: the median DPU-hours of its past crawls in the same records, at least the crawler's
  10-minute minimum; without history, that minimum (the AWS Glue pricing page bills crawlers per DPU-hour
  with a 10-minute minimum per crawl).
- **S3 storage per month**: the raw data (the upload sources of the job's input prefix, sized on this
  machine: what apply puts in the bucket) and the published data (every object under each published
  quarter's run prefix) at the S3 Standard price per GB-month.
Prices: `prices.json`, the same dated table `history` prices past runs with: the region's own figures from
one dated copy of AWS's prices (its `source` and `as_of`; the S3 figure carries its own `source`, `as_of`
and `note`). A figure the region's copy lacks is **unpriced** ("unpriced in <region>: price list dated
<as_of> has no entry"), listed in `unpriced` and left out of the totals: never another region's figure.
Requests, data transfer, the Glue Data Catalog and CloudWatch Logs are not included.

**Workers** (quarterly/sizing.py): whether the job's workers are far too many or too few for the newest
quarter of raw data the plan sees, with the recommended `number_of_workers` and `worker_type`; one warning
line, an estimate, never a gate.

AWS calls it adds to a plan: one LIST of the runs prefix (a page per 1,000 runs), at most HISTORY_RUNS GETs of
run records, the GET of the pointer, one LIST page per published quarter (per 1,000 objects), and one LIST
page of the job's input prefix per 1,000 raw objects (the workers check). Nothing
here fails a plan: any error gives `{"available": false, "reason": ...}` ("estimate unavailable: reason").
"""

from __future__ import annotations

import statistics
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.errors import NotFoundError, ReconcilerError
from reconciler.quarterly import history, pointer, pricing, publish, quarters, sizing
from reconciler.resources import upload
from reconciler.resources.job import default_timeout
from reconciler.spec.model import Pipeline

__all__ = ["HISTORY_RUNS", "cost_estimate", "estimate_lines"]

#: how many of the newest run records the median looks at
HISTORY_RUNS = 8
GB = 1024**3


def cost_estimate(pipeline: Pipeline, ctx: AwsContext) -> dict[str, Any]:
    """The estimate as a JSON-able dict; never raises for a read error (available: false, reason)."""
    try:
        return _estimate(pipeline, ctx)
    except ReconcilerError as exc:
        return {"available": False, "reason": exc.message}
    except Exception as exc:  # an estimate must never be what fails a plan
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}


def _records(ctx: AwsContext, layout: publish.Layout) -> list[dict[str, Any]]:
    """The newest HISTORY_RUNS run records, newest first; none before the bucket exists."""
    try:
        run_ids = publish.list_run_ids(ctx, layout)
    except ReconcilerError as exc:
        if isinstance(exc.__cause__, NotFoundError):
            return []  # no bucket yet: the first apply creates it
        raise
    records = []
    for run_id in sorted(run_ids, reverse=True)[:HISTORY_RUNS]:
        record = history.read_record(ctx, layout, run_id)
        if record:
            records.append(record)
    return records


def _job_part(pipeline: Pipeline, job_name: str, records: list[dict[str, Any]], prices: dict[str, float],
              minimum: dict[str, float]) -> dict[str, Any]:  # fmt: skip
    job = next(j for j in pipeline.jobs if j.name == job_name)
    unpriced = pricing.unpriced_reason(job.worker_type)
    if unpriced is None and "etl_job_dpu_hour" not in prices:
        unpriced = "job " + pricing.missing_price(pipeline.region)
    dpus = 0.0 if unpriced else job.number_of_workers * float(pricing.price_table()["worker_dpu"][job.worker_type])
    past = [
        float(r["job_run"]["execution_seconds"])
        for r in records
        if r.get("job") == job_name and isinstance(r.get("job_run"), dict)
        and r["job_run"].get("state") == "SUCCEEDED" and r["job_run"].get("execution_seconds") is not None
    ]  # fmt: skip
    if past:
        seconds = statistics.median(past)
        basis = f"median of the last {len(past)} successful run(s) in history"
    else:
        timeout = job.timeout_minutes or default_timeout({"glue_version": job.glue_version})
        seconds = timeout * 60.0
        basis = f"no successful run in history: the job's timeout ({timeout} min) as the upper bound"
    billed = max(seconds, float(minimum["etl_job"]))
    dpu_hours = dpus * billed / 3600
    return {"name": job_name, "worker_type": job.worker_type, "workers": job.number_of_workers, "dpus": dpus,
            "seconds": round(billed, 1), "basis": basis, "history_runs": len(past),
            "dpu_hours": None if unpriced else round(dpu_hours, 4),
            "usd": None if unpriced else round(dpu_hours * prices["etl_job_dpu_hour"], 4),
            "unpriced": unpriced, "upper_bound": not past}  # fmt: skip


def _crawler_parts(names: list[str], records: list[dict[str, Any]], prices: dict[str, float],
                   minimum: dict[str, float], region: str) -> list[dict[str, Any]]:  # fmt: skip
    floor = float(minimum["crawler"]) / 3600
    parts = []
    for name in names:
        past = [
            float(c["dpu_hours"])
            for r in records
            for c in r.get("crawls") or []
            if isinstance(c, dict) and c.get("crawler") == name and c.get("dpu_hours") is not None
        ]
        if past:
            hours = max(statistics.median(past), floor)
            basis = f"median of {len(past)} past crawl(s), at least the 10-minute minimum"
        else:
            hours = floor
            basis = "the crawler's 10-minute minimum (no crawl in history)"
        rate = prices.get("crawler_dpu_hour")
        unpriced = None if rate is not None else "crawler " + pricing.missing_price(region)
        parts.append({"name": name, "dpu_hours": round(hours, 4), "basis": basis,
                      "usd": None if rate is None else round(hours * rate, 4), "unpriced": unpriced})  # fmt: skip
    return parts


def _raw_bytes(pipeline: Pipeline, job_name: str) -> int:
    """Bytes of the upload sources under the job's input prefix (all uploads when it has none in the bucket)."""
    location = quarters.input_location(pipeline, job_name)
    prefix = location[1] if location is not None and location[0] == pipeline.bucket.name else ""
    total = 0
    for entry in pipeline.uploads:
        for key, path in upload.local_files(entry).items():
            if key.startswith(prefix):
                total += path.stat().st_size
    return total


def _published_bytes(ctx: AwsContext, layout: publish.Layout) -> tuple[int, int]:
    """(bytes, quarters) of the published runs' prefixes; (0, 0) before the bucket exists."""
    try:
        published = pointer.published_quarters(ctx, layout)
    except NotFoundError:
        return 0, 0
    total = 0
    for entry in published.values():
        prefix = layout.run_key(str(entry["run_id"]))
        for page in ctx.pages("s3", "list_objects_v2", Bucket=layout.bucket, Prefix=prefix):
            total += sum(int(o.get("Size") or 0) for o in page.get("Contents", []))
    return total, len(published)


def _estimate(pipeline: Pipeline, ctx: AwsContext) -> dict[str, Any]:
    if not pipeline.jobs:
        return {"available": False, "reason": "the spec declares no job"}
    table = pricing.price_table()
    prices, copy = pricing.region_prices(pipeline.region), pricing.region_copy(pipeline.region)
    minimum = table["minimum_seconds"]
    layout = publish.Layout.of(pipeline)
    job_name = pipeline.schedule.job if pipeline.schedule else pipeline.jobs[0].name
    crawlers = [pipeline.schedule.crawler] if pipeline.schedule else [c.name for c in pipeline.crawlers]
    records = _records(ctx, layout)
    job = _job_part(pipeline, job_name, records, prices, minimum)
    crawls = _crawler_parts(crawlers, records, prices, minimum, pipeline.region)
    raw = _raw_bytes(pipeline, job_name)
    published, published_quarters = _published_bytes(ctx, layout)
    storage_price = prices.get("s3_standard_gb_month")
    s3_note = table.get("s3_storage", {})
    storage: dict[str, Any] = {
        "raw_bytes": raw, "published_bytes": published, "published_quarters": published_quarters,
        "gb": round((raw + published) / GB, 6), "price_gb_month": storage_price,
        "usd_per_month": None if storage_price is None else round((raw + published) / GB * storage_price, 4),
        "source": s3_note.get("source"), "as_of": s3_note.get("as_of"), "note": s3_note.get("note"),
        "unpriced": None if storage_price is not None else "S3 storage " + pricing.missing_price(pipeline.region),
    }  # fmt: skip
    run_usd = round((job["usd"] or 0.0) + sum(c["usd"] or 0.0 for c in crawls), 4)
    unpriced = [part["unpriced"] for part in (job, *crawls, storage) if part.get("unpriced")]
    return {
        "available": True,
        "estimate": True,
        "basis": "an estimate, not a bill: workers x the median duration of past runs (or the timeout), crawlers "
        "at their history or 10-minute minimum, S3 Standard storage of raw and published data; requests, "
        "transfer, the Data Catalog and logs are not included",
        "currency": table["currency"], "region": pipeline.region, "priced_as": pipeline.region,
        "prices_as_of": copy["as_of"], "source": copy["source"],
        "job": job, "crawlers": crawls, "storage": storage,
        "run_usd": run_usd, "storage_usd_per_month": storage["usd_per_month"],
        "unpriced": unpriced, "workers": sizing.workers_check(pipeline, ctx, job_name),
    }  # fmt: skip


def _size(n: int) -> str:
    for unit, scale in (("GB", GB), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def estimate_lines(estimate: dict[str, Any]) -> list[str]:
    """What `plan` prints at its end, plain text."""
    if not estimate.get("available"):
        return [f"Cost estimate: estimate unavailable: {estimate.get('reason')}"]
    job, storage = estimate["job"], estimate["storage"]
    lines = [
        f"Cost estimate of the next quarterly run (an estimate, not a bill; {estimate['region']} prices of "
        f"{estimate['prices_as_of']}, {estimate['source']}):",
        f"  job {job['name']}: {job['workers']} x {job['worker_type']} = {job['dpus']:g} DPU x "
        f"{job['seconds'] / 60:.1f} min = {job['dpu_hours']:g} DPU-h, ${job['usd']:.4f} "
        f"{'(upper bound) ' if job['upper_bound'] else ''}({job['basis']})"
        if not job.get("unpriced") else
        f"  job {job['name']}: {job['workers']} x {job['worker_type']}, {job['seconds'] / 60:.1f} min: "
        f"{_unpriced(job['unpriced'])}; the per-run total leaves it out",
    ]
    lines += [f"  crawler {c['name']}: {c['dpu_hours']:g} DPU-h, ${c['usd']:.4f} ({c['basis']})"
              if c.get("usd") is not None else
              f"  crawler {c['name']}: {c['dpu_hours']:g} DPU-h, {_unpriced(c['unpriced'])}; the per-run total "
              f"leaves it out" for c in estimate["crawlers"]]  # fmt: skip
    per_month = storage["usd_per_month"]
    lines.append(
        f"  S3 storage: raw {_size(storage['raw_bytes'])} + published {_size(storage['published_bytes'])} "
        f"({storage['published_quarters']} quarter(s)) = "
        + (f"${per_month:.4f} per month" if per_month is not None else _unpriced(storage["unpriced"]))
    )
    lines.append(f"  per run ${estimate['run_usd']:.4f}"
                 + (f", storage ${per_month:.4f} per month" if per_month is not None else "")
                 + (f" ({len(estimate['unpriced'])} part(s) unpriced)" if estimate["unpriced"] else ""))  # fmt: skip
    warning = sizing.workers_line(estimate.get("workers") or {})
    if warning:
        lines.append(warning)
    return lines


def _unpriced(reason: str) -> str:
    """`crawler unpriced in X: ...` -> `unpriced in X: ...` (the line already names the part)."""
    return reason[reason.index("unpriced"):] if "unpriced" in reason else f"unpriced ({reason})"
