"""The endpoint's QuickSight additions (src/reconciler_local/quicksight.py, docs/quicksight.md): data sets kept
whole, permissions of data sources and data sets, and ingestions that read the manifest's objects; the manifest
read at CreateDataSource, the asynchronous statuses, STRING-only input columns for CSV, single-use ingestion ids."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler_local import call_admin, down, up
from reconciler_local.persistence import SAVE_INTERVAL
from tests.conftest import Aws

BUCKET = "qs-endpoint-test"
VALID = json.dumps({"fileLocations": [{"URIPrefixes": [f"s3://{BUCKET}/data/"]}]}).encode()


def _account(aws: Aws) -> str:
    account: str = aws.client("sts").get_caller_identity()["Account"]
    return account


def _wait_for_source(qs: Any, account: str, source_id: str = "src") -> dict[str, Any]:
    for _ in range(50):
        found: dict[str, Any] = qs.describe_data_source(AwsAccountId=account, DataSourceId=source_id)["DataSource"]
        if not found["Status"].endswith("_IN_PROGRESS"):
            return found
        time.sleep(0.05)
    raise AssertionError("the data source stayed in progress")


def _create_source(aws: Aws, manifest: bytes = VALID) -> tuple[Any, str, str]:
    s3, qs, account = aws.client("s3"), aws.client("quicksight"), _account(aws)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
    s3.put_object(Bucket=BUCKET, Key="data/part-00000.csv", Body=b"brand,events\nAudi,3\nBMW,4\n")
    s3.put_object(Bucket=BUCKET, Key="data/nested/other.csv", Body=b"brand,events\nX,1\n")  # not under URIPrefixes
    s3.put_object(Bucket=BUCKET, Key="manifest.json", Body=manifest)
    source = qs.create_data_source(
        AwsAccountId=account, DataSourceId="src", Name="src", Type="S3",
        DataSourceParameters={"S3Parameters": {"ManifestFileLocation": {"Bucket": BUCKET, "Key": "manifest.json"}}},
    )  # fmt: skip
    return qs, account, str(source["Arn"])


def _setup(aws: Aws, manifest: bytes | None) -> tuple[Any, str]:
    """A data source on a valid manifest and a SPICE data set on it; then `manifest` replaces the manifest."""
    qs, account, source_arn = _create_source(aws)
    assert _wait_for_source(qs, account)["Status"] == "CREATION_SUCCESSFUL"
    qs.create_data_set(
        AwsAccountId=account, DataSetId="ds", Name="ds", ImportMode="SPICE",
        PhysicalTableMap={"t": {"S3Source": {"DataSourceArn": source_arn, "InputColumns": [
            {"Name": "brand", "Type": "STRING"}, {"Name": "events", "Type": "STRING"}]}}},
        LogicalTableMap={"typed": {"Alias": "ds", "Source": {"PhysicalTableId": "t"}, "DataTransforms": [
            {"CastColumnTypeOperation": {"ColumnName": "events", "NewColumnType": "INTEGER"}}]}},
    )  # fmt: skip
    if manifest is not None:
        aws.client("s3").put_object(Bucket=BUCKET, Key="manifest.json", Body=manifest)
    return qs, account


def _ingest(qs: Any, account: str, ingestion_id: str) -> dict[str, Any]:
    started = qs.create_ingestion(AwsAccountId=account, DataSetId="ds", IngestionId=ingestion_id)
    assert started["IngestionStatus"] == "INITIALIZED"
    for _ in range(50):
        found: dict[str, Any] = qs.describe_ingestion(AwsAccountId=account, DataSetId="ds", IngestionId=ingestion_id)[
            "Ingestion"
        ]
        if found["IngestionStatus"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return found
        time.sleep(0.1)
    raise AssertionError("ingestion never ended")


def test_an_ingestion_counts_the_rows_of_the_objects_directly_under_the_manifests_prefixes(aws: Aws) -> None:
    manifest = {"fileLocations": [{"URIPrefixes": [f"s3://{BUCKET}/data/"]}],
                "globalUploadSettings": {"format": "CSV", "containsHeader": "true"}}  # fmt: skip
    qs, account = _setup(aws, json.dumps(manifest).encode())
    done = _ingest(qs, account, "i1")
    assert done["IngestionStatus"] == "COMPLETED"
    assert done["RowInfo"]["RowsIngested"] == 2  # two data rows; the header and the nested object not counted
    described = qs.describe_data_set(AwsAccountId=account, DataSetId="ds")["DataSet"]
    assert described["ImportMode"] == "SPICE"
    assert described["PhysicalTableMap"]["t"]["S3Source"]["InputColumns"][1] == {"Name": "events", "Type": "STRING"}
    cast = described["LogicalTableMap"]["typed"]["DataTransforms"][0]["CastColumnTypeOperation"]
    assert cast == {"ColumnName": "events", "NewColumnType": "INTEGER"}


def test_a_broken_manifest_fails_the_ingestion_with_quicksights_error(aws: Aws) -> None:
    qs, account = _setup(aws, b"not json")
    failed = _ingest(qs, account, "bad")
    assert failed["IngestionStatus"] == "FAILED"
    assert failed["ErrorInfo"]["Type"] == "S3_MANIFEST_ERROR"
    empty = {"fileLocations": [{"URIPrefixes": [f"s3://{BUCKET}/nothing-here/"]}]}
    aws.client("s3").put_object(Bucket=BUCKET, Key="manifest.json", Body=json.dumps(empty).encode())
    no_objects = _ingest(qs, account, "empty")
    assert no_objects["IngestionStatus"] == "FAILED" and "name no S3 object" in no_objects["ErrorInfo"]["Message"]


def test_permissions_of_data_sources_and_data_sets_are_granted_and_revoked(aws: Aws) -> None:
    qs, account = _setup(aws, None)
    user = f"arn:aws:quicksight:eu-central-1:{account}:user/default/alice"
    grant = [{"Principal": user, "Actions": ["quicksight:DescribeDataSource"]}]
    qs.update_data_source_permissions(AwsAccountId=account, DataSourceId="src", GrantPermissions=grant)
    assert qs.describe_data_source_permissions(AwsAccountId=account, DataSourceId="src")["Permissions"] == [
        {"Principal": user, "Actions": ["quicksight:DescribeDataSource"]}
    ]
    actions = ["quicksight:DescribeDataSet", "quicksight:CreateIngestion"]
    qs.update_data_set_permissions(AwsAccountId=account, DataSetId="ds",
                                   GrantPermissions=[{"Principal": user, "Actions": actions}])  # fmt: skip
    revoke = [{"Principal": user, "Actions": ["quicksight:CreateIngestion"]}]
    qs.update_data_set_permissions(AwsAccountId=account, DataSetId="ds", RevokePermissions=revoke)
    assert qs.describe_data_set_permissions(AwsAccountId=account, DataSetId="ds")["Permissions"] == [
        {"Principal": user, "Actions": ["quicksight:DescribeDataSet"]}
    ]
    qs.delete_data_set(AwsAccountId=account, DataSetId="ds")
    try:
        qs.describe_data_set(AwsAccountId=account, DataSetId="ds")
    except qs.exceptions.ResourceNotFoundException:
        pass
    else:
        raise AssertionError("the deleted data set is still described")


def test_data_sets_permissions_and_ingestions_survive_down_then_up(tmp_path: Path) -> None:
    """The QuickSight additions keep their state in moto's backend objects, which persistence.py pickles."""
    state_dir = tmp_path / ".reconciler"
    try:
        first = up(state_dir)
        qs, account = _setup(Aws(url=first.url), json.dumps({"fileLocations": [{"URIs": [
            f"s3://{BUCKET}/data/part-00000.csv"]}]}).encode())  # fmt: skip
        done = _ingest(qs, account, "before")
        assert done["IngestionStatus"] == "COMPLETED" and done["RowInfo"]["RowsIngested"] == 2
        user = f"arn:aws:quicksight:eu-central-1:{account}:group/default/analysts"
        grant = [{"Principal": user, "Actions": ["quicksight:DescribeDataSet"]}]
        qs.update_data_set_permissions(AwsAccountId=account, DataSetId="ds", GrantPermissions=grant)
        time.sleep(SAVE_INTERVAL + 0.5)
        assert down(state_dir) is True
        second = up(state_dir)
        qs = Aws(url=second.url).client("quicksight")
        kept = qs.describe_ingestion(AwsAccountId=account, DataSetId="ds", IngestionId="before")["Ingestion"]
        assert kept["IngestionStatus"] == "COMPLETED"
        assert qs.describe_data_set(AwsAccountId=account, DataSetId="ds")["DataSet"]["ImportMode"] == "SPICE"
        assert qs.describe_data_set_permissions(AwsAccountId=account, DataSetId="ds")["Permissions"] == grant
    finally:
        down(state_dir)


