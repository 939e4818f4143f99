"""Nothing is deleted that this pipeline does not own, and no data without an explicit force."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import BUCKET, Project


def bucket_names(aws: Any) -> set[str]:
    return {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}


def test_renaming_the_bucket_creates_the_new_one_and_keeps_the_old_one_with_data(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    monkeypatch.setenv("PIPELINE_BUCKET", "car-brands-renamed")

    changes = project.changes()
    assert changes["bucket.car-brands-renamed"]["action"] == "create"
    assert changes[f"bucket.{BUCKET}"]["action"] == "blocked"
    assert "object(s)" in changes[f"bucket.{BUCKET}"]["reason"]

    result = project.cli("apply", "--auto-approve", "--approve-broadening")
    assert result.exit_code == 1  # everything else applied; the old bucket's data is kept
    assert "refused to protect data" in result.output
    assert {BUCKET, "car-brands-renamed"} <= bucket_names(aws)
    s3 = aws.client("s3")
    assert s3.list_objects_v2(Bucket="car-brands-renamed", Prefix="raw/")["KeyCount"] > 0
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="raw/")["KeyCount"] > 0
    job = aws.client("glue").get_job(JobName="car-brands-prepare")["Job"]
    assert job["Command"]["ScriptLocation"] == "s3://car-brands-renamed/scripts/car_brands_job.py"

    forced = project.cli("apply", "--auto-approve", "--force")
    assert forced.exit_code == 0, forced.output
    assert BUCKET not in bucket_names(aws)
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_an_empty_undeclared_bucket_of_ours_is_deleted_without_force(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    s3 = aws.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"])
    monkeypatch.setenv("PIPELINE_BUCKET", "car-brands-renamed")
    assert project.changes()[f"bucket.{BUCKET}"]["action"] == "delete"


def test_destroy_keeps_a_bucket_with_data_and_says_how_much(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]
    objects = sum(1 for o in listed if not o["Key"].startswith(".reconciler/"))  # our bookkeeping is not data
    result = project.cli("destroy", "--auto-approve")
    assert result.exit_code == 1
    assert f"still holds {objects} object(s)" in " ".join(result.output.split())
    assert "--force" in result.output
    assert BUCKET in bucket_names(aws)
    assert aws.client("s3").list_objects_v2(Bucket=BUCKET)["KeyCount"] == len(listed)
    glue = aws.client("glue")  # everything else is gone
    assert glue.list_crawlers()["CrawlerNames"] == [] and glue.list_jobs()["JobNames"] == []
    assert glue.list_triggers()["TriggerNames"] == []
    assert glue.get_databases()["DatabaseList"] == [] and glue.list_workflows()["Workflows"] == []


def test_force_destroy_in_the_spec_allows_deleting_the_data(project: Project, aws: Any) -> None:
    project.edit("force_destroy: false", "force_destroy: true")
    assert project.cli("apply", "--auto-approve").exit_code == 0
    result = project.cli("destroy", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert BUCKET not in bucket_names(aws)


def test_destroy_leaves_a_same_named_resource_of_another_pipeline_alone(project: Project, aws: Any) -> None:
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "car_brands"}, Tags={"reconciler:pipeline": "other",
                                                                      "reconciler:managed": "true"})  # fmt: skip
    assert project.changes()["database.car_brands"]["action"] == "conflict"
    project.cli("destroy", "--auto-approve", "--force")
    assert [d["Name"] for d in glue.get_databases()["DatabaseList"]] == ["car_brands"]
