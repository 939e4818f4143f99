"""Triggers and workflows over HTTP: schedules fire on the endpoint's clock, conditional triggers follow
AWS's rule (only after a crawl or run that a trigger started), workflows run their graph."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler_local import call_admin
from tests.helpers import SUITE_GLUE_ROLE_ARN, job_runs

from .helpers import make_bucket, wait_for_crawl, wait_for_job_run

# Every crawler and job here gets a real role Glue may assume (the suite resolves roles as AWS does).
pytestmark = pytest.mark.usefixtures("glue_role_arn")

BUCKET = "data-bucket"
QUARTERLY = "cron(0 0 1 */3 ? *)"
NOTE_SCRIPT = b"import sys\nprint('job ran with', sys.argv[1:])\n"
CONDITION = {"Logical": "AND", "Conditions": [
    {"LogicalOperator": "EQUALS", "CrawlerName": "raw", "CrawlState": "SUCCEEDED"}]}


def quarter_start(after_quarters: int = 1) -> str:
    """The start of the n-th quarter after now (UTC), when QUARTERLY fires: tests never depend on today's date."""
    now = datetime.now(UTC)
    index = now.year * 4 + (now.month - 1) // 3 + after_quarters
    return f"{index // 4:04d}-{(index % 4) * 3 + 1:02d}-01T00:00:00Z"