def test_create_data_source_reads_the_manifest_as_quicksights_service_role(aws: Aws) -> None:
    """A missing manifest is refused with the AccessDeniedException terraform-provider-aws retries; an invalid one
    ends CREATION_FAILED with ErrorInfo; a valid one goes CREATION_IN_PROGRESS -> CREATION_SUCCESSFUL."""
    qs, account, _ = _create_source(aws, b"not json")
    assert qs.describe_data_source(AwsAccountId=account, DataSourceId="src")["DataSource"]["Status"] == (
        "CREATION_IN_PROGRESS"
    )
    failed = _wait_for_source(qs, account)
    assert failed["Status"] == "CREATION_FAILED" and "not valid JSON" in failed["ErrorInfo"]["Message"]
    with pytest.raises(qs.exceptions.AccessDeniedException, match="Insufficient permission to access the manifest"):
        qs.create_data_source(
            AwsAccountId=account, DataSourceId="nothing", Name="nothing", Type="S3",
            DataSourceParameters={"S3Parameters": {"ManifestFileLocation": {"Bucket": BUCKET, "Key": "absent.json"}}},
        )  # fmt: skip
    qs.update_data_source(
        AwsAccountId=account, DataSourceId="src", Name="src",
        DataSourceParameters={"S3Parameters": {"ManifestFileLocation": {"Bucket": BUCKET, "Key": "manifest.json"}}},
    )  # fmt: skip
    aws.client("s3").put_object(Bucket=BUCKET, Key="manifest.json", Body=VALID)
    qs.update_data_source(
        AwsAccountId=account, DataSourceId="src", Name="src",
        DataSourceParameters={"S3Parameters": {"ManifestFileLocation": {"Bucket": BUCKET, "Key": "manifest.json"}}},
    )  # fmt: skip
    assert _wait_for_source(qs, account)["Status"] == "UPDATE_SUCCESSFUL"


