"""Destroy never deletes under running work and says what to run next, on the endpoint.

- A job run left going (as by a crashed `reconcile run`) and a crawl in progress: destroy refuses before
  deleting anything, naming the run id, the crawler and the AWS CLI command that stops each; with
  `--stop-running` it stops them (BatchStopJobRun, StopCrawler), waits until they have stopped, then deletes.
- A failed destroy says "Destroy incomplete" (never "Destroy complete") and its hint is to run destroy again.
(`lock break` refusing a holder alive on this host: tests/integration/test_lease.py.)
"""

from __future__ import annotations

from typing import Any

from reconciler_local import call_admin

from .conftest import BUCKET, JOB, Project
from .test_attach import sleepy_project, wait_running

CRAWLER = "car-brands-raw"


def test_destroy_refuses_running_work_by_name_and_stop_running_stops_it_first(project: Project, aws: Any) -> None:
    sleepy_project(project, aws, seconds=120)
    glue = aws.client("glue")
    call_admin(aws.url, "settings", {"crawl_min_seconds": 120})
    run_id = glue.start_job_run(JobName=JOB)["JobRunId"]  # what a crashed `reconcile run` leaves going
    wait_running(aws)
    glue.start_crawler(Name=CRAWLER)
    assert glue.get_crawler(Name=CRAWLER)["Crawler"]["State"] == "RUNNING"

    refused = project.cli("destroy", "--auto-approve", "--force")
    text = " ".join(refused.output.split())
    assert refused.exit_code == 1, refused.output
    assert "nothing was deleted" in text and "Destroy complete" not in text
    assert f"job '{JOB}' run {run_id} is RUNNING" in text
    assert f"aws glue batch-stop-job-run --job-name {JOB} --job-run-ids {run_id}" in text
    assert f"crawler '{CRAWLER}' is RUNNING" in text and f"aws glue stop-crawler --name {CRAWLER}" in text
    assert "destroy --stop-running" in text
    assert glue.get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"] == "RUNNING"
    assert glue.get_job(JobName=JOB)["Job"]["Name"] == JOB  # nothing deleted
    assert BUCKET in {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}

    stopped = project.cli("destroy", "--auto-approve", "--force", "--stop-running")
    assert stopped.exit_code == 0, stopped.output
    out = stopped.output
    assert f"Stopping job '{JOB}' run {run_id}" in out and f"Stopping crawler '{CRAWLER}'" in out
    assert out.index("Stopping job") < out.index("Destroy complete")
    assert glue.get_jobs()["Jobs"] == [] and glue.get_crawlers()["Crawlers"] == []
    assert BUCKET not in {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}


def test_a_failed_destroy_is_reported_incomplete_and_hints_destroy_again(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    call_admin(aws.url, "faults", {"permanent": {"operation": "glue:DeleteJob", "code": "AccessDeniedException",
                                                 "message": "not authorized (test)"}})  # fmt: skip
    failed = project.cli("destroy", "--auto-approve", "--force")
    text = " ".join(failed.output.split())
    assert failed.exit_code == 1, failed.output
    assert "Destroy complete" not in text and "Destroy incomplete" in text and "1 failed" in text
    assert "run destroy again" in text and "destroy" in text.split("run destroy again", 1)[1]
    assert "apply again" not in text
    assert text.index("Destroy incomplete") < text.index("Error:")  # the summary, then the error

    call_admin(aws.url, "faults", {})
    assert project.cli("destroy", "--auto-approve", "--force").exit_code == 0
    assert aws.client("glue").get_jobs()["Jobs"] == []
