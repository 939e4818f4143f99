"""Target 5: orchestration latency of `reconcile run` on the local endpoint.

A temporary project (the example spec without its quality gate and QuickSight sections) whose job is a
trivial non-Spark script that writes the run report, so the run measures orchestration, not Spark.
Per run: the gap between the crawl's end (ListCrawls EndTime, server-side) and the job run's StartedOn,
and run's overhead = run wall time minus (crawl duration + job run duration), both server-side.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.common import Endpoint, dummy_credentials, fmt_runs, make_project, median, timed

#: the median overhead of the last measurement, for section 6 to relate to the real job's time
LAST_OVERHEAD: float | None = None

TRIVIAL_JOB = """\
import json, os, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
out = args["--output_path"]
os.makedirs(os.path.join(out, "reports"), exist_ok=True)
report = {"rows_read": 2000, "rows_valid": 2000, "rows_rejected": 0, "duplicates_dropped": 0,
          "brands_seen": [], "quarters": []}
with open(os.path.join(out, "reports", "run_report.json"), "w") as fh:
    json.dump(report, fh)
"""


def _seconds(a: Any, b: Any) -> float:
    assert isinstance(a, datetime) and isinstance(b, datetime), (a, b)
    return (b - a).total_seconds()


def section(ep: Endpoint, repeat: int) -> str:
    from reconciler.aws.context import AwsContext
    from reconciler.engine.locked import ApplyOptions, locked_apply
    from reconciler.engine.plan import build_plan
    from reconciler.quarterly.run import RunOptions, run_pipeline
    from reconciler.spec.load import load_spec

    dummy_credentials()
    gaps: list[float] = []
    overheads: list[float] = []
    shares: list[float] = []
    walls: list[float] = []
    crawls: list[float] = []
    jobs: list[float] = []
    polls: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        spec = make_project(Path(tmp) / "project", drop_sections=("quality", "quicksight"), job_script=TRIVIAL_JOB)
        pipeline = load_spec(spec)
        ctx = AwsContext(region=pipeline.region, endpoint_url=ep.url)
        locked_apply(pipeline, ctx, build_plan(pipeline, ctx), ApplyOptions(auto_approve=True))
        crawler = pipeline.crawlers[0].name
        job = pipeline.jobs[0].name
        glue = ctx.client("glue")
        for _ in range(repeat):
            ctx.counter.calls.clear()
            wall, summary = timed(lambda: run_pipeline(pipeline, ctx, RunOptions(), lambda *_: None))
            crawl = glue.list_crawls(CrawlerName=crawler)["Crawls"][0]
            job_run = glue.get_job_run(JobName=job, RunId=summary.job_run_id)["JobRun"]
            crawl_time = _seconds(crawl["StartTime"], crawl["EndTime"])
            job_time = _seconds(job_run["StartedOn"], job_run["CompletedOn"])
            gaps.append(_seconds(crawl["EndTime"], job_run["StartedOn"]))
            overheads.append(wall - crawl_time - job_time)
            shares.append((wall - crawl_time - job_time) / wall)
            walls.append(wall)
            crawls.append(crawl_time)
            jobs.append(job_time)
            polls.append(sum(n for op, n in ctx.counter.calls.items() if op in {"glue:GetCrawler", "glue:GetJobRun",
                                                                                  "glue:ListCrawls"}))  # fmt: skip
    gap_ok = max(gaps) <= 2.0
    global LAST_OVERHEAD
    LAST_OVERHEAD = median(overheads)
    return "\n".join(
        [
            "## 5. Orchestration latency (`reconcile run`, local endpoint, trivial non-Spark job)",
            "",
            "| measure | value (median, runs) |",
            "|---|---|",
            f"| crawl finished -> job run StartedOn | {fmt_runs(gaps)} (target <= 2 s: "
            f"{'met' if gap_ok else 'NOT met'}, worst {max(gaps):.2f} s) |",
            f"| run wall time | {fmt_runs(walls)} |",
            f"| crawl (server StartTime..EndTime) | {fmt_runs(crawls)} |",
            f"| job run (server StartedOn..CompletedOn) | {fmt_runs(jobs)} |",
            f"| run overhead = wall - crawl - job | {fmt_runs(overheads)} |",
            f"| overhead share of this (tiny) run | {fmt_runs([s * 100 for s in shares], unit='%', digits=0)} |",
            f"| status polls (GetCrawler/ListCrawls/GetJobRun) per run | {median(polls):.0f} |",
            "",
            "- The gap is bounded by the poll interval: 0.25 s growing x1.5 to a 2 s cap while crawling, so a crawl "
            "that ends while the poll sleeps is seen within one interval, then StartJobRun follows at once. "
            "(Airflow's Glue operators poll every 5-6 s.)",
            "- The overhead is a fixed cost per run (no-op plan under the lock, job start, gate, promotion, "
            "retention: about 30 requests) plus at most one poll interval per wait; with a trivial job it is "
            "a large share of a tiny run. Against the real job (section 6: tens of seconds of Spark) the same "
            "seconds are the share computed there.",
            "",
        ]
    )
