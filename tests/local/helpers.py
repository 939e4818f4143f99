"""Waiting on the endpoint's asynchronous work, with plain boto3 calls."""

from __future__ import annotations

import time
from typing import Any

TERMINAL_JOB_STATES = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"}


def make_bucket(aws: Any, name: str = "data-bucket") -> Any:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": aws.region})
    return s3


def wait_for_crawl(glue: Any, name: str, timeout: float = 30.0) -> dict[str, Any]:
    """Wait until the crawler is READY with a LastCrawl; return the crawler."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crawler: dict[str, Any] = glue.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY" and "LastCrawl" in crawler:
            return crawler
        time.sleep(0.1)
    raise AssertionError(f"crawler {name} did not finish within {timeout}s")


def wait_for_job_run(glue: Any, job_name: str, run_id: str, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
        if run["JobRunState"] in TERMINAL_JOB_STATES:
            return run
        time.sleep(0.2)
    raise AssertionError(f"job run {run_id} of {job_name} did not finish within {timeout}s")


def columns(table: dict[str, Any]) -> list[tuple[str, str]]:
    return [(column["Name"], column["Type"]) for column in table["StorageDescriptor"]["Columns"]]
