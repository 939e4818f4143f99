"""A plan needs no right on other people's resources and costs the same however many
buckets, databases and workflows the account holds (the Tagging API finds ours, each confirmed by its own
read)."""

from __future__ import annotations

from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.engine.plan import build_plan
from reconciler.spec.load import load_spec
from reconciler_local.lifecycle import call_admin

from .conftest import Project


def add_foreign(aws: Any, start: int, stop: int) -> None:
    """Someone else's buckets, databases and workflows, tagged or not."""
    s3, glue = aws.client("s3"), aws.client("glue")
    for i in range(start, stop):
        s3.create_bucket(Bucket=f"foreign-{i:03d}", CreateBucketConfiguration={"LocationConstraint": aws.region})
        glue.create_database(DatabaseInput={"Name": f"foreign_{i:03d}"}, Tags={"team": "other"})
        glue.create_workflow(Name=f"foreign-{i:03d}", Tags={"team": "other"})


def plan_calls(project: Project, aws: Any) -> dict[str, int]:
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    plan = build_plan(load_spec(project.spec), ctx)
    assert not plan.has_changes, [c.address for c in plan.changes if c.action != "no-op"]
    return dict(ctx.counter.calls)


def test_plan_calls_do_not_grow_with_foreign_resources(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    add_foreign(aws, 0, 1)
    one = plan_calls(project, aws)
    add_foreign(aws, 1, 300)
    many = plan_calls(project, aws)
    assert many == one, {k: (one.get(k), many.get(k)) for k in set(one) | set(many) if one.get(k) != many.get(k)}
    assert not {"s3:ListBuckets", "glue:GetDatabases", "glue:ListWorkflows"} & set(many)
    print(f"plan calls: {sum(one.values())} with 1 foreign of each kind, {sum(many.values())} with 300")


def test_no_right_on_the_accounts_listings_is_needed(project: Project, aws: Any) -> None:
    """An operator who may not list the account's databases (or buckets, workflows) still plans."""
    assert project.cli("apply", "--auto-approve").exit_code == 0
    add_foreign(aws, 0, 2)
    for operation in ("glue:GetDatabases", "s3:ListBuckets", "glue:ListWorkflows"):
        call_admin(aws.url, "faults", {"permanent": {"operation": operation, "code": "AccessDeniedException"}})
        result = project.cli("plan", "--detailed-exitcode")
        assert result.exit_code == 0, (operation, result.output)
    call_admin(aws.url, "faults", {})


def test_removed_database_and_workflow_are_still_found(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    add_foreign(aws, 0, 3)
    project.edit("    name: car_brands\n", "    name: car_brands_v2\n")
    project.edit("workflow: car-brands-quarterly", "workflow: car-brands-quarterly-v2")
    changes = project.changes()
    assert changes["database.car_brands"]["action"] == "delete"
    assert changes["workflow.car-brands-quarterly"]["action"] == "delete"
    assert not any("foreign" in address for address in changes)
    assert project.cli("plan", "--destroy", "--detailed-exitcode").exit_code == 2
