"""spec.quicksight.dataset as resource kinds on the local endpoint: create with ownership tags and
principals, drift (behind our back) planned back, a foreign data source is a conflict, delete; and the SPICE
ingestion after a promote (runs written with plain boto3, test_quarters.fake_run), recorded per run."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from reconciler_local import call_admin
from tests.helpers import IAM_PROPAGATION_SECONDS

from .conftest import BUCKET, Project
from .test_quarters import fake_run

DATASET = """      format: CSV
    dataset:
      data_source: car-brands-src
      data_set: car-brands
      principals:
        - arn: {alice}
          access: owner
"""


def with_dataset(project: Project, aws: Any) -> tuple[Any, str, str]:
    account: str = aws.client("sts").get_caller_identity()["Account"]
    alice = f"arn:aws:quicksight:{aws.region}:{account}:user/default/alice"
    project.edit("      format: CSV\n", DATASET.format(alice=alice))
    return aws.client("quicksight"), account, alice


def test_apply_creates_the_data_source_and_spice_data_set_tagged_with_principals(project: Project, aws: Any) -> None:
    qs, account, alice = with_dataset(project, aws)
    changes = project.changes()
    assert changes["quicksight_data_source.car-brands-src"]["action"] == "create"
    assert changes["quicksight_data_set.car-brands"]["action"] == "create"
    plan = project.plan_json()
    assert any("service role aws-quicksight-service-role-v0" in w and BUCKET in w for w in plan["warnings"])
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    source = qs.describe_data_source(AwsAccountId=account, DataSourceId="car-brands-src")["DataSource"]
    assert source["Type"] == "S3"
    assert source["DataSourceParameters"]["S3Parameters"]["ManifestFileLocation"] == {
        "Bucket": BUCKET, "Key": "quicksight/manifest.json"}  # fmt: skip
    data_set = qs.describe_data_set(AwsAccountId=account, DataSetId="car-brands")["DataSet"]
    assert data_set["ImportMode"] == "SPICE"
    s3_source = data_set["PhysicalTableMap"]["manifest"]["S3Source"]
    assert s3_source["DataSourceArn"] == source["Arn"]
    # A CSV file's input columns are all STRING (botocore: S3Source.InputColumns), typed by casts.
    assert {c["Type"] for c in s3_source["InputColumns"]} == {"STRING"}
    casts = {t["CastColumnTypeOperation"]["ColumnName"]: t["CastColumnTypeOperation"]["NewColumnType"]
             for t in data_set["LogicalTableMap"]["typed"]["DataTransforms"]}  # fmt: skip
    assert casts["event_date"] == "DATETIME" and casts["events"] == "INTEGER" and "brand" not in casts
    # Nothing published yet: the data source was created on the placeholder manifest, which names one header-only
    # file under the internal prefix.
    placeholder = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key="quicksight/manifest.json")["Body"].read())
    assert placeholder["fileLocations"][0]["URIPrefixes"] == [f"s3://{BUCKET}/.reconciler/quicksight/placeholder/"]
    assert source["Status"] == "CREATION_SUCCESSFUL"
    tags = {t["Key"]: t["Value"] for t in qs.list_tags_for_resource(ResourceArn=data_set["Arn"])["Tags"]}
    assert tags["reconciler:pipeline"] == "car-brands" and tags["reconciler:managed"] == "true"
    perms = qs.describe_data_set_permissions(AwsAccountId=account, DataSetId="car-brands")["Permissions"]
    assert [p["Principal"] for p in perms] == [alice] and "quicksight:UpdateDataSet" in perms[0]["Actions"]
    source_perms = qs.describe_data_source_permissions(AwsAccountId=account, DataSourceId="car-brands-src")
    assert "quicksight:PassDataSource" in source_perms["Permissions"][0]["Actions"]
    assert project.changes() == {}  # converged

    # Drift behind our back: a principal revoked, the import mode changed; the plan puts both back.
    revoke = [{"Principal": alice, "Actions": ["quicksight:UpdateDataSet"]}]
    qs.update_data_set_permissions(AwsAccountId=account, DataSetId="car-brands", RevokePermissions=revoke)
    qs.update_data_set(AwsAccountId=account, DataSetId="car-brands", Name="car-brands", ImportMode="DIRECT_QUERY",
                       PhysicalTableMap=data_set["PhysicalTableMap"])  # fmt: skip
    drift = project.changes()
    assert (
        list(drift) == ["quicksight_data_set.car-brands"]
        and drift["quicksight_data_set.car-brands"]["action"] == "update"
    )
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert qs.describe_data_set(AwsAccountId=account, DataSetId="car-brands")["DataSet"]["ImportMode"] == "SPICE"
    perms = qs.describe_data_set_permissions(AwsAccountId=account, DataSetId="car-brands")["Permissions"]
    assert "quicksight:UpdateDataSet" in perms[0]["Actions"]
    assert project.changes() == {}

    # A renamed data set: the new one is created, the old one (ours, no longer declared) deleted.
    project.edit("      data_set: car-brands\n", "      data_set: car-brands-v2\n")
    renamed = project.changes()
    assert renamed["quicksight_data_set.car-brands"]["action"] == "delete"
    assert renamed["quicksight_data_set.car-brands-v2"]["action"] == "create"
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert [d["DataSetId"] for d in qs.list_data_sets(AwsAccountId=account)["DataSetSummaries"]] == ["car-brands-v2"]

    # destroy deletes both (the bucket holds objects: --force).
    assert project.cli("destroy", "--auto-approve", "--force").exit_code == 0
    assert qs.list_data_sources(AwsAccountId=account)["DataSources"] == []
    assert qs.list_data_sets(AwsAccountId=account)["DataSetSummaries"] == []


def test_a_data_source_someone_else_made_under_the_declared_id_is_not_taken_over(project: Project, aws: Any) -> None:
    qs, account, _ = with_dataset(project, aws)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="someone-elses", CreateBucketConfiguration={"LocationConstraint": aws.region})
    s3.put_object(Bucket="someone-elses", Key="m", Body=b'{"fileLocations": [{"URIs": ["s3://someone-elses/data.csv"]}]}')
    params = {"S3Parameters": {"ManifestFileLocation": {"Bucket": "someone-elses", "Key": "m"}}}
    qs.create_data_source(AwsAccountId=account, DataSourceId="car-brands-src", Name="theirs", Type="S3",
                          DataSourceParameters=params)  # fmt: skip
    assert project.changes()["quicksight_data_source.car-brands-src"]["action"] == "conflict"
    assert project.cli("apply", "--auto-approve").exit_code != 0
    source = qs.describe_data_source(AwsAccountId=account, DataSourceId="car-brands-src")["DataSource"]
    assert source["Name"] == "theirs"  # untouched


def test_a_manifest_quicksight_cannot_read_is_retried_then_named_with_the_service_role(
    project: Project, aws: Any, monkeypatch: Any
) -> None:
    """CreateDataSource answering "Insufficient permission to access the manifest file" (terraform-provider-aws
    data_source.go retries it) is retried; when it persists the error names QuickSight's service role and the
    bucket, not the caller's quicksight:CreateDataSource."""
    from reconciler.resources import glue_common

    with_dataset(project, aws)
    monkeypatch.setattr(glue_common, "IAM_PROPAGATION_TIMEOUT", 2.0)
    monkeypatch.setattr(glue_common, "propagation_sleep", lambda seconds: time.sleep(0.2))
    message = "Insufficient permission to access the manifest file"
    call_admin(project.endpoint, "faults", {"permanent": {"operation": "quicksight:CreateDataSource",
                                                          "code": "AccessDeniedException", "message": message}})
    result = project.cli("apply", "--auto-approve")
    injected = call_admin(project.endpoint, "faults")["injected"]
    call_admin(project.endpoint, "faults", {})
    assert injected.get("permanent", 0) >= 2, (injected, result.output)  # retried
    assert result.exit_code != 0
    output = " ".join(result.output.split())
    assert "service role aws-quicksight-service-role-v0" in output and f"s3://{BUCKET}" in output, output
    assert "the caller needs quicksight:CreateDataSource" not in output
    # The person fixes QuickSight's S3 access, which takes longer than IAM propagation of the role the first apply
    # created: this test shortened the CLI's propagation retries (above), so without this wait the crawler's
    # CreateCrawler could still meet the endpoint's propagation window, depending on the machine's speed.
    time.sleep(IAM_PROPAGATION_SECONDS)
    assert project.cli("apply", "--auto-approve").exit_code == 0  # and once QuickSight can read it, it is created


