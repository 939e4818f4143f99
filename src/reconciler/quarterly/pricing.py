"""What a run costs: the job run's DPU-seconds and the crawl's DPU-hours, priced with the dated table
`prices.json` beside this module (each region's figures from one dated copy of AWS's prices, with the minimums;
a figure the copy lacks is unpriced, never borrowed from another region). Apart from the run record
(history.py), which stores the result, because the cost estimate (estimate.py) prices runs that have no record.

Job runs: GetJobRun `DPUSeconds` when Glue reports it (Flex and auto-scaling runs), else `ExecutionTime` x
workers x the worker type's DPUs; crawls: ListCrawls' `DPUHour`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PRICES = Path(__file__).with_name("prices.json")



@cache
def price_table() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PRICES.read_text(encoding="utf-8"))
    return loaded


def region_copy(region: str) -> dict[str, str]:
    """The dated copy `region`'s prices come from (prices.json `copies`): {"name", "source", "as_of", "note"};
    for a region the table has no entry for, `default_copy` (the copy that was searched and lacks it)."""
    table = price_table()
    entry = table["regions"].get(region)
    name = str(entry["copy"] if entry else table["default_copy"])
    return {"name": name, **table["copies"][name]}


def region_prices(region: str) -> dict[str, float]:
    """`region`'s own figures (etl_job_dpu_hour, flex_job_dpu_hour, crawler_dpu_hour, s3_standard_gb_month: any
    may be missing); {} for a region the table has no entry for. Never another region's figures."""
    entry = price_table()["regions"].get(region)
    return dict(entry["prices"]) if entry else {}


def missing_price(region: str) -> str:
    """Why a figure of `region` is unpriced: its copy, dated, has no entry for it."""
    return f"unpriced in {region}: price list dated {region_copy(region)['as_of']} has no entry"


def unpriced_reason(worker_type: str | None) -> str | None:
    """None when `worker_type` (None: G.1X, Glue's default) has a DPU figure in prices.json; else why it is
    unpriced: prices.json `worker_unpriced` (R.* are M-DPU, Graviton types have no published DPU figure), or
    "unknown worker type" for one botocore's WorkerType enum gained after this table. Never 1 DPU by default."""
    table = price_table()
    kind = worker_type or "G.1X"
    if kind in table["worker_dpu"]:
        return None
    known: dict[str, str] = table.get("worker_unpriced", {})
    return f"worker type {kind}: " + known.get(kind, "unknown worker type, not in prices.json")


def job_dpus(job_run: dict[str, Any]) -> float | None:
    """The DPUs a job run ran on: workers x the worker type's DPUs (G.1X when none is given), else MaxCapacity;
    None for a worker type prices.json does not price (unpriced_reason)."""
    worker_dpu: dict[str, float] = price_table()["worker_dpu"]
    workers = job_run.get("NumberOfWorkers")
    if workers:
        kind = str(job_run.get("WorkerType") or "G.1X")
        return float(workers) * float(worker_dpu[kind]) if kind in worker_dpu else None
    return float(job_run.get("MaxCapacity") or job_run.get("AllocatedCapacity") or 0)


def job_dpu_seconds(job_run: dict[str, Any]) -> tuple[float | None, bool]:
    """(DPU-seconds, reported by Glue): `DPUSeconds` when present, else ExecutionTime x DPUs (None: unpriced)."""
    if job_run.get("DPUSeconds"):
        return float(job_run["DPUSeconds"]), True
    dpus = job_dpus(job_run)
    return (None if dpus is None else float(job_run.get("ExecutionTime") or 0) * dpus), False


def cost(region: str, job_run: dict[str, Any] | None, crawl_dpu_hours: float | None) -> dict[str, Any]:
    """The run's cost in USD at `region`'s own prices, with each figure it came from; a figure the region's
    dated copy lacks is unpriced (`job_unpriced`, `crawl_unpriced`: missing_price) and left out of the total."""
    prices = region_prices(region)
    copy = region_copy(region)
    table = price_table()
    minimum = table["minimum_seconds"]
    result: dict[str, Any] = {"currency": table["currency"], "region": region, "priced_as": region,
                              "prices_as_of": copy["as_of"], "source": copy["source"]}  # fmt: skip
    total = 0.0
    unpriced = unpriced_reason(job_run.get("WorkerType")) if job_run is not None and job_run.get(
        "NumberOfWorkers") else None  # fmt: skip
    flex = job_run is not None and job_run.get("ExecutionClass") == "FLEX"
    rate = prices.get("flex_job_dpu_hour" if flex else "etl_job_dpu_hour")
    if job_run is not None and unpriced is None and rate is None:
        unpriced = ("Flex job " if flex else "job ") + missing_price(region)
    if job_run is not None and unpriced is not None:
        result |= {"job_usd": None, "job_unpriced": unpriced}
    elif job_run is not None and rate is not None:
        dpu_seconds, reported = job_dpu_seconds(job_run)
        assert dpu_seconds is not None  # priced: job_dpus has a figure
        execution = float(job_run.get("ExecutionTime") or 0)
        if execution < minimum["etl_job"]:  # every job run is billed for at least the minimum duration
            per_second = dpu_seconds / execution if execution > 0 else (job_dpus(job_run) or 0.0)
            dpu_seconds = per_second * minimum["etl_job"]
        job_usd = round(dpu_seconds / 3600 * rate, 4)
        result |= {"job_dpu_seconds": round(dpu_seconds, 1), "job_dpu_seconds_reported": reported,
                   "job_usd": job_usd}  # fmt: skip
        total += job_usd
    if crawl_dpu_hours is not None:
        result["crawl_dpu_hours"] = round(crawl_dpu_hours, 6)
        if "crawler_dpu_hour" in prices:
            crawl_usd = round(crawl_dpu_hours * prices["crawler_dpu_hour"], 4)
            result["crawl_usd"] = crawl_usd
            total += crawl_usd
        else:  # no crawl_usd key: `show` prints the unpriced reason, not $0
            result["crawl_unpriced"] = "crawler " + missing_price(region)
    result["total_usd"] = round(total, 4)
    return result


def describe_cost(cost: dict[str, Any]) -> str:
    """A run record's cost in one line, for `show`: each part priced, or unpriced with the reason (never $0)."""
    priced = "" if cost.get("priced_as") == cost.get("region") else f" (priced as {cost.get('priced_as')})"
    job = f"${cost['job_usd']:.4f}" if cost.get("job_usd") is not None else (
        f"unpriced ({cost['job_unpriced']})" if cost.get("job_unpriced") else "$0.0000")  # fmt: skip
    crawl = f"${cost.get('crawl_usd') or 0:.4f}" if not cost.get("crawl_unpriced") else (
        f"unpriced ({cost['crawl_unpriced']})")  # fmt: skip
    return (f"${cost.get('total_usd', 0):.4f}: job {job}, crawl {crawl}; {cost.get('region')}{priced}, prices of "
            f"{cost.get('prices_as_of')}")  # fmt: skip
