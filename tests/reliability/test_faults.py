"""Fault matrix: the local endpoint answers a fraction of requests with throttling, 5xx, latency or a
dropped connection (reconciler_local.faults). apply, plan, destroy and run must still succeed and end in
exactly the state of a fault-free run; a permanent error must stop them promptly with AWS's message."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from reconciler.aws.retry import STATS
from reconciler_local import call_admin, reset

from .conftest import BUCKET, Project, live_state

pytestmark = pytest.mark.slow

TRANSIENT = {"rate": 0.2, "kinds": ["throttle", "slowdown", "500", "latency", "drop"], "latency_seconds": 0.1}


def faults(aws: Any, **settings: Any) -> dict[str, Any]:
    return call_admin(aws.url, "faults", settings)


def injected(aws: Any) -> dict[str, Any]:
    return call_admin(aws.url, "faults")


def ok(project: Project, *args: str) -> str:
    result = project.cli(*args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("seed", [1, 2])
def test_apply_plan_destroy_under_20_percent_transient_faults_end_like_a_fault_free_run(
    project: Project, aws: Any, seed: int, record_property: Any
) -> None:
    ok(project, "apply", "--auto-approve")
    clean_applied = live_state(aws)
    ok(project, "destroy", "--auto-approve", "--force")
    clean_destroyed = live_state(aws)
    reset(aws.url)

    faults(aws, **TRANSIENT, seed=seed)
    before = STATS.retries
    ok(project, "apply", "--auto-approve")
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
    after_apply = injected(aws)
    faults(aws)  # off while we look, so the comparison itself cannot be faulted
    assert live_state(aws) == clean_applied

    faults(aws, **TRANSIENT, seed=seed + 100)
    ok(project, "destroy", "--auto-approve", "--force")
    after_destroy = injected(aws)
    faults(aws)
    assert live_state(aws) == clean_destroyed
    retries = STATS.retries - before
    total = after_apply["injected_total"] + after_destroy["injected_total"]
    requests = after_apply["requests"] + after_destroy["requests"]
    record_property("retries", retries)
    record_property("faults", total)
    print(f"\nseed {seed}: {requests} requests, {total} faults injected "
          f"({after_apply['injected']} / {after_destroy['injected']}), {retries} retries")  # fmt: skip
    assert total > 0 and retries > 0


@pytest.mark.parametrize("kind", ["drop_after", "drop_before"])
def test_every_operation_failing_once_still_converges(project: Project, aws: Any, kind: str) -> None:
    """The first call of every operation fails; `drop_after` loses the response of a write that happened,
    so the retry meets its own earlier success (AlreadyExists, 412 on the lock, ...)."""
    ok(project, "apply", "--auto-approve")
    clean_applied = live_state(aws)
    reset(aws.url)

    faults(aws, rate=1.0, kinds=[kind], max_per_operation=1, seed=3)
    ok(project, "apply", "--auto-approve")
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
    counts = injected(aws)
    faults(aws)
    assert live_state(aws) == clean_applied
    faults(aws, rate=1.0, kinds=[kind], max_per_operation=1, seed=4)
    ok(project, "destroy", "--auto-approve", "--force")
    faults(aws)
    assert not aws.client("s3").list_buckets().get("Buckets")
    assert not aws.client("glue").list_jobs()["JobNames"]
    print(f"\n{kind} once per operation: {counts['by_operation']}")


# A job that needs no Spark: writes the run's report and one aggregated CSV into its output folder (the
# local endpoint stages s3:// arguments to local folders and mirrors them back after the run).
QUICK_JOB = '''
import json, os, sys

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
out = args["--output_path"]
os.makedirs(os.path.join(out, "aggregated", "csv"), exist_ok=True)
os.makedirs(os.path.join(out, "reports"), exist_ok=True)
with open(os.path.join(out, "aggregated", "csv", "part-00000.csv"), "w") as handle:
    handle.write("brand,rows\\nBMW,1\\n")
with open(os.path.join(out, "reports", "run_report.json"), "w") as handle:
    json.dump({"rows_read": 1, "rows_valid": 1, "run_quarter": args.get("--run_quarter")}, handle)
print("quick job done")
'''


def quick_run_project(project: Project) -> None:
    (project.root / "glue_scripts" / "car_brands_job.py").write_text(QUICK_JOB)
    text = project.spec.read_text()
    start, end = text.index("  quality:"), text.index("  publish:")
    project.spec.write_text(text[:start] + text[end:])  # no gate rules: the quick job's report is trivial


def run_state(aws: Any) -> str:
    """The live state with the run's id (new each run) replaced by a placeholder."""
    pointer = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key="prepared/_published.json")["Body"].read())
    live = live_state(aws)
    for bucket in live["buckets"].values():  # a run record holds step durations: its size varies by run
        for key, obj in bucket["objects"].items():
            if key.endswith("/_run.json"):
                obj["size"] = "<varies>"
    state = json.dumps(live, sort_keys=True, default=str)
    for entry in pointer["quarters"].values():  # pointer format 2: the published run per quarter
        state = state.replace(str(entry["run_id"]), "<run>")
    return state


