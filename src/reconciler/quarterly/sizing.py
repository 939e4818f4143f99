"""Whether the spec's Glue workers fit the data the plan sees: the workers check at the end of `plan`.

An estimate, never a gate: it is one line of the plan's cost estimate (quarterly/estimate.py) and never
changes what apply does or the plan's exit code.

**The data.** The raw bytes of one quarter under the job's `--input_path`, without reading them: the sizes
ListObjectsV2 reports for the objects in the bucket (one LIST page per 1,000 objects) and the sizes on this
machine of the upload sources apply puts there (a local file replaces the bucket's object of the same key).
Keys group by their `ingest_quarter=YYYY-QN/` folder (quarters.folder); the quarter checked is the newest one
seen, the one the next run normally processes; without any quarter folder, the whole prefix.

**The model** (docs/cost-estimate.md, "Workers"; docs/performance.md section 7):
- rows = bytes / ROW_BYTES (the example's CSV: 1,000,000 rows are 27.5 MB);
- the job's work is rows / ROWS_PER_CORE_SECOND core-seconds (the local job's measured throughput on 2
  cores at 10M rows, 66,615 rows/s, is about 33,000 rows per second per core);
- on Glue every worker has VCPUS_PER_DPU vCPUs per DPU and one executor (botocore's Glue model, CreateJob
  WorkerType: "For the G.1X worker type, each worker maps to 1 DPU (4 vCPUs, 16 GB of memory) with 94GB disk,
  and provides 1 executor per worker"; G.2X 2 DPU and 8 vCPUs; AWS Glue Developer Guide, "Configuring job
  properties for Spark jobs", section "Defining job properties for Spark jobs", Worker type:
  https://docs.aws.amazon.com/glue/latest/dg/add-job.html), and one worker runs the driver, so N workers of
  D DPUs give 4 x D x (N - 1) executor cores;
- a run takes START_UP_SECONDS + work / cores, and is billed workers x DPUs x at least the 1-minute minimum
  (prices.json `minimum_seconds`);
- the DPU-seconds are lowest at N = 1 + sqrt(work / (4 x START_UP_SECONDS)) workers of G.1X (the start-up
  and the driver's worker against the executors' speed-up), at least 2 (a driver and one executor): 2 up to
  about 10M rows, 3 to 5 from 10M to 50M, 7 at 100M.
The spec's workers are "far too many" above max(2 x recommended, recommended + 3) DPUs, "far too few" below
half the recommended DPUs; in between the difference is within what the model can tell apart.
"""

from __future__ import annotations

import math
import re
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.errors import NotFoundError, ReconcilerError
from reconciler.quarterly import pricing, quarters
from reconciler.resources import upload
from reconciler.spec.model import Pipeline

__all__ = ["ROWS_PER_CORE_SECOND", "ROW_BYTES", "START_UP_SECONDS", "recommend", "workers_check", "workers_line"]

#: bytes of raw CSV per row (docs/performance.md: the 1M-row data set is 27.5 MB, 10M rows 275 MB)
ROW_BYTES = 27.5
#: the job's throughput per executor core (docs/performance.md section 6: 66,615 rows/s on 2 cores at 10M)
ROWS_PER_CORE_SECOND = 33_000
#: Spark start-up on Glue, assumed (not measured here)
START_UP_SECONDS = 20.0
#: vCPUs per DPU (AWS Glue Developer Guide, worker types: 1 DPU = 4 vCPUs and 16 GB of memory)
VCPUS_PER_DPU = 4
#: the worker type the recommendation uses: bigger workers buy nothing for this job (docs/performance.md)
RECOMMENDED_TYPE = "G.1X"
MINIMUM_WORKERS = 2
QUARTER_FOLDER = re.compile(r"^ingest_quarter=(?P<label>[0-9]{4}-Q[1-4])/")
GB = 1024**3


def _job_seconds(work: float, workers: int, dpu: float) -> float:
    cores = VCPUS_PER_DPU * dpu * max(workers - 1, 1)
    return START_UP_SECONDS + work / cores


def _run(work: float, workers: int, dpu: float) -> dict[str, float]:
    seconds = _job_seconds(work, workers, dpu)
    billed = max(seconds, float(pricing.price_table()["minimum_seconds"]["etl_job"]))
    return {"seconds": round(seconds, 1), "dpu_seconds": round(workers * dpu * billed, 1)}


def recommend(raw_bytes: int) -> dict[str, Any]:
    """The recommended G.1X workers for a quarter of `raw_bytes`, with the model's figures."""
    rows = raw_bytes / ROW_BYTES
    work = rows / ROWS_PER_CORE_SECOND
    workers = max(MINIMUM_WORKERS, round(1 + math.sqrt(work / (VCPUS_PER_DPU * START_UP_SECONDS))))
    return {"rows": round(rows), "work_core_seconds": round(work, 1), "worker_type": RECOMMENDED_TYPE,
            "number_of_workers": workers, **_run(work, workers, 1.0)}  # fmt: skip


