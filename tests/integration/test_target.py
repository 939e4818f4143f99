"""`--target ADDRESS` (Terraform's -target): only the named resources and the kinds they depend on."""

from __future__ import annotations

from typing import Any

from .conftest import BUCKET, Project

DATA = "upload.raw/car_brands/"


def test_targeting_an_upload_creates_the_bucket_and_that_upload_only(project: Project, aws: Any) -> None:
    result = project.cli("apply", "--auto-approve", "--target", DATA)
    assert result.exit_code == 0, result.output
    assert "Resource targeting is in effect" in result.output
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert any(k.startswith("raw/car_brands/") for k in keys)
    assert not any(k.startswith("scripts/") for k in keys)  # the other upload was not targeted
    assert aws.client("glue").list_crawlers()["CrawlerNames"] == []
    assert aws.client("iam").list_roles()["Roles"] == []
    rest = project.changes()
    assert f"bucket.{BUCKET}" not in rest and DATA not in rest
    assert rest["crawler.car-brands-raw"]["action"] == "create"


def test_a_targeted_plan_shows_only_the_target_and_its_dependencies(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    glue = aws.client("glue")
    glue.update_crawler(Name="car-brands-raw", Schedule="cron(0 12 * * ? *)")
    project.edit("number_of_workers: 2", "number_of_workers: 3")
    doc = project.plan_json("--target", "job.car-brands-prepare")
    addresses = {c["address"] for c in doc["changes"]}
    assert {c["address"] for c in doc["changes"] if c["action"] != "no-op"} == {"job.car-brands-prepare"}
    assert "crawler.car-brands-raw" not in addresses  # drifted, but not targeted and not a dependency
    assert {f"bucket.{BUCKET}", "role.car-brands-glue", DATA} <= addresses  # what a job depends on
    result = project.cli("apply", "--auto-approve", "--target", "job.car-brands-prepare")
    assert result.exit_code == 0, result.output
    assert glue.get_job(JobName="car-brands-prepare")["Job"]["NumberOfWorkers"] == 3
    assert set(project.changes()) == {"crawler.car-brands-raw"}


def test_an_undeclared_resource_is_deleted_only_when_targeted_by_address(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    text = project.spec.read_text()
    start, end = text.index("  schedule:\n"), text.index("  quality:")
    project.spec.write_text(text[:start] + text[end:])  # no schedule: workflow and triggers are no longer declared
    assert "trigger.car-brands-quarterly-start" in project.changes()
    other = project.changes("--target", "job.car-brands-prepare")
    assert not any(c["action"] == "delete" for c in other.values())
    one = project.changes("--target", "trigger.car-brands-quarterly-start")
    assert {a: c["action"] for a, c in one.items()} == {"trigger.car-brands-quarterly-start": "delete"}


def test_bad_targets_are_refused_before_any_change(project: Project, aws: Any) -> None:
    for target, code, message in [
        ("nonsense", 64, "not an address"),  # a malformed value: a usage error
        ("queue.x", 64, "not an address"),
        ("crawlers.car-brands-raw", 64, "did you mean crawler.car-brands-raw?"),
        ("crawler.no-such-crawler", 1, "no declared resource"),  # well formed, but nothing by that name
    ]:
        result = project.cli("apply", "--auto-approve", "--target", target)
        assert result.exit_code == code, result.output
        assert message in result.output, result.output
    assert aws.client("s3").list_buckets()["Buckets"] == []