def make_pipeline(aws: Any) -> Any:
    """A bucket with one CSV, crawler `raw` over it, and job `prepare` (a plain-Python script)."""
    s3 = make_bucket(aws, BUCKET)
    s3.put_object(Bucket=BUCKET, Key="raw/cars/a.csv", Body=b"brand,units\nvw,1\nbmw,2\n")
    s3.put_object(Bucket=BUCKET, Key="scripts/prepare.py", Body=NOTE_SCRIPT)
    glue = aws.client("glue")
    glue.create_crawler(Name="raw", Role=SUITE_GLUE_ROLE_ARN, DatabaseName="cars",
                        Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/raw/cars/"}]})
    glue.create_job(Name="prepare", Role=SUITE_GLUE_ROLE_ARN, GlueVersion="5.0",
                    Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/scripts/prepare.py"})
    return glue


def wait_until(condition: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout}s")


def wait_for_workflow_run(glue: Any, name: str, run_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = glue.get_workflow_run(Name=name, RunId=run_id)["Run"]
        if run["Status"] in ("COMPLETED", "STOPPED", "ERROR"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"workflow run {run_id} did not finish within {timeout}s")


def test_conditional_trigger_does_not_fire_after_a_manual_start_crawler(aws: Any) -> None:
    glue = make_pipeline(aws)
    glue.create_trigger(Name="then-prepare", Type="CONDITIONAL", Predicate=CONDITION,
                        Actions=[{"JobName": "prepare"}], StartOnCreation=True)

    glue.start_crawler(Name="raw")
    crawler = wait_for_crawl(glue, "raw")
    time.sleep(1.0)  # give a (wrong) firing time to happen

    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert job_runs(glue, "prepare") == []


def test_conditional_trigger_fires_after_a_crawl_a_trigger_started(aws: Any) -> None:
    glue = make_pipeline(aws)
    glue.create_trigger(Name="crawl-now", Type="ON_DEMAND", Actions=[{"CrawlerName": "raw"}])
    glue.create_trigger(Name="then-prepare", Type="CONDITIONAL", Predicate=CONDITION,
                        Actions=[{"JobName": "prepare", "Arguments": {"--from": "trigger"}}], StartOnCreation=True)

    glue.start_trigger(Name="crawl-now")
    wait_until(lambda: job_runs(glue, "prepare"), what="a job run started by the conditional trigger")
    run = job_runs(glue, "prepare")[0]
    finished = wait_for_job_run(glue, "prepare", run["Id"], timeout=60)

    assert run["TriggerName"] == "then-prepare"
    assert finished["JobRunState"] == "SUCCEEDED"
    assert finished["Arguments"] == {"--from": "trigger"}


def test_deactivated_conditional_trigger_does_not_fire(aws: Any) -> None:
    glue = make_pipeline(aws)
    glue.create_trigger(Name="crawl-now", Type="ON_DEMAND", Actions=[{"CrawlerName": "raw"}])
    glue.create_trigger(Name="then-prepare", Type="CONDITIONAL", Predicate=CONDITION,
                        Actions=[{"JobName": "prepare"}])  # CREATED, never activated

    glue.start_trigger(Name="crawl-now")
    wait_for_crawl(glue, "raw")
    time.sleep(1.0)

    assert job_runs(glue, "prepare") == []


def test_scheduled_trigger_fires_when_the_clock_reaches_its_cron(aws: Any) -> None:
    glue = make_pipeline(aws)
    glue.create_trigger(Name="quarterly", Type="SCHEDULED", Schedule=QUARTERLY,
                        Actions=[{"JobName": "prepare"}], StartOnCreation=True)
    time.sleep(1.2)
    assert job_runs(glue, "prepare") == []  # the next quarter is not here yet

    call_admin(aws.url, "clock", {"now": quarter_start()})
    wait_until(lambda: job_runs(glue, "prepare"), what="the scheduled run")

    assert job_runs(glue, "prepare")[0]["TriggerName"] == "quarterly"
    time.sleep(1.2)
    assert len(job_runs(glue, "prepare")) == 1  # fired once, not on every tick


def test_invalid_schedule_is_refused(aws: Any) -> None:
    glue = aws.client("glue")
    with pytest.raises(ClientError) as error:
        glue.create_trigger(Name="bad", Type="SCHEDULED", Schedule="cron(0 0 1 */3 * *)",
                            Actions=[{"JobName": "prepare"}])
    assert error.value.response["Error"]["Code"] == "InvalidInputException"


def test_creating_a_trigger_twice_is_already_exists(aws: Any) -> None:
    glue = aws.client("glue")
    glue.create_trigger(Name="t", Type="ON_DEMAND", Actions=[{"JobName": "prepare"}])
    with pytest.raises(ClientError) as error:
        glue.create_trigger(Name="t", Type="ON_DEMAND", Actions=[{"JobName": "other"}])
    assert error.value.response["Error"]["Code"] == "AlreadyExistsException"
    assert glue.get_trigger(Name="t")["Trigger"]["Actions"] == [{"JobName": "prepare"}]


def make_workflow(glue: Any, start_type: str = "ON_DEMAND") -> None:
    glue.create_workflow(Name="quarterly")
    start: dict[str, Any] = {"Schedule": QUARTERLY, "StartOnCreation": True} if start_type == "SCHEDULED" else {}
    glue.create_trigger(Name="start", WorkflowName="quarterly", Type=start_type,
                        Actions=[{"CrawlerName": "raw"}], **start)
    glue.create_trigger(Name="then-prepare", WorkflowName="quarterly", Type="CONDITIONAL", Predicate=CONDITION,
                        Actions=[{"JobName": "prepare"}], StartOnCreation=True)


def test_start_workflow_run_runs_the_graph_and_reports_statistics(aws: Any) -> None:
    glue = make_pipeline(aws)
    make_workflow(glue)

    run_id = glue.start_workflow_run(Name="quarterly")["RunId"]
    run = wait_for_workflow_run(glue, "quarterly", run_id)

    assert run["Status"] == "COMPLETED"
    assert run["Statistics"]["TotalActions"] == 2
    assert run["Statistics"]["SucceededActions"] == 2
    assert run["Statistics"]["FailedActions"] == 0
    assert run["Statistics"]["RunningActions"] == 0
    assert job_runs(glue, "prepare")[0]["TriggerName"] == "then-prepare"
    workflow = glue.get_workflow(Name="quarterly", IncludeGraph=True)["Workflow"]
    assert workflow["LastRun"]["WorkflowRunId"] == run_id
    assert {node["Name"] for node in workflow["Graph"]["Nodes"]} == {"start", "then-prepare", "raw", "prepare"}
    assert len(workflow["Graph"]["Edges"]) == 3


def test_failed_crawl_ends_the_workflow_run_without_the_job(aws: Any) -> None:
    glue = make_pipeline(aws)
    aws.client("s3").put_object(Bucket=BUCKET, Key="raw/cars/b.csv", Body=b"other,layout,here\n1,2,3\n4,5,6\n")
    make_workflow(glue)

    run = wait_for_workflow_run(glue, "quarterly", glue.start_workflow_run(Name="quarterly")["RunId"])

    assert run["Status"] == "COMPLETED"  # AWS completes the run; the failure shows in the statistics
    assert run["Statistics"]["FailedActions"] == 1
    assert run["Statistics"]["TotalActions"] == 1
    assert job_runs(glue, "prepare") == []


def test_stop_workflow_run(aws: Any) -> None:
    call_admin(aws.url, "settings", {"crawl_min_seconds": 30})
    glue = make_pipeline(aws)
    make_workflow(glue)
    run_id = glue.start_workflow_run(Name="quarterly")["RunId"]

    glue.stop_workflow_run(Name="quarterly", RunId=run_id)
    run = wait_for_workflow_run(glue, "quarterly", run_id)

    assert run["Status"] == "STOPPED"
    assert run["Statistics"]["StoppedActions"] == 1
    assert job_runs(glue, "prepare") == []


SPARK_SCRIPT = b'''
import sys
from pyspark.sql import SparkSession, functions as F

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
spark = SparkSession.builder.appName(args["--JOB_NAME"]).getOrCreate()
events = spark.read.option("header", "true").option("inferSchema", "true").csv(args["--input_path"])
totals = events.groupBy("brand").agg(F.sum("units").alias("units")).orderBy("brand")
totals.coalesce(1).write.mode("overwrite").option("header", "true").csv(args["--output_path"])
spark.stop()
'''


@pytest.mark.spark
def test_scheduled_workflow_crawls_then_runs_the_spark_job_end_to_end(aws: Any) -> None:
    glue = make_pipeline(aws)
    s3 = aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key="raw/cars/b.csv", Body=b"brand,units\nvw,3\naudi,4\n")
    s3.put_object(Bucket=BUCKET, Key="scripts/prepare.py", Body=SPARK_SCRIPT)
    glue.update_job(JobName="prepare", JobUpdate={
        "Role": SUITE_GLUE_ROLE_ARN, "GlueVersion": "5.0",
        "Command": {"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/scripts/prepare.py"},
        "DefaultArguments": {"--input_path": f"s3://{BUCKET}/raw/cars/", "--output_path": f"s3://{BUCKET}/out/"},
    })
    make_workflow(glue, start_type="SCHEDULED")

    call_admin(aws.url, "clock", {"now": quarter_start()})
    wait_until(lambda: glue.get_workflow(Name="quarterly")["Workflow"].get("LastRun"), what="the workflow run")
    run_id = glue.get_workflow(Name="quarterly")["Workflow"]["LastRun"]["WorkflowRunId"]
    run = wait_for_workflow_run(glue, "quarterly", run_id, timeout=300)

    assert run["Status"] == "COMPLETED"
    assert run["Statistics"]["SucceededActions"] == 2, run["Statistics"]
    table = glue.get_table(DatabaseName="cars", Name="cars")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["brand", "units"]
    keys = [obj["Key"] for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/")["Contents"]]
    csv_key = next(key for key in keys if key.endswith(".csv"))
    text = s3.get_object(Bucket=BUCKET, Key=csv_key)["Body"].read().decode()
    assert text.splitlines() == ["brand,units", "audi,4", "bmw,2", "vw,4"]


def test_crawler_schedule_starts_the_crawler_but_fires_no_conditional_trigger(aws: Any) -> None:
    glue = make_pipeline(aws)
    glue.update_crawler(Name="raw", Schedule=QUARTERLY)
    glue.create_trigger(Name="then-prepare", Type="CONDITIONAL", Predicate=CONDITION,
                        Actions=[{"JobName": "prepare"}], StartOnCreation=True)
    glue.stop_crawler_schedule(CrawlerName="raw")
    assert glue.get_crawler(Name="raw")["Crawler"]["Schedule"]["State"] == "NOT_SCHEDULED"

    call_admin(aws.url, "clock", {"now": quarter_start(1)})
    time.sleep(1.2)
    assert "LastCrawl" not in glue.get_crawler(Name="raw")["Crawler"]  # schedule stopped: no crawl

    glue.start_crawler_schedule(CrawlerName="raw")
    call_admin(aws.url, "clock", {"now": quarter_start(2)})
    crawler = wait_for_crawl(glue, "raw")
    time.sleep(1.0)

    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert job_runs(glue, "prepare") == []  # a scheduled crawler is not a trigger
