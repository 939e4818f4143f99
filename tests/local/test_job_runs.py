"""Job runs over HTTP: StartJobRun executes the script, with Glue's argv, s3:// staging and run states.

Only the test marked `spark` starts Spark; the others run plain-Python scripts as `glueetl` jobs (the
runner is the same, and Spark's start-up costs tens of seconds on a small machine).
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler_local import call_admin
from tests.helpers import SUITE_GLUE_ROLE_ARN

from .helpers import make_bucket, wait_for_job_run

# Every crawler and job here gets a real role Glue may assume (the suite resolves roles as AWS does).
pytestmark = pytest.mark.usefixtures("glue_role_arn")

BUCKET = "data-bucket"

RECORDING_SCRIPT = b'''
import json, os, sys
import boto3

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
output = args["--output_path"]
with open(os.path.join(output, "argv.json"), "w") as handle:
    json.dump({"argv": sys.argv[1:], "inputs": sorted(os.listdir(args["--input_path"]))}, handle)
os.remove(os.path.join(output, "stale.txt"))
buckets = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
print("buckets seen from the script:", buckets)
'''

FAILING_SCRIPT = b'''
print("about to fail")
def prepare():
    raise ValueError("boom")
prepare()
'''

SLEEPING_SCRIPT = b'''
import time
print("sleeping", flush=True)
time.sleep(120)
'''


def create_job(aws: Any, name: str, script: bytes, **extra: Any) -> Any:
    s3 = aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key=f"scripts/{name}.py", Body=script)
    glue = aws.client("glue")
    extra.setdefault("GlueVersion", "5.0")
    glue.create_job(Name=name, Role=SUITE_GLUE_ROLE_ARN,
                    Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/scripts/{name}.py"}, **extra)
    return glue


def test_script_gets_glue_argv_and_s3_paths_are_staged_and_mirrored(aws: Any) -> None:
    s3 = make_bucket(aws, BUCKET)
    s3.put_object(Bucket=BUCKET, Key="raw/a.csv", Body=b"brand\nvw\n")
    s3.put_object(Bucket=BUCKET, Key="raw/sub/b.csv", Body=b"brand\nbmw\n")
    s3.put_object(Bucket=BUCKET, Key="out/stale.txt", Body=b"from a previous run")
    glue = create_job(
        aws, "record", RECORDING_SCRIPT,
        DefaultArguments={"--input_path": f"s3://{BUCKET}/raw/", "--output_path": f"s3://{BUCKET}/out/",
                          "--mode": "default", "--locked": "default"},
        NonOverridableArguments={"--locked": "fixed"},
    )

    run_id = glue.start_job_run(JobName="record", Arguments={"--mode": "run", "--locked": "run", "--extra": "x"})[
        "JobRunId"]
    run = wait_for_job_run(glue, "record", run_id, timeout=60)

    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert run["Arguments"] == {"--mode": "run", "--locked": "run", "--extra": "x"}  # what the run was given
    recorded = json.loads(s3.get_object(Bucket=BUCKET, Key="out/argv.json")["Body"].read())
    argv = recorded["argv"]
    assert argv[:4] == ["--JOB_NAME", "record", "--JOB_RUN_ID", run_id]
    pairs = dict(zip(argv[4::2], argv[5::2], strict=True))
    assert list(pairs) == ["--input_path", "--output_path", "--mode", "--locked", "--extra"]
    assert pairs["--mode"] == "run" and pairs["--locked"] == "fixed" and pairs["--extra"] == "x"
    # The script was given a local staged copy (it listed it: `inputs`); a JSON file it writes names staged paths
    # as the s3:// locations they stand for, as on Glue (staging.py), so its argv reads back as s3:// URIs.
    assert pairs["--input_path"] == f"s3://{BUCKET}/raw/" and pairs["--output_path"] == f"s3://{BUCKET}/out/"
    assert recorded["inputs"] == ["a.csv", "sub"]
    keys = {obj["Key"] for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/")["Contents"]}
    assert keys == {"out/argv.json"}  # stale.txt was removed by the script, so it is gone from S3 too
    log_text = urllib.request.urlopen(f"{aws.url}/_reconciler/job-runs/{run_id}/log").read().decode()
    assert f"buckets seen from the script: ['{BUCKET}']" in log_text  # boto3 in the script reached us


def test_failing_script_ends_failed_with_the_exception(aws: Any) -> None:
    make_bucket(aws, BUCKET)
    glue = create_job(aws, "fails", FAILING_SCRIPT)

    run_id = glue.start_job_run(JobName="fails")["JobRunId"]
    run = wait_for_job_run(glue, "fails", run_id, timeout=60)

    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ValueError: boom"
    assert run["LogGroupName"] == "/aws-glue/jobs"
    files = call_admin(aws.url, f"job-runs/{run_id}")
    log_text = urllib.request.urlopen(f"{aws.url}/_reconciler/job-runs/{run_id}/log").read().decode()
    assert files["state"] == "FAILED"
    assert "about to fail" in log_text and "Traceback (most recent call last)" in log_text
    # Glue 5: the driver's streams are `<run id>-driver` (test_strict_endpoint covers both layouts).
    events = aws.client("logs").get_log_events(logGroupName="/aws-glue/jobs/error",
                                               logStreamName=f"{run_id}-driver")["events"]
    assert any("ValueError: boom" in event["message"] for event in events)


def test_failed_run_is_retried_up_to_max_retries(aws: Any) -> None:
    make_bucket(aws, BUCKET)
    glue = create_job(aws, "fails", FAILING_SCRIPT, MaxRetries=1)

    first = glue.start_job_run(JobName="fails")["JobRunId"]
    wait_for_job_run(glue, "fails", first, timeout=60)
    retry = wait_for_job_run(glue, "fails", f"{first}_attempt_1", timeout=60)

    assert retry["Attempt"] == 1
    assert retry["PreviousRunId"] == first
    assert retry["JobRunState"] == "FAILED"
    time.sleep(0.5)
    assert len(glue.get_job_runs(JobName="fails")["JobRuns"]) == 2


def test_run_past_its_timeout_ends_timeout(aws: Any) -> None:
    call_admin(aws.url, "settings", {"timeout_minute_seconds": 1})  # a Glue minute lasts one second
    make_bucket(aws, BUCKET)
    glue = create_job(aws, "sleeps", SLEEPING_SCRIPT, Timeout=1)

    started = time.monotonic()
    run_id = glue.start_job_run(JobName="sleeps")["JobRunId"]
    run = wait_for_job_run(glue, "sleeps", run_id, timeout=30)

    assert run["JobRunState"] == "TIMEOUT"
    assert run["Timeout"] == 1
    assert time.monotonic() - started < 15


def test_batch_stop_job_run_stops_and_max_concurrent_runs_is_enforced(aws: Any) -> None:
    make_bucket(aws, BUCKET)
    glue = create_job(aws, "sleeps", SLEEPING_SCRIPT)
    run_id = glue.start_job_run(JobName="sleeps")["JobRunId"]

    with pytest.raises(ClientError) as error:
        glue.start_job_run(JobName="sleeps")
    answer = glue.batch_stop_job_run(JobName="sleeps", JobRunIds=[run_id, "jr_missing"])
    run = wait_for_job_run(glue, "sleeps", run_id, timeout=30)

    assert error.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    assert answer["SuccessfulSubmissions"] == [{"JobName": "sleeps", "JobRunId": run_id}]
    assert [e["JobRunId"] for e in answer["Errors"]] == ["jr_missing"]
    assert run["JobRunState"] == "STOPPED"


def test_two_concurrent_runs_when_allowed(aws: Any) -> None:
    make_bucket(aws, BUCKET)
    glue = create_job(aws, "sleeps", SLEEPING_SCRIPT, ExecutionProperty={"MaxConcurrentRuns": 2})

    first = glue.start_job_run(JobName="sleeps")["JobRunId"]
    second = glue.start_job_run(JobName="sleeps")["JobRunId"]
    glue.batch_stop_job_run(JobName="sleeps", JobRunIds=[first, second])

    assert first != second


@pytest.mark.parametrize(
    ("glue_version", "message"),
    [("4.0", "Glue 4.0 runs Spark 3.3.0"), (None, "GlueVersion is not set: AWS defaults it to 0.9")],
)
def test_glue_version_must_match_the_installed_spark(aws: Any, glue_version: str | None, message: str) -> None:
    make_bucket(aws, BUCKET)
    glue = create_job(aws, "old", FAILING_SCRIPT, GlueVersion=glue_version) if glue_version else None
    if glue is None:
        aws.client("s3").put_object(Bucket=BUCKET, Key="scripts/old.py", Body=FAILING_SCRIPT)
        glue = aws.client("glue")
        glue.create_job(Name="old", Role=SUITE_GLUE_ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/scripts/old.py"})

    run = wait_for_job_run(glue, "old", glue.start_job_run(JobName="old")["JobRunId"], timeout=30)

    assert run["JobRunState"] == "FAILED"
    assert message in run["ErrorMessage"]
    assert "PySpark 3.5" in run["ErrorMessage"]


def test_missing_script_fails_the_run(aws: Any) -> None:
    make_bucket(aws, BUCKET)
    glue = aws.client("glue")
    glue.create_job(Name="ghost", Role=SUITE_GLUE_ROLE_ARN, GlueVersion="5.0",
                    Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/scripts/missing.py"})

    run = wait_for_job_run(glue, "ghost", glue.start_job_run(JobName="ghost")["JobRunId"], timeout=30)

    assert run["JobRunState"] == "FAILED"
    assert f"s3://{BUCKET}/scripts/missing.py" in run["ErrorMessage"]


SPARK_SCRIPT = b'''
import sys
from pyspark.sql import SparkSession, functions as F

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
spark = SparkSession.builder.appName(args["--JOB_NAME"]).getOrCreate()
events = spark.read.option("header", "true").option("inferSchema", "true").csv(args["--input_path"])
totals = events.groupBy("brand").agg(F.sum("units").alias("units")).orderBy("brand")
totals.write.mode("overwrite").parquet(args["--output_path"] + "parquet/")
totals.coalesce(1).write.mode("overwrite").option("header", "true").csv(args["--output_path"] + "csv/")
spark.stop()
'''


@pytest.mark.spark
def test_pyspark_job_reads_csv_and_writes_parquet_and_csv_to_s3(aws: Any) -> None:
    s3 = make_bucket(aws, BUCKET)
    s3.put_object(Bucket=BUCKET, Key="raw/part-1.csv", Body=b"brand,units\nvw,1\nbmw,2\nvw,3\n")
    s3.put_object(Bucket=BUCKET, Key="raw/part-2.csv", Body=b"brand,units\naudi,5\n")
    glue = create_job(aws, "totals", SPARK_SCRIPT, GlueVersion="5.1",
                      DefaultArguments={"--input_path": f"s3://{BUCKET}/raw/", "--output_path": f"s3://{BUCKET}/out/"})

    run_id = glue.start_job_run(JobName="totals")["JobRunId"]
    run = wait_for_job_run(glue, "totals", run_id, timeout=300)

    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    keys = [obj["Key"] for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="out/")["Contents"]]
    parquet = [key for key in keys if key.startswith("out/parquet/") and key.endswith(".parquet")]
    csv = [key for key in keys if key.startswith("out/csv/") and key.endswith(".csv")]
    assert parquet and len(csv) == 1
    assert not any(key.endswith(".crc") for key in keys)
    for key in parquet:
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert body[:4] == b"PAR1" and body[-4:] == b"PAR1"
    text = s3.get_object(Bucket=BUCKET, Key=csv[0])["Body"].read().decode()
    assert text.splitlines() == ["brand,units", "audi,5", "bmw,2", "vw,4"]
