"""A versioned bucket does not keep every old version of our internal keys forever,
others' lifecycle rules stay, and a DeleteObjects that answers 200 with per-key Errors is a failure."""

from __future__ import annotations

import datetime
from typing import Any

from reconciler.spec.model import MANAGED_TAG, OWNER_TAG

from .conftest import BUCKET, Project


def rules(aws: Any) -> dict[str, dict[str, Any]]:
    answer = aws.client("s3").get_bucket_lifecycle_configuration(Bucket=BUCKET)
    return {r["ID"]: r for r in answer["Rules"]}


def test_noncurrent_versions_of_internal_keys_expire_and_foreign_rules_stay(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    ours = rules(aws)
    assert ours["reconciler-noncurrent:.reconciler/"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert ours["reconciler-noncurrent:quicksight/manifest.json"]["Filter"] == {"Prefix": "quicksight/manifest.json"}
    assert any(i.startswith("reconciler-noncurrent:prepared/") for i in ours)  # the published pointer
    assert ours["reconciler-expired-delete-markers"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    # Someone replaces the configuration with a rule of their own: ours are planned back, theirs stays.
    theirs = {"ID": "archive-raw", "Status": "Enabled", "Filter": {"Prefix": "raw/"},
              "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}]}  # fmt: skip
    aws.client("s3").put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [theirs]})
    assert [a["path"] for a in project.changes()[f"bucket.{BUCKET}"]["attributes"]] == ["lifecycle"]
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert set(rules(aws)) == set(ours) | {"archive-raw"}
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_objects_s3_refuses_to_delete_fail_the_destroy_by_name(project: Project, aws: Any) -> None:
    s3 = aws.client("s3")
    # Object Lock must be on before the bucket holds objects: the bucket is made ours (tagged) beforehand.
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region},
                     ObjectLockEnabledForBucket=True)  # fmt: skip
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [
        {"Key": OWNER_TAG, "Value": "car-brands"}, {"Key": MANAGED_TAG, "Value": "true"}]})  # fmt: skip
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    s3.put_object(Bucket=BUCKET, Key="raw/locked.csv", Body=b"a,b\n", ObjectLockMode="COMPLIANCE",
                  ObjectLockRetainUntilDate=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC))  # fmt: skip
    s3.create_multipart_upload(Bucket=BUCKET, Key="raw/half-uploaded.csv")
    result = project.cli("destroy", "--auto-approve", "--force")
    assert result.exit_code == 1
    assert "did not delete 1 object(s)" in result.output and "raw/locked.csv: AccessDenied" in result.output
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []  # aborted before the deletes