def _quarter_of(key: str, prefix: str) -> str:
    match = QUARTER_FOLDER.match(key[len(prefix) :])
    return match["label"] if match else ""


def _sizes(pipeline: Pipeline, ctx: AwsContext, bucket: str, prefix: str) -> dict[str, int]:
    """Bytes per key under `prefix`: the bucket's listing, then the upload sources over it."""
    sizes: dict[str, int] = {}
    try:
        for page in ctx.pages("s3", "list_objects_v2", Bucket=bucket, Prefix=prefix):
            sizes.update({str(o["Key"]): int(o.get("Size") or 0) for o in page.get("Contents", [])})
    except NotFoundError:
        pass  # no bucket yet: what apply will upload is all there is
    if bucket == pipeline.bucket.name:
        for entry in pipeline.uploads:
            for key, path in upload.local_files(entry).items():
                if key.startswith(prefix):
                    sizes[key] = path.stat().st_size
    return sizes


def workers_check(pipeline: Pipeline, ctx: AwsContext, job_name: str) -> dict[str, Any]:
    """The check as a JSON-able dict: `verdict` "too many", "too few" or "ok", with the figures it rests on;
    {"available": False, "reason": ...} when it cannot be made (it never raises for a read error)."""
    try:
        return _check(pipeline, ctx, job_name)
    except ReconcilerError as exc:
        return {"available": False, "reason": exc.message}
    except Exception as exc:  # the check must never be what fails a plan
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}


def _check(pipeline: Pipeline, ctx: AwsContext, job_name: str) -> dict[str, Any]:
    job = next(j for j in pipeline.jobs if j.name == job_name)
    dpu_table: dict[str, float] = pricing.price_table()["worker_dpu"]
    if job.worker_type not in dpu_table:
        return {"available": False, "reason": f"worker type {job.worker_type} has no DPU figure in prices.json"}
    location = quarters.input_location(pipeline, job_name)
    if location is None:
        return {"available": False, "reason": f"job {job_name} has no s3:// --input_path"}
    bucket, prefix = location
    by_quarter: dict[str, int] = {}
    for key, size in _sizes(pipeline, ctx, bucket, prefix).items():
        label = _quarter_of(key, prefix)
        by_quarter[label] = by_quarter.get(label, 0) + size
    if not by_quarter:
        return {"available": False, "reason": f"no raw data under s3://{bucket}/{prefix} nor in the uploads"}
    dated = sorted(label for label in by_quarter if label)
    quarter = dated[-1] if dated else ""
    raw = by_quarter[quarter] if dated else sum(by_quarter.values())
    recommended = recommend(raw)
    dpu = float(dpu_table[job.worker_type])
    spec_dpus, best = job.number_of_workers * dpu, float(recommended["number_of_workers"])
    if spec_dpus > max(2 * best, best + 3):
        verdict = "too many"
    elif spec_dpus < best / 2:
        verdict = "too few"
    else:
        verdict = "ok"
    spec_run = _run(recommended["work_core_seconds"], job.number_of_workers, dpu)
    return {"available": True, "estimate": True, "job": job_name, "quarter": quarter or None,
            "location": f"s3://{bucket}/{prefix}" + (quarters.folder(quarter) if quarter else ""),
            "raw_bytes": raw, "verdict": verdict,
            "spec": {"worker_type": job.worker_type, "number_of_workers": job.number_of_workers, **spec_run},
            "recommended": recommended}  # fmt: skip


def _size(n: int) -> str:
    for unit, scale in (("GB", GB), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def workers_line(check: dict[str, Any]) -> str | None:
    """The plan's one line when the workers are far off (None when they fit, or the check was not made)."""
    if not check.get("available") or check.get("verdict") == "ok":
        return None
    spec, best = check["spec"], check["recommended"]
    data = f"quarter {check['quarter']}'s" if check.get("quarter") else "the"
    return (
        f"Warning: workers far {check['verdict']} (an estimate): {spec['number_of_workers']} x {spec['worker_type']}"
        f" for {data} {_size(check['raw_bytes'])} of raw data (about {best['rows']:,} rows) takes about "
        f"{spec['seconds']:,.0f} s and {spec['dpu_seconds']:,.0f} DPU-seconds a run; {best['number_of_workers']} x "
        f"{best['worker_type']} about {best['seconds']:,.0f} s and {best['dpu_seconds']:,.0f} DPU-seconds. "
        f"Recommended: number_of_workers: {best['number_of_workers']}, worker_type: {best['worker_type']} "
        f"(docs/cost-estimate.md); apply is not blocked."
    )
