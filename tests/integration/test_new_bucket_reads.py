"""A plan that reads a bucket moments after someone created it (a concurrent first apply, in
S3's new-bucket window) waits the window out instead of failing or taking NoSuchBucket for "setting not set"."""

from __future__ import annotations

import json
import time
from typing import Any

from reconciler_local.lifecycle import call_admin

from .conftest import BUCKET, Project


def test_a_plan_reading_a_bucket_in_its_new_bucket_window_waits_it_out(project: Project, aws: Any) -> None:
    call_admin(aws.url, "settings", {"new_bucket_seconds": 3.0})
    s3 = aws.client("s3", wait_for_new_buckets=False)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
    started = time.monotonic()
    planned = project.cli("plan", "--json")
    took = time.monotonic() - started
    assert planned.exit_code in (0, 1), planned.output
    assert "NoSuchBucket" not in planned.output, planned.output
    # read once the window passed: the bucket exists and is untagged, so it is someone else's (a conflict)
    doc = json.loads(planned.stdout)
    bucket = next(c for c in doc["changes"] if c["address"] == f"bucket.{BUCKET}")
    assert bucket["action"] == "conflict" and "untagged" in bucket["reason"], bucket
    assert took < 60, took  # the window (3 s), not the whole 120 s retry budget against a cached answer
