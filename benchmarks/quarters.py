"""The quarter-by-quarter measurement: a quarter's job time must not grow with history, and publishing stays cheap.

1. Job time for the newest quarter N with 1, 4 and 8 quarters ingested (BENCH_QUARTER_ROWS rows each,
   default 1,000,000), `--run_quarter N` (what `reconcile run` passes) against the full recomputation of
   every ingested quarter (the job without `--run_quarter`, what the cron line did before), measured in
   the same Spark session, one after the other.
2. Publishing cost (`publish.promote` of one run: requests by operation and time) with 1 and 8 quarters
   already published, against the in-process local endpoint.

    .venv/bin/python -m benchmarks.run_all --only quarters
    BENCH_QUARTER_ROWS=100000 .venv/bin/python -m benchmarks.quarters    # this section alone, smaller
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, Endpoint, dummy_credentials, fmt_runs, make_project, median

BENCH_DIR = Path(os.environ.get("BENCH_DIR", "/tmp/reconciler-bench"))
QUARTERS = ["2026-Q3", "2026-Q4", "2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4", "2028-Q1", "2028-Q2"]
HISTORIES = (1, 4, 8)


def rows_per_quarter() -> int:
    return int(os.environ.get("BENCH_QUARTER_ROWS", "1000000"))


def ingest(rows: int) -> Path:
    """Eight ingested quarters under one root, generated once per row count."""
    from reconciler_local.datagen import generate

    root = BENCH_DIR / f"quarters-{rows}" / "all"
    for quarter in QUARTERS:
        if not (root / f"ingest_quarter={quarter}").is_dir():
            generate(root, rows=rows, quarter=quarter, truth_path=root.parent / "truth" / f"{quarter}.json")
    return root


def history(root: Path, n: int) -> Path:
    """A raw root holding the first `n` quarters (symbolic links into the full set)."""
    view = root.parent / f"first-{n}"
    if view.exists():
        shutil.rmtree(view)
    view.mkdir()
    for quarter in QUARTERS[:n]:
        (view / f"ingest_quarter={quarter}").symlink_to(root / f"ingest_quarter={quarter}", target_is_directory=True)
    return view


def worker(argv: list[str]) -> int:
    """In its own process (one Spark session): time the job per (history, mode); one JSON line out."""
    from benchmarks.spark_job import SUBMIT_ARGS

    root, out, repeat = Path(argv[0]), Path(argv[1]), int(argv[2])
    os.environ["PYSPARK_SUBMIT_ARGS"] = SUBMIT_ARGS
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    sys.path.insert(0, str(REPO / "glue_scripts"))
    import car_brands_job
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("bench-quarters").getOrCreate()
    results: dict[str, Any] = {}
    warm = history(root, 1).as_uri() + "/"
    car_brands_job.main(["--input_path", warm, "--output_path", f"{out}/warm/", "--run_id", "warm"], spark)
    for n in HISTORIES:
        data = history(root, n).as_uri() + "/"
        newest = QUARTERS[n - 1]
        for mode, extra in (("one", ["--run_quarter", newest]), ("all", [])):
            times, rows = [], 0
            for i in range(repeat if mode == "one" or n < 8 else 1):
                run_id = f"{mode}{n}-{i}"
                t0 = time.perf_counter()
                report = car_brands_job.main(
                    ["--input_path", data, "--output_path", f"{out}/{run_id}/", "--run_id", run_id, *extra], spark
                )
                times.append(time.perf_counter() - t0)
                rows = int(report["rows_read"])
            results[f"{mode}{n}"] = {"runs": times, "rows_read": rows}
    spark.stop()
    print(json.dumps(results))
    return 0


def job_times(repeat: int) -> tuple[int, dict[str, Any]]:
    rows = rows_per_quarter()
    root = ingest(rows)
    out = BENCH_DIR / f"quarters-{rows}" / "out"
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run([sys.executable, "-m", "benchmarks.quarters", "worker", str(root), str(out), str(repeat)],
                          capture_output=True, text=True, cwd=REPO, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return rows, json.loads(done.stdout.strip().splitlines()[-1])


def publish_cost(ep: Endpoint, published: int) -> tuple[float, dict[str, int]]:
    """One `promote` with `published` quarters already published: seconds and requests by operation."""
    from reconciler.aws.context import AwsContext
    from reconciler.engine.locked import ApplyOptions, locked_apply
    from reconciler.engine.plan import build_plan
    from reconciler.quarterly import pointer, publish
    from reconciler.spec.load import load_spec

    ep.reset()
    spec = make_project(BENCH_DIR / "publish-project")
    os.environ["PIPELINE_BUCKET"] = "bench-publish"
    pipeline = load_spec(spec)
    ctx = AwsContext(region=pipeline.region, endpoint_url=ep.url)
    locked_apply(pipeline, ctx, build_plan(pipeline, ctx), ApplyOptions(auto_approve=True))
    layout = publish.Layout.of(pipeline)
    run_ids = [f"2027010{i}T060000Z-{i:06d}" for i in range(published + 1)]
    for run_id, quarter in zip(run_ids, [*QUARTERS, "2028-Q3"], strict=False):
        report = {"run_id": run_id, "run_quarter": quarter, "quarters": [quarter], "started_at": run_id[:8]}
        ctx.call("s3", "put_object", Bucket=layout.bucket, Key=layout.run_key(run_id, pointer.REPORT),
                 Body=json.dumps(report).encode())  # fmt: skip
        ctx.call("s3", "put_object", Bucket=layout.bucket, Key=layout.run_key(run_id, "aggregated/csv/part-00000.csv"),
                 Body=b"year_quarter\n" + quarter.encode() + b"\n")  # fmt: skip
    for run_id in run_ids[:published]:
        publish.promote(ctx, pipeline, layout, run_id, by="bench")
    ep.counter.reset()
    t0 = time.perf_counter()
    publish.promote(ctx, pipeline, layout, run_ids[published], by="bench")  # the next quarter
    took = time.perf_counter() - t0
    calls, _ = ep.counter.snapshot()
    return took, {k: v for k, v in sorted(calls.items()) if not k.startswith("admin")}


def section(ep: Endpoint, repeat: int) -> str:
    rows, results = job_times(max(1, repeat))
    lines = [
        "## Quarter by quarter: job time with 1, 4 and 8 quarters ingested",
        "",
        f"Each quarter {rows:,} rows (the generator's defaults otherwise). `one quarter`: the job with "
        "`--run_quarter` = the newest quarter, as `reconcile run` starts it; `all quarters`: the same job "
        "without it, recomputing every ingested quarter (what a run did before it took one quarter). "
        "Same Spark session, after one warm-up run.",
        "",
        "| quarters ingested | one quarter (rows read) | all quarters (rows read) | all / one |",
        "|---:|---:|---:|---:|",
    ]
    for n in HISTORIES:
        one, every = results[f"one{n}"], results[f"all{n}"]
        lines.append(
            f"| {n} | {fmt_runs(one['runs'])} ({one['rows_read']:,}) | {fmt_runs(every['runs'])} "
            f"({every['rows_read']:,}) | {median(every['runs']) / median(one['runs']):.1f}x |"
        )
    lines += ["", "Publishing one run (`publish.promote`: lock not included), by quarters already published:", ""]
    lines += ["| published quarters | time | requests |", "|---:|---:|---|"]
    for published in (1, 8):
        took, calls = publish_cost(ep, published)
        listed = ", ".join(f"{k} {v}" for k, v in calls.items())
        lines.append(f"| {published} | {took * 1000:.0f} ms | {sum(calls.values())}: {listed} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["worker"]:
        return worker(argv[1:])
    dummy_credentials()
    ep = Endpoint()
    try:
        print(section(ep, int(os.environ.get("BENCH_REPEAT", "1"))))
    finally:
        ep.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