def history_of(project: Project) -> dict[str, Any]:
    result = project.cli("history", "--json")
    assert result.exit_code == 0, result.output
    return {row["run_id"]: row for row in json.loads(result.stdout)["runs"]}


def test_promote_refreshes_spice_and_the_run_record_keeps_the_ingestion(project: Project, aws: Any) -> None:
    with_dataset(project, aws)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    fake_run(aws, "20261001T060000Z-aaaaaa", "2026-Q3", "2026-10-01T06:00:00Z")
    fake_run(aws, "20270101T060000Z-bbbbbb", "2026-Q4", "2027-01-01T06:00:00Z")
    assert project.cli("promote", "20261001T060000Z-aaaaaa", "--auto-approve", "--allow-failed-gate").exit_code == 0
    promoted = project.cli("promote", "20270101T060000Z-bbbbbb", "--auto-approve", "--allow-failed-gate")
    assert promoted.exit_code == 0, promoted.output
    said = " ".join(promoted.output.split())
    assert re.search(r"QuickSight data set car-brands: ingestion reconcile-20270101T060000Z-bbbbbb-a[0-9]{20} "
                     r"COMPLETED \(2 rows\)", said), said  # fmt: skip
    runs = history_of(project)
    assert runs["20261001T060000Z-aaaaaa"]["ingestion"] == "COMPLETED"
    shown = json.loads(project.cli("show", "20270101T060000Z-bbbbbb", "--json").stdout)["record"]["ingestion"]
    # fake_run's CSV holds one data row per run; the manifest now lists both quarters' prefixes.
    assert (shown["state"], shown["rows_ingested"], shown["data_set"]) == ("COMPLETED", 2, "car-brands")
    table = project.cli("history")  # piped: plain columns, the SPICE refresh's state in its own column
    assert table.exit_code == 0, table.output
    header, *lines = table.output.splitlines()
    assert header.split()[-1] == "spice" and all(line.split()[-1] == "COMPLETED" for line in lines), table.output


