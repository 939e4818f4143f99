"""Target 4: plans at scale. Generated specs with N crawlers and N jobs (N = 10, 50, 200) over the sample
data; apply once, then time no-op plans (in-process `build_plan`, reads concurrent, READ_CONCURRENCY
bounded) and count the API calls per declared resource."""

from __future__ import annotations

import tempfile
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.common import Endpoint, dummy_credentials, fmt_runs, make_project, median, timed

SIZES = (10, 50, 200)


def apply_from_plan(pipeline: Any, ctx: Any) -> object:
    """A full apply from nothing (what `reconcile apply --auto-approve` does, without the CLI)."""
    from reconciler.engine.locked import ApplyOptions, locked_apply
    from reconciler.engine.plan import build_plan

    return locked_apply(pipeline, ctx, build_plan(pipeline, ctx), ApplyOptions(auto_approve=True))


def scaled_spec(base: str, n: int) -> str:
    """The example spec without schedule/quality/QuickSight, with `n` crawlers and `n` jobs."""
    from benchmarks.common import drop_spec_sections

    text = drop_spec_sections(base, ("crawlers", "jobs", "schedule", "quality", "quicksight"))
    bucket = "scale-bucket"
    crawlers = ["  crawlers:"]
    jobs = ["  jobs:"]
    for i in range(n):
        crawlers += [
            f"    - name: scale-crawler-{i:03d}",
            "      targets:",
            f"        - s3://{bucket}/raw/car_brands/",
            f"      table_prefix: t{i:03d}_",
        ]
        jobs += [
            f"    - name: scale-job-{i:03d}",
            "      script: scripts/car_brands_job.py",
            '      glue_version: "5.0"',
            "      worker_type: G.1X",
            "      number_of_workers: 2",
            "      arguments:",
            f"        --input_path: s3://{bucket}/raw/car_brands/",
            f"        --output_path: s3://{bucket}/prepared/{i:03d}/",
        ]
    text = text.replace("${PIPELINE_BUCKET:-car-brands-pipeline-local}", bucket)
    return text.rstrip("\n") + "\n" + "\n".join(crawlers + jobs) + "\n"


def section(ep: Endpoint, repeat: int) -> str:
    from benchmarks.common import REPO
    from reconciler.aws.context import AwsContext
    from reconciler.engine.plan import READ_CONCURRENCY, build_plan
    from reconciler.spec.load import load_spec

    dummy_credentials()
    rows: list[str] = []
    curve: list[tuple[int, float]] = []
    base = (REPO / "pipeline.yaml").read_text()
    for n in SIZES:
        ep.reset()
        with tempfile.TemporaryDirectory() as tmp:
            spec = make_project(Path(tmp) / "project", spec_text=scaled_spec(base, n))
            pipeline = load_spec(spec)
            ctx = AwsContext(region=pipeline.region, endpoint_url=ep.url)
            apply_time, _ = timed(partial(apply_from_plan, pipeline, ctx))
            times: list[float] = []
            calls: Counter[str] = Counter()
            declared = 0
            for _ in range(repeat):
                ctx.counter.calls.clear()
                elapsed, plan = timed(partial(build_plan, pipeline, ctx))
                assert not plan.has_changes, [c.address for c in plan.changes if c.action != "no-op"]
                times.append(elapsed)
                calls = Counter(ctx.counter.calls)
                declared = len(plan.changes)
        total = sum(calls.values())
        per_kind = ", ".join(f"{op.split(':')[1]} {v}" for op, v in calls.most_common(6))
        rows.append(
            f"| {n} + {n} | {declared} | {apply_time:.1f} s | {fmt_runs(times)} | "
            f"{median(times) / declared * 1000:.0f} ms | {total} | {total / declared:.2f} | {per_kind} |"
        )
        curve.append((declared, median(times)))
    (r0, t0), (r1, t1) = curve[0], curve[-1]
    growth = (t1 / t0) / (r1 / r0)
    return "\n".join(
        [
            f"## 4. Plans at scale (no-op plan, reads {READ_CONCURRENCY} at a time)",
            "",
            "| crawlers + jobs | declared resources | first apply | no-op plan (median, runs) | per resource "
            "| API calls | calls per resource | biggest operations |",
            "|---|---:|---:|---|---:|---:|---:|---|",
            *rows,
            "",
            f"- From {r0} to {r1} resources ({r1 / r0:.0f}x) the no-op plan took {t1 / t0:.1f}x as long: "
            f"time grows at {growth:.2f} of the resource count's rate.",
            "- Crawlers and jobs are read in bulk: per kind one ListCrawlers/ListJobs filtered by our one ownership "
            "tag (which names are ours, and which were removed from the spec) and one BatchGetCrawlers/BatchGetJobs "
            "per 100 names, then one GetTags per resource: a resource's own tag read is "
            "the truth for ownership and tag drift, because a listing filtered by several tags may be an AND or an "
            "OR (AWS documents neither) and a one-tag listing cannot say whether the other tags are in sync. That "
            "made the calls linear again (one per resource, as the table shows: 1.05 per resource at 405), the price "
            "of being right under both semantics; before it, a second listing filtered by all declared tags kept "
            "them flat (24 / 24 / 30 calls). Before bulk reads (one Get + one GetTags per resource) the same plans "
            "made 66 / 226 / 828 calls. Against AWS each GetTags is one request under Glue's rate limits; the plan "
            "sends 8 at a time.",
            "",
        ]
    )
