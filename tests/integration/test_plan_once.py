"""An auto-approved apply plans once when no other reconciler can have overtaken its plan (the lock
serial), and plans again under the lock whenever one may have."""

from __future__ import annotations

from typing import Any

from reconciler.aws import lock
from reconciler.aws.context import AwsContext
from reconciler.engine.locked import ApplyOptions, locked_apply
from reconciler.engine.plan import build_plan
from reconciler.spec.load import load_spec
from tests.helpers import job_workers

from .conftest import BUCKET, JOB, Project

AUTO = ApplyOptions(auto_approve=True)


def applied(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("number_of_workers: 2", "number_of_workers: 4")


def test_nobody_else_held_the_lock_so_the_plan_is_made_once(project: Project, aws: Any) -> None:
    applied(project, aws)
    pipeline, ctx = load_spec(project.spec), AwsContext(region=aws.region, endpoint_url=aws.url)
    approved = build_plan(pipeline, ctx, observe_serial=True)
    assert approved.serial is not None
    locked_apply(pipeline, ctx, approved, AUTO)
    assert ctx.counter.calls["glue:BatchGetJobs"] == 1  # no second plan under the lock
    assert job_workers(aws.client("glue"), JOB) == 4
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_another_apply_between_plan_and_lock_makes_it_plan_again(project: Project, aws: Any) -> None:
    applied(project, aws)
    pipeline, ctx = load_spec(project.spec), AwsContext(region=aws.region, endpoint_url=aws.url)
    approved = build_plan(pipeline, ctx, observe_serial=True)
    # Another reconciler takes the lock and changes something our plan saw as fine.
    other = AwsContext(region=aws.region, endpoint_url=aws.url)
    with lock.held(other, BUCKET, "apply"):
        aws.client("glue").delete_trigger(Name="car-brands-quarterly-after-crawl")
    plan, _ = locked_apply(pipeline, ctx, approved, AUTO)
    assert ctx.counter.calls["glue:BatchGetJobs"] == 2  # planned again under the lock
    assert {c.address for c in plan.changes if c.action == "create"} == {"trigger.car-brands-quarterly-after-crawl"}
    assert job_workers(aws.client("glue"), JOB) == 4
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_plan_made_while_someone_holds_the_lock_is_made_again(project: Project, aws: Any) -> None:
    applied(project, aws)
    pipeline, ctx = load_spec(project.spec), AwsContext(region=aws.region, endpoint_url=aws.url)
    other = AwsContext(region=aws.region, endpoint_url=aws.url)
    with lock.held(other, BUCKET, "apply"):
        approved = build_plan(pipeline, ctx, observe_serial=True)  # the holder may be half-way through
        aws.client("glue").delete_trigger(Name="car-brands-quarterly-start")
    assert approved.serial is None
    plan, _ = locked_apply(pipeline, ctx, approved, AUTO)
    assert ctx.counter.calls["glue:BatchGetJobs"] == 2
    assert "trigger.car-brands-quarterly-start" in {c.address for c in plan.changes if c.action == "create"}
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_an_interactively_approved_plan_is_always_checked_again(project: Project, aws: Any) -> None:
    applied(project, aws)
    pipeline, ctx = load_spec(project.spec), AwsContext(region=aws.region, endpoint_url=aws.url)
    approved = build_plan(pipeline, ctx, observe_serial=True)
    locked_apply(pipeline, ctx, approved, ApplyOptions(auto_approve=False))
    assert ctx.counter.calls["glue:BatchGetJobs"] == 2  # a human may have looked at it for an hour
    assert job_workers(aws.client("glue"), JOB) == 4


def test_every_lock_holder_bumps_the_serial(project: Project, aws: Any) -> None:
    applied(project, aws)
    before = aws.client("s3").head_object(Bucket=BUCKET, Key=lock.SERIAL_KEY)["ETag"]
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert job_workers(aws.client("glue"), JOB) == 4
    assert aws.client("s3").head_object(Bucket=BUCKET, Key=lock.SERIAL_KEY)["ETag"] != before  # bumped
