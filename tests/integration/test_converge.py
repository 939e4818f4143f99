"""Destroy and delete converge: a deleted resource is not found again through a stale Tagging API entry."""

from __future__ import annotations

from typing import Any

from .conftest import Project


def test_a_deleted_database_is_not_planned_again(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("    name: car_brands\n", "    name: car_brands_v2\n")
    assert project.changes()["database.car_brands"]["action"] == "delete"
    applied = project.cli("apply", "--auto-approve", "--approve-broadening")
    assert applied.exit_code == 0, applied.output
    assert "database.car_brands" not in project.changes()
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_destroy_converges(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    first = project.cli("destroy", "--auto-approve", "--force")
    assert first.exit_code == 0, first.output
    again = project.cli("plan", "--destroy", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    second = project.cli("destroy", "--auto-approve", "--force")
    assert second.exit_code == 0, second.output
    assert "incomplete" not in second.output


def test_a_stale_tagging_index_entry_is_not_ours(project: Project, aws: Any) -> None:
    """The Tagging API is an eventually consistent index: an entry for a database or workflow that no longer
    exists (made here by tagging an ARN with nothing behind it) is confirmed by the resource's own read."""
    assert project.cli("apply", "--auto-approve").exit_code == 0
    glue = aws.client("glue")
    owner = {"reconciler:pipeline": "car-brands", "reconciler:managed": "true"}
    arn = f"arn:aws:glue:{aws.region}:123456789012"
    glue.tag_resource(ResourceArn=f"{arn}:database/car_brands_gone", TagsToAdd=owner)
    glue.tag_resource(ResourceArn=f"{arn}:workflow/car-brands-gone", TagsToAdd=owner)
    listed = aws.client("resourcegroupstaggingapi").get_resources(TagFilters=[{"Key": "reconciler:pipeline"}])
    assert {f"{arn}:database/car_brands_gone", f"{arn}:workflow/car-brands-gone"} <= {
        r["ResourceARN"] for r in listed["ResourceTagMappingList"]
    }
    assert project.changes() == {}
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
