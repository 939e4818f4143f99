"""Timings of the local endpoint (not a test): `python -m benchmarks.local_endpoint [--data DIR]`.

Starts the endpoint in the background (`up`, as `reconcile local up` does), then with plain boto3:
uploads the data directory and the job script, crawls the data three times, runs a trivial script job
three times (no Spark), a trivial PySpark job three times, and the project's job script once over the data.
Prints each time and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from reconciler_local import down, up

REPO = Path(__file__).resolve().parents[1]
BUCKET = "bench-bucket"
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR"}
TRIVIAL_SPARK = b"from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\n" \
                b"print(spark.range(10).count())\nspark.stop()\n"


def crawl(glue: Any, name: str) -> float:
    started = time.monotonic()
    glue.start_crawler(Name=name)
    while True:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY" and crawler.get("LastCrawl", {}).get("StartTime"):
            crawls = glue.list_crawls(CrawlerName=name)["Crawls"]
            if crawls and crawls[0]["State"] != "RUNNING":
                assert crawler["LastCrawl"]["Status"] == "SUCCEEDED", crawler["LastCrawl"]
                return time.monotonic() - started
        time.sleep(0.05)


def run_job(glue: Any, name: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    run_id = glue.start_job_run(JobName=name)["JobRunId"]
    while True:
        run: dict[str, Any] = glue.get_job_run(JobName=name, RunId=run_id)["JobRun"]
        if run["JobRunState"] in TERMINAL:
            return time.monotonic() - started, run
        time.sleep(0.05)


def report(label: str, times: list[float]) -> None:
    print(f"{label}: median {statistics.median(times):.2f}s ({', '.join(f'{t:.2f}' for t in times)})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=REPO / "Data" / "car_brands")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="bench-endpoint-"))
    started = time.monotonic()
    state = up(state_dir)
    print(f"endpoint up in {time.monotonic() - started:.2f}s at {state.url}")
    try:
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                        region_name="eu-central-1")
        s3 = session.client("s3", endpoint_url=state.url)
        glue = session.client("glue", endpoint_url=state.url)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        files = [path for path in sorted(args.data.rglob("*")) if path.is_file()]
        for path in files:
            s3.upload_file(str(path), BUCKET, f"raw/car_brands/{path.relative_to(args.data).as_posix()}")
        size = sum(path.stat().st_size for path in files)
        print(f"uploaded {len(files)} files, {size / 1e6:.1f} MB")

        glue.create_crawler(Name="raw", Role="r", DatabaseName="car_brands", TablePrefix="raw_",
                            Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/raw/car_brands/"}]})
        report("crawl", [crawl(glue, "raw") for _ in range(args.repeat)])
        table = glue.get_table(DatabaseName="car_brands", Name="raw_car_brands")["Table"]
        print("  table:", [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]],
              "partitions:", [k["Name"] for k in table["PartitionKeys"]])

        s3.put_object(Bucket=BUCKET, Key="scripts/trivial.py", Body=b"print('hello')\n")
        s3.put_object(Bucket=BUCKET, Key="scripts/trivial_spark.py", Body=TRIVIAL_SPARK)
        for name, script in (("trivial", "trivial.py"), ("trivial_spark", "trivial_spark.py")):
            glue.create_job(Name=name, Role="r", GlueVersion="5.0",
                            Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/scripts/{script}"})
            times = []
            for _ in range(args.repeat):
                elapsed, run = run_job(glue, name)
                assert run["JobRunState"] == "SUCCEEDED", run
                times.append(elapsed)
            report(f"job run {name}", times)

        job_script = REPO / "glue_scripts" / "car_brands_job.py"
        if job_script.exists():
            s3.upload_file(str(job_script), BUCKET, "scripts/car_brands_job.py")
            glue.create_job(Name="car-brands-prepare", Role="r", GlueVersion="5.0",
                            Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/scripts/car_brands_job.py"},
                            DefaultArguments={"--input_path": f"s3://{BUCKET}/raw/car_brands/",
                                              "--output_path": f"s3://{BUCKET}/prepared/"})
            elapsed, run = run_job(glue, "car-brands-prepare")
            print(f"car_brands_job.py over the data: {run['JobRunState']} in {elapsed:.2f}s",
                  run.get("ErrorMessage", ""))
            keys = [obj["Key"] for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="prepared/",
                                                             MaxKeys=1000).get("Contents", [])]
            print(f"  {len(keys)} output objects, e.g. {keys[:3]}")
    finally:
        down(state_dir)


if __name__ == "__main__":
    main()
