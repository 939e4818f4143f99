"""spec.quicksight.dataset as resource kinds on the local endpoint: create with ownership tags and
principals, drift (behind our back) planned back, a foreign data source is a conflict, delete; and the SPICE
ingestion after a promote (runs written with plain boto3, test_quarters.fake_run), recorded per run."""

from __future__ import annotations

import json
from typing import Any

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
    assert {"Name": "event_date", "Type": "DATETIME"} in s3_source["InputColumns"]
    assert {"Name": "events", "Type": "INTEGER"} in s3_source["InputColumns"]
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
    params = {"S3Parameters": {"ManifestFileLocation": {"Bucket": "x", "Key": "m"}}}
    qs.create_data_source(AwsAccountId=account, DataSourceId="car-brands-src", Name="theirs", Type="S3",
                          DataSourceParameters=params)  # fmt: skip
    assert project.changes()["quicksight_data_source.car-brands-src"]["action"] == "conflict"
    assert project.cli("apply", "--auto-approve").exit_code != 0
    source = qs.describe_data_source(AwsAccountId=account, DataSourceId="car-brands-src")["DataSource"]
    assert source["Name"] == "theirs"  # untouched


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
    assert "QuickSight data set car-brands: ingestion reconcile-20270101T060000Z-bbbbbb COMPLETED (2 rows)" in " ".join(
        promoted.output.split()
    )
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
    assert f"refresh QuickSight data set car-brands: ingestion reconcile-{run_id} FAILED: S3_FILE_INACCESSIBLE" in shown


def test_permissions_grant_the_quicksight_calls_and_name_the_service_role(project: Project, aws: Any) -> None:
    with_dataset(project, aws)
    result = project.cli("permissions", "--account-id", "111122223333")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "as its service role aws-quicksight-service-role-v0, not as you: allow that role s3:GetObject" in text
    document = json.loads(project.cli("permissions", "--json", "--account-id", "111122223333").stdout)
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert by_sid["QuickSightDataSet"]["Resource"] == [
        "arn:aws:quicksight:eu-central-1:111122223333:dataset/car-brands",
        "arn:aws:quicksight:eu-central-1:111122223333:dataset/car-brands/ingestion/*",
    ]
    assert "quicksight:PassDataSource" in by_sid["QuickSightDataSource"]["Action"]


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
    assert "refresh: QuickSight data set car-brands: ingestion reconcile-" in output and "COMPLETED (3 rows)" in output
    (row,) = history_of(project).values()
    assert row["state"] == "published" and row["ingestion"] == "COMPLETED"