def test_an_unreadable_published_file_fails_the_ingestion_with_quicksights_error(project: Project, aws: Any) -> None:
    with_dataset(project, aws)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    run_id = "20261001T060000Z-aaaaaa"
    fake_run(aws, run_id, "2026-Q3", "2026-10-01T06:00:00Z")
    aws.client("s3").put_object(Bucket=BUCKET, Key=f"prepared/runs/{run_id}/aggregated/csv/part-00000.csv",
                                Body=b"\xff\xfe\x00 not text")  # fmt: skip
    failed = project.cli("promote", run_id, "--auto-approve", "--allow-failed-gate")
    assert failed.exit_code == 1
    output = " ".join(failed.output.split())
    assert "is published, but QuickSight's SPICE ingestion" in output and "ended FAILED: S3_FILE_INACCESSIBLE" in output
    assert "Traceback" not in failed.output and f"promote {run_id}" in output  # the hint re-runs the refresh
    assert history_of(project)[run_id]["ingestion"] == "FAILED"
    shown = " ".join(project.cli("show", run_id).output.split())
    assert f"refresh QuickSight data set car-brands: ingestion reconcile-{run_id}-" in shown
    assert "FAILED: S3_FILE_INACCESSIBLE" in shown
    # The documented retry: fix the file, promote the run again. Ingestion ids are single-use (the endpoint
    # refuses a used one with ResourceExistsException, as CreateIngestion documents): the retry takes a new one.
    aws.client("s3").put_object(Bucket=BUCKET, Key=f"prepared/runs/{run_id}/aggregated/csv/part-00000.csv",
                                Body=b"year_quarter,brand,events\n2026-Q3,BMW,1\n")  # fmt: skip
    again = project.cli("promote", run_id, "--auto-approve", "--allow-failed-gate")
    assert again.exit_code == 0, again.output
    assert history_of(project)[run_id]["ingestion"] == "COMPLETED"


