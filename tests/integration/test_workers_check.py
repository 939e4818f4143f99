"""`plan` warns, in one line of its cost estimate, when the job's workers are far too many or too few for the
newest quarter of raw data it sees (quarterly/sizing.py): an estimate, never a gate. Sizes come from the
upload sources on this machine and from ListObjectsV2 of the job's input prefix; the large quarter is
declared through the endpoint's test-only size route (the objects list with gigabyte sizes, not stored)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.errors import LocalEndpointError
from reconciler_local.lifecycle import call_admin

from .conftest import BUCKET, Project

GB = 1024**3
LARGE_QUARTER = "2026-Q4"
#: three 1 GiB objects: about 117M rows at the example's 27.5 bytes per row
LARGE_KEYS = [f"raw/car_brands/ingest_quarter={LARGE_QUARTER}/part-{n:05d}.csv" for n in range(3)]


def warning_lines(project: Project) -> list[str]:
    result = project.cli("plan")
    assert result.exit_code == 0, result.output  # a warning never changes the plan's outcome
    return [line for line in result.output.splitlines() if line.startswith("Warning: workers")]


def workers(project: Project) -> dict[str, Any]:
    check: dict[str, Any] = project.plan_json()["cost_estimate"]["workers"]
    assert check["available"] and check["estimate"], check
    return check


def large_quarter_in_bucket(project: Project, aws: Any) -> None:
    """The bucket holds a newer quarter of 3 GiB (declared sizes) beside the sample's quarter on this machine."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
    for key in LARGE_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"BMW,2026-10-01,08:15:00\n")
        call_admin(project.endpoint, "s3/declared-size", {"bucket": BUCKET, "key": key, "size": GB})
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"raw/car_brands/ingest_quarter={LARGE_QUARTER}/")
    assert [o["Size"] for o in listed["Contents"]] == [GB] * 3  # ListObjectsV2 reports the declared size
    assert s3.head_object(Bucket=BUCKET, Key=LARGE_KEYS[0])["ContentLength"] == GB


def test_the_examples_two_workers_fit_its_sample_and_say_nothing(project: Project, aws: Any) -> None:
    check = workers(project)
    assert check["quarter"] == "2026-Q3" and check["verdict"] == "ok"
    assert check["recommended"]["number_of_workers"] == 2 and check["recommended"]["worker_type"] == "G.1X"
    assert warning_lines(project) == []


def test_fifty_workers_for_a_tiny_quarter_are_far_too_many(project: Project, aws: Any) -> None:
    project.edit("number_of_workers: 2", "number_of_workers: 50")
    check = workers(project)
    assert check["verdict"] == "too many" and check["raw_bytes"] < 10 * 1024**2
    # billed the 1-minute minimum either way: 50 workers x 60 s against 2 x 60 s
    assert (check["spec"]["dpu_seconds"], check["recommended"]["dpu_seconds"]) == (3000.0, 120.0)
    (line,) = warning_lines(project)
    print(f"\n{line}")
    assert "workers far too many (an estimate): 50 x G.1X for quarter 2026-Q3's" in line
    assert "Recommended: number_of_workers: 2, worker_type: G.1X" in line and "apply is not blocked" in line


def test_two_workers_for_gigabytes_are_far_too_few(project: Project, aws: Any) -> None:
    large_quarter_in_bucket(project, aws)
    check = workers(project)
    assert check["quarter"] == LARGE_QUARTER and check["raw_bytes"] == 3 * GB
    assert check["verdict"] == "too few" and check["recommended"]["number_of_workers"] == 8
    assert check["spec"]["seconds"] > 4 * check["recommended"]["seconds"]
    assert check["spec"]["dpu_seconds"] > check["recommended"]["dpu_seconds"]
    (line,) = warning_lines(project)
    print(f"\n{line}")
    assert f"workers far too few (an estimate): 2 x G.1X for quarter {LARGE_QUARTER}'s 3.0 GB of raw data" in line
    assert "Recommended: number_of_workers: 8, worker_type: G.1X" in line


def test_the_recommended_workers_for_gigabytes_say_nothing(project: Project, aws: Any) -> None:
    large_quarter_in_bucket(project, aws)
    project.edit("number_of_workers: 2", "number_of_workers: 8")
    assert workers(project)["verdict"] == "ok"
    assert warning_lines(project) == []


def test_the_size_route_refuses_what_is_not_a_stored_object(project: Project, aws: Any) -> None:
    with pytest.raises(LocalEndpointError, match="400"):
        call_admin(project.endpoint, "s3/declared-size", {"bucket": "no-such-bucket", "key": "k", "size": 1})
    with pytest.raises(LocalEndpointError, match="400"):
        call_admin(project.endpoint, "s3/declared-size", {"bucket": BUCKET, "key": "k", "size": -1})