def test_run_under_20_percent_transient_faults_ends_like_a_fault_free_run(project: Project, aws: Any) -> None:
    quick_run_project(project)
    ok(project, "run", "--timeout", "120")
    clean = run_state(aws)
    reset(aws.url)

    faults(aws, **TRANSIENT, seed=7)
    before = STATS.retries
    ok(project, "run", "--timeout", "120")
    counts = injected(aws)
    faults(aws)
    assert run_state(aws) == clean  # one job run, the same objects, published the same way
    assert len(aws.client("glue").get_job_runs(JobName="car-brands-prepare")["JobRuns"]) == 1
    print(f"\nrun: {counts['requests']} requests, {counts['injected_total']} faults {counts['injected']}, "
          f"{STATS.retries - before} retries")  # fmt: skip
    assert counts["injected_total"] > 0


PERMANENT = [
    ("apply", "glue:CreateJob", "AccessDeniedException"),
    ("apply", "s3:PutBucketPolicy", "AccessDenied"),
    ("apply", "iam:PutRolePolicy", "AccessDenied"),
    ("destroy", "glue:DeleteJob", "AccessDeniedException"),
    ("run", "glue:StartJobRun", "AccessDeniedException"),
]


@pytest.mark.parametrize(("command", "operation", "code"), PERMANENT)
def test_a_permanent_error_stops_promptly_with_aws_message_and_the_next_clean_apply_converges(
    project: Project, aws: Any, command: str, operation: str, code: str
) -> None:
    quick_run_project(project)
    if command != "apply":
        ok(project, "apply", "--auto-approve")
    message = f"not authorized to perform {operation} (test)"
    faults(aws, permanent={"operation": operation, "code": code, "message": message})
    args = {"apply": ["apply", "--auto-approve"], "destroy": ["destroy", "--auto-approve", "--force"],
            "run": ["run", "--timeout", "60"]}[command]  # fmt: skip
    before, started = STATS.retries, time.monotonic()
    result = project.cli(*args)
    took = time.monotonic() - started
    counts = injected(aws)
    output = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert code in output and message in output
    assert counts["by_operation"] == {operation: 1}  # asked once: AccessDenied is never retried
    assert STATS.retries == before
    assert took < 15, f"{command} took {took:.1f}s to give up"

    faults(aws)
    final = ["destroy", "--auto-approve", "--force"] if command == "destroy" else ["apply", "--auto-approve"]
    ok(project, *final)
    if command == "destroy":
        assert not aws.client("s3").list_buckets().get("Buckets")
        assert not aws.client("glue").list_jobs()["JobNames"]
    else:
        assert project.cli("plan", "--detailed-exitcode").exit_code == 0


@pytest.mark.parametrize("kind", ["drop_after", "drop_before"])
def test_a_lost_start_job_run_answer_never_starts_a_second_run(project: Project, aws: Any, kind: str) -> None:
    """StartJobRun is not idempotent: after a dropped connection, run looks for its run before retrying."""
    quick_run_project(project)
    faults(aws, rate=1.0, kinds=[kind], operations=["glue:StartJobRun"], max_per_operation=1)
    ok(project, "run", "--timeout", "120")
    assert injected(aws)["by_operation"] == {"glue:StartJobRun": 1}
    faults(aws)
    runs = aws.client("glue").get_job_runs(JobName="car-brands-prepare")["JobRuns"]
    assert [r["JobRunState"] for r in runs] == ["SUCCEEDED"]