def test_a_data_set_needs_a_ready_data_source_and_string_input_columns_for_csv(aws: Aws) -> None:
    call_admin(aws.url, "settings", {"quicksight_async_seconds": 5})
    qs, account, source_arn = _create_source(aws)
    table = {"t": {"S3Source": {"DataSourceArn": source_arn, "InputColumns": [{"Name": "brand", "Type": "STRING"}]}}}
    with pytest.raises(qs.exceptions.InvalidParameterValueException, match="CREATION_IN_PROGRESS"):
        qs.create_data_set(AwsAccountId=account, DataSetId="ds", Name="ds", ImportMode="SPICE",
                           PhysicalTableMap=table)  # fmt: skip
    call_admin(aws.url, "settings", {"quicksight_async_seconds": 0})
    _wait_for_source(qs, account)
    typed = {"t": {"S3Source": {"DataSourceArn": source_arn, "UploadSettings": {"Format": "CSV"},
                                "InputColumns": [{"Name": "events", "Type": "INTEGER"}]}}}  # fmt: skip
    with pytest.raises(qs.exceptions.InvalidParameterValueException, match="only STRING data types"):
        qs.create_data_set(AwsAccountId=account, DataSetId="ds", Name="ds", ImportMode="SPICE",
                           PhysicalTableMap=typed)  # fmt: skip
    typed["t"]["S3Source"]["UploadSettings"] = {"Format": "JSON"}
    qs.create_data_set(AwsAccountId=account, DataSetId="ds", Name="ds", ImportMode="SPICE", PhysicalTableMap=typed)


def test_an_ingestion_id_is_single_use_and_an_ingestion_is_queued_then_running(aws: Aws) -> None:
    call_admin(aws.url, "settings", {"quicksight_async_seconds": 0.5})
    qs, account = _setup(aws, None)
    qs.create_ingestion(AwsAccountId=account, DataSetId="ds", IngestionId="once")
    seen: list[str] = []
    for _ in range(60):
        state = qs.describe_ingestion(AwsAccountId=account, DataSetId="ds", IngestionId="once")["Ingestion"][
            "IngestionStatus"
        ]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == "COMPLETED":
            break
        time.sleep(0.05)
    assert seen == ["QUEUED", "RUNNING", "COMPLETED"]
    with pytest.raises(qs.exceptions.ResourceExistsException):
        qs.create_ingestion(AwsAccountId=account, DataSetId="ds", IngestionId="once")
