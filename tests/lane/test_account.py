"""The opt-in AWS lane: the whole lifecycle and one quarterly run on the 2,000-row sample, the same code against
the local endpoint (in `.ci/run`) and against a real account (`scripts/test-aws.sh`, opt-in).

Everything is read back with plain boto3, never with the tool's own readers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import Lane


def gone(call: Callable[[], Any], *codes: str) -> bool:
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"] in codes
    return False


@pytest.mark.slow
@pytest.mark.spark
def test_lifecycle_and_one_run_then_nothing_left(lane: Lane) -> None:
    assert lane.cli("validate").exit_code == 0
    applied = lane.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    clean = lane.cli("plan", "--detailed-exitcode")
    assert clean.exit_code == 0, clean.output  # the first real apply converges: nothing left to change

    ran = lane.cli("run", "--json", "--quarter", "2026-Q3", "--timeout", "900")
    assert ran.exit_code == 0, ran.output
    s3 = lane.client("s3")
    pointer = json.loads(s3.get_object(Bucket=lane.bucket, Key="prepared/_published.json")["Body"].read())
    run_id = pointer["quarters"]["2026-Q3"]["run_id"]
    report = json.loads(
        s3.get_object(Bucket=lane.bucket, Key=f"prepared/runs/{run_id}/reports/run_report.json")["Body"].read()
    )
    assert report["rows_read"] == 2000, report
    # The report names where the run read and wrote as S3 locations (the endpoint's staging folders used to
    # leaked into it locally)
    assert report["input_path"] == f"s3://{lane.bucket}/raw/car_brands/", report
    assert report["output_path"] == f"s3://{lane.bucket}/prepared/runs/{run_id}/", report
    manifest = json.loads(s3.get_object(Bucket=lane.bucket, Key="quicksight/manifest.json")["Body"].read())
    assert manifest["fileLocations"][0]["URIPrefixes"] == [
        f"s3://{lane.bucket}/prepared/runs/{run_id}/aggregated/csv/"
    ]
    assert lane.cli("history").exit_code == 0

    destroyed = lane.cli("destroy", "--auto-approve", "--force")
    assert destroyed.exit_code == 0, destroyed.output
    glue, iam = lane.client("glue"), lane.client("iam")
    assert gone(lambda: s3.head_bucket(Bucket=lane.bucket), "404", "NoSuchBucket")
    assert gone(lambda: glue.get_job(JobName=lane.name("car-brands-prepare")), "EntityNotFoundException")
    assert gone(lambda: glue.get_crawler(Name=lane.name("car-brands-raw")), "EntityNotFoundException")
    assert gone(lambda: glue.get_database(Name=f"car_brands_{lane.suffix}"), "EntityNotFoundException")
    assert gone(lambda: glue.get_workflow(Name=lane.name("car-brands-quarterly")), "EntityNotFoundException")
    assert gone(lambda: iam.get_role(RoleName=lane.name("car-brands-glue")), "NoSuchEntity")
