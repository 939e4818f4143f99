"""`plan` ends with the expected cost of the next quarterly run (quarterly/estimate.py), on the local endpoint:
the timeout as the upper bound before any run, the median of past runs after, S3 storage of raw and
published data, a handful of extra AWS calls, and "estimate unavailable" (never a failed plan) on a bad read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.aws.context import AwsContext
from reconciler.engine.plan import build_plan
from reconciler.quarterly.estimate import HISTORY_RUNS, cost_estimate
from reconciler.spec.load import load_spec

from .conftest import BUCKET, Project
from .test_history import QUARTER, history, reporting_project, run

# eu-central-1's figures in prices.json (the endpoint's region): the ETL job rate of the 2023-02-06 price list
# copy, which has no crawler nor S3 rate for it: those are unpriced, never us-east-1's
ETL = 0.44
UNPRICED = "unpriced in eu-central-1: price list dated 2023-02-06 has no entry"


def raw_bytes(project: Project) -> int:
    return sum(p.stat().st_size for p in (project.root / "Data" / "car_brands").rglob("*") if p.is_file())


def test_before_any_run_the_timeout_is_the_upper_bound(project: Project, aws: Any) -> None:
    doc = project.plan_json()  # the bucket does not exist yet
    estimate = doc["cost_estimate"]
    assert estimate["available"] and estimate["estimate"] and "not a bill" in estimate["basis"]
    job = estimate["job"]
    # pipeline.yaml: 2 x G.1X, timeout_minutes 60
    assert (job["dpus"], job["seconds"], job["upper_bound"], job["history_runs"]) == (2, 3600.0, True, 0)
    assert job["usd"] == pytest.approx(2 * 1.0 * ETL, abs=1e-4)
    assert estimate["region"] == "eu-central-1" and estimate["prices_as_of"] == "2023-02-06"
    (crawler,) = estimate["crawlers"]
    assert crawler["name"] == "car-brands-raw" and crawler["dpu_hours"] == pytest.approx(600 / 3600, abs=1e-4)
    assert crawler["usd"] is None and crawler["unpriced"] == f"crawler {UNPRICED}"
    storage = estimate["storage"]
    assert storage["raw_bytes"] == raw_bytes(project) and storage["published_bytes"] == 0
    assert storage["price_gb_month"] is None and storage["unpriced"] == f"S3 storage {UNPRICED}"
    assert estimate["unpriced"] == [f"crawler {UNPRICED}", f"S3 storage {UNPRICED}"]
    assert estimate["run_usd"] == pytest.approx(job["usd"], abs=1e-4)  # the unpriced parts are left out

    text = " ".join(project.cli("plan").output.split())
    assert "Cost estimate of the next quarterly run (an estimate, not a bill;" in text
    assert "(upper bound) (no successful run in history: the job's timeout (60 min) as the upper bound)" in text
    assert f"crawler car-brands-raw: 0.1667 DPU-h, {UNPRICED}; the per-run total leaves it out" in text
    assert f"= {UNPRICED}" in text and "(2 part(s) unpriced)" in text


def published_prefix_bytes(aws: Any, run_id: str) -> int:
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"prepared/runs/{run_id}/").get("Contents", [])
    return sum(int(o["Size"]) for o in listed)


def test_after_runs_the_median_of_history_and_the_published_data(project: Project, aws: Any) -> None:
    reporting_project(project)
    assert run(project).exit_code == 0
    assert run(project).exit_code == 0
    estimate = project.plan_json()["cost_estimate"]
    job = estimate["job"]
    assert job["upper_bound"] is False and job["history_runs"] == 2
    assert job["seconds"] == 60.0  # the quick job runs for seconds: billed for Glue's 1-minute minimum
    assert job["usd"] == pytest.approx(2 * 60 / 3600 * ETL, abs=1e-4)
    pointer = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key="prepared/_published.json")["Body"].read())
    published = pointer["quarters"][QUARTER]["run_id"]
    storage = estimate["storage"]
    assert storage["published_quarters"] == 1
    assert storage["published_bytes"] == published_prefix_bytes(aws, published) > 0
    assert storage["usd_per_month"] is None  # no S3 rate for eu-central-1 in the dated copy


def estimate_calls(project: Project, aws: Any) -> dict[str, int]:
    """The AWS calls the estimate adds to a plan (the same context, counted before and after)."""
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    pipeline = load_spec(project.spec)
    build_plan(pipeline, ctx)
    before = dict(ctx.counter.calls)
    assert cost_estimate(pipeline, ctx)["available"]
    after = dict(ctx.counter.calls)
    print(f"\nplan alone: {sum(before.values())} calls; plan with the estimate: {sum(after.values())}")
    return {op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)}


def test_the_estimate_adds_a_few_reads_bounded_by_history_runs(project: Project, aws: Any) -> None:
    reporting_project(project)
    for _ in range(HISTORY_RUNS + 2):
        assert run(project).exit_code == 0
    assert len(history(project)) == HISTORY_RUNS + 2
    calls = estimate_calls(project, aws)
    # one LIST of runs/, one of the published quarter's prefix and one of the job's input prefix (the workers
    # check); HISTORY_RUNS records + the pointer
    assert calls == {"s3:ListObjectsV2": 3, "s3:GetObject": HISTORY_RUNS + 1}, calls
    print(f"\nestimate calls with {HISTORY_RUNS + 2} runs in history: {calls}")


def test_a_bad_read_makes_the_estimate_unavailable_never_the_plan_fail(project: Project, aws: Any) -> None:
    reporting_project(project)
    assert run(project).exit_code == 0
    run_id = next(iter(history(project)))
    s3 = aws.client("s3")
    key = f"prepared/runs/{run_id}/_run.json"
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    record["job_run"]["execution_seconds"] = "about an hour"  # a record someone edited by hand
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(record).encode())
    result = project.cli("plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "Cost estimate: estimate unavailable: ValueError" in " ".join(result.output.split())
    doc = project.plan_json()
    assert doc["cost_estimate"]["available"] is False and "about an hour" in doc["cost_estimate"]["reason"]