def test_permissions_grant_the_quicksight_calls_and_name_the_service_role(project: Project, aws: Any) -> None:
    with_dataset(project, aws)
    result = project.cli("permissions", "--account-id", "111122223333")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    role = "aws-quicksight-service-role-v0"
    assert f"as its service role {role}, not as you: allow {role} s3:GetObject and s3:ListBucket" in text
    document = json.loads(project.cli("permissions", "--json", "--account-id", "111122223333").stdout)
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    data_set = "arn:aws:quicksight:eu-central-1:111122223333:dataset/car-brands"
    assert by_sid["QuickSightDataSet"]["Resource"] == [data_set]
    assert by_sid["QuickSightIngestions"]["Resource"] == [
        "arn:aws:quicksight:eu-central-1:111122223333:dataset/car-brands/ingestion/*"]
    # SAR: CreateDataSet is authorised on the data source and needs PassDataSource; CreateDataSource has no
    # resource type
    assert {"quicksight:PassDataSource", "quicksight:CreateDataSet"} <= set(by_sid["QuickSightDataSource"]["Action"])
    assert by_sid["QuickSightCreateDataSource"]["Resource"] == ["*"]


#: A job (plain Python, no Spark) that leaves what a finished run of the real job leaves: the report and the CSV.
#: The endpoint stages s3:// arguments as local paths and uploads what the job wrote (reconciler_local/glue/staging.py).
PLAIN_JOB = """
import json, os, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
out, quarter = args["--output_path"], args["--run_quarter"]
report = {"run_id": args["--run_id"], "run_quarter": quarter, "quarters": [quarter], "rows_read": 3,
          "rows_valid": 3, "rows_rejected": 0, "duplicates_dropped": 0, "brands_seen": ["BMW"],
          "valid_by_brand": {"BMW": 3}}
os.makedirs(os.path.join(out, "aggregated", "csv"), exist_ok=True)
os.makedirs(os.path.join(out, "reports"), exist_ok=True)
with open(os.path.join(out, "aggregated", "csv", "part-00000.csv"), "w") as f:
    f.write("year_quarter,brand,events" + chr(10) + "".join(f"{quarter},BMW,{i}" + chr(10) for i in range(3)))
with open(os.path.join(out, "reports", "run_report.json"), "w") as f:
    json.dump(report, f)
"""


def test_run_refreshes_spice_after_it_publishes_and_records_it(project: Project, aws: Any) -> None:
    with_dataset(project, aws)
    text = project.spec.read_text()
    start, end = text.index("  quality:"), text.index("  publish:")
    project.spec.write_text(text[:start] + "  quality:\n    min_rows_read: 1\n\n" + text[end:])
    (project.root / "glue_scripts" / "car_brands_job.py").write_text(PLAIN_JOB)
    result = project.cli("run", "--timeout", "300")
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    refreshed = "refresh: QuickSight data set car-brands: ingestion reconcile-"
    assert refreshed in output and "COMPLETED (3 rows)" in output, output[-3000:]
    (row,) = history_of(project).values()
    assert row["state"] == "published" and row["ingestion"] == "COMPLETED"
