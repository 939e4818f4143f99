"""A tag removed from metadata.tags is removed from every resource; tags others add
stay, on the bucket too (PutBucketTagging replaces the whole set)."""

from __future__ import annotations

from typing import Any

from reconciler.resources.base import KEYS_TAG

from .conftest import BUCKET, JOB, Project

ARN = "arn:aws:glue:eu-central-1:123456789012"


def all_tags(aws: Any) -> dict[str, dict[str, str]]:
    glue, s3, iam = aws.client("glue"), aws.client("s3"), aws.client("iam")
    return {
        "bucket": {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]},
        "role": {t["Key"]: t["Value"] for t in iam.get_role(RoleName="car-brands-glue")["Role"]["Tags"]},
        "database": glue.get_tags(ResourceArn=f"{ARN}:database/car_brands")["Tags"],
        "crawler": glue.get_tags(ResourceArn=f"{ARN}:crawler/car-brands-raw")["Tags"],
        "job": glue.get_tags(ResourceArn=f"{ARN}:job/{JOB}")["Tags"],
        "workflow": glue.get_tags(ResourceArn=f"{ARN}:workflow/car-brands-quarterly")["Tags"],
        "trigger": glue.get_tags(ResourceArn=f"{ARN}:trigger/car-brands-quarterly-start")["Tags"],
    }


def test_a_tag_removed_from_the_spec_is_removed_everywhere_and_foreign_tags_stay(project: Project, aws: Any) -> None:
    project.edit("  tags:\n", "  tags:\n    team: data\n")
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    for kind, tags in all_tags(aws).items():
        assert tags.get("team") == "data", kind
        assert tags[KEYS_TAG].split() == ["owner", "project", "team"], kind
    # someone else tags our resources
    aws.client("s3").put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [
        {"Key": k, "Value": v} for k, v in {**all_tags(aws)["bucket"], "cost-center": "42"}.items()]})  # fmt: skip
    aws.client("glue").tag_resource(ResourceArn=f"{ARN}:job/{JOB}", TagsToAdd={"cost-center": "42"})
    aws.client("iam").tag_role(RoleName="car-brands-glue", Tags=[{"Key": "cost-center", "Value": "42"}])
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0  # foreign tags are no drift

    project.edit("    team: data\n", "")
    changes = project.changes()
    assert all(any(a["path"] == "tags.team" and a["after"] is None for a in c["attributes"])
               for c in changes.values()), changes  # fmt: skip
    assert len(changes) == 8  # bucket, role, database, crawler, job, workflow, two triggers
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    after = all_tags(aws)
    assert {k: t["team"] for k, t in after.items() if "team" in t} == {}
    assert after["bucket"]["cost-center"] == after["job"]["cost-center"] == after["role"]["cost-center"] == "42"
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_bucket_tag_change_keeps_foreign_bucket_tags(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    s3 = aws.client("s3")
    current = all_tags(aws)["bucket"]
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [
        {"Key": k, "Value": v} for k, v in {**current, "owner-team": "finance"}.items()]})  # fmt: skip
    project.edit("  tags:\n", "  tags:\n    team: data\n")
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert all_tags(aws)["bucket"]["owner-team"] == "finance"
    assert all_tags(aws)["bucket"]["team"] == "data"
