"""One pipeline name, two regions of one account (the example spec takes its region from AWS_REGION). IAM is
global, everything else the pipeline owns is regional: the managed role serves the region whose Glue catalog its
inline policy grants, and a plan in another region neither rewrites it for its own bucket nor deletes it; it
refuses it as a conflict that says to give that region its own role name (docs/regions.md). One endpoint process
serves every region, as AWS's global IAM does."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from tests.conftest import Aws

from .conftest import Project

CENTRAL, WEST = "eu-central-1", "eu-west-1"
WEST_BUCKET = "car-brands-test-west"
ROLE, WEST_ROLE = "car-brands-glue", "car-brands-glue-west"


def granted_buckets(aws: Any, role: str) -> set[str]:
    """The buckets a role's inline policy names."""
    document = aws.client("iam").get_role_policy(RoleName=role, PolicyName="pipeline-access")["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    resources = [r for s in document["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str)
                                                           else s["Resource"])]  # fmt: skip
    return {r.split(":::", 1)[1].split("/", 1)[0] for r in resources if r.startswith("arn:aws:s3:::")}


def roles(aws: Any) -> set[str]:
    listed = aws.client("iam").list_roles(PathPrefix="/reconciler/car-brands/")["Roles"]
    return {r["RoleName"] for r in listed}


def test_one_spec_in_two_regions_never_rewrites_or_deletes_the_other_regions_role(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert aws.region == CENTRAL
    assert project.cli("apply", "--auto-approve").exit_code == 0
    central_buckets = granted_buckets(aws, ROLE)
    assert "car-brands-test" in central_buckets

    monkeypatch.setenv("AWS_REGION", WEST)  # the same spec, applied in a second region with its own bucket
    monkeypatch.setenv("PIPELINE_BUCKET", WEST_BUCKET)
    planned = project.cli("plan", "--detailed-exitcode")
    output = " ".join(planned.output.split())
    assert planned.exit_code == 1, output  # a conflict: apply would refuse it
    assert f"is this pipeline's role in region {CENTRAL}" in output, output
    refused = project.cli("apply", "--auto-approve")
    output = " ".join(refused.output.split())
    assert refused.exit_code == 1, output
    assert "IAM roles are global" in output and f"spec.role.managed.name: {ROLE}-{WEST}" in output, output
    assert granted_buckets(aws, ROLE) == central_buckets  # not rewritten for the west bucket

    project.edit(f"name: {ROLE}", f"name: {WEST_ROLE}")  # the hint: this region's own role
    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    west = Aws(url=aws.url, region=WEST)
    assert west.client("glue").get_crawler(Name="car-brands-raw")["Crawler"]["Role"].endswith(WEST_ROLE)
    assert WEST_BUCKET in granted_buckets(aws, WEST_ROLE) and granted_buckets(aws, ROLE) == central_buckets
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0  # the central role is not planned for deletion

    monkeypatch.setenv("AWS_REGION", CENTRAL)
    monkeypatch.setenv("PIPELINE_BUCKET", "car-brands-test")
    project.edit(f"name: {WEST_ROLE}", f"name: {ROLE}")
    central = project.cli("plan", "--detailed-exitcode")
    assert central.exit_code == 0, central.output  # nor is the west role here
    assert project.cli("destroy", "--auto-approve", "--force").exit_code == 0
    assert roles(aws) == {WEST_ROLE}  # destroying one region leaves the other region's role


def test_the_same_bucket_name_in_a_second_region_is_refused_not_replaced(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bucket names are global too: the first region's bucket is never planned for replacement (data and all)."""
    assert project.cli("apply", "--auto-approve").exit_code == 0
    monkeypatch.setenv("AWS_REGION", WEST)  # PIPELINE_BUCKET unchanged: the same bucket name
    planned = project.cli("plan")
    output = " ".join(planned.output.split())
    assert f"is this pipeline's bucket in region {CENTRAL}" in output, output
    assert "will be replaced" not in output and "destroy" not in output.split("Plan:")[0], output
    refused = project.cli("apply", "--auto-approve", "--force")
    assert refused.exit_code == 1 and "bucket names are global" in " ".join(refused.output.split())
    assert aws.client("s3").head_bucket(Bucket="car-brands-test")["BucketRegion"] == CENTRAL
