"""The pure half of `reconcile import` (adopt/importer.py): what differs from our spec defaults is written, the
rest left out, and the text is a valid spec that means what was found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.adopt.importer import Found, render_spec, write_import
from reconciler.errors import UsageError
from reconciler.resources.bucket_settings import flatten_encryption
from reconciler.spec.load import load_spec

ROLE = "arn:aws:iam::123456789012:role/service-role/AWSGlueServiceRole-events"


def found(job: dict[str, Any] | None = None, crawler: dict[str, Any] | None = None, **kw: Any) -> Found:
    command = {"Name": "glueetl", "ScriptLocation": "s3://b-data/scripts/etl.py", "PythonVersion": "3"}
    base_job = {"Name": "etl", "Role": ROLE, "GlueVersion": "5.0", "WorkerType": "G.1X", "NumberOfWorkers": 2,
                "Command": command}  # fmt: skip
    base_crawler = {"Name": "crawl", "Role": "service-role/AWSGlueServiceRole-events", "DatabaseName": "db",
                    "Targets": {"S3Targets": [{"Path": "s3://b-data/raw/"}]}, "State": "READY"}  # fmt: skip
    args: dict[str, Any] = {
        "region": "eu-west-1", "bucket": "b-data", "bucket_attrs": {"versioning": False, "encryption": None},
        "bucket_tags": {}, "object_count": 3, "raw_keys": ("raw/a.csv",), "raw_count": 1, "role_arn": ROLE,
        "database": {"Name": "db"}, "crawler": {**base_crawler, **(crawler or {})}, "job": {**base_job, **(job or {})},
        "script_key": "scripts/etl.py", "script_body": b"print(1)\n", "script_etag": '"x"',
    }  # fmt: skip
    return Found(**{**args, **kw})


def spec_body(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def test_defaults_are_left_out() -> None:
    body = spec_body(render_spec(found(job={"Timeout": 480, "MaxRetries": 0})))
    for absent in ("glue_version", "worker_type", "number_of_workers", "timeout_minutes", "max_retries", "versioning",
                   "encryption", "table_prefix", "schema_change_policy", "recrawl_policy", "schedule"):  # fmt: skip
        assert absent not in body, absent


def test_what_differs_is_explicit() -> None:
    text = render_spec(found(
        job={"GlueVersion": "4.0", "WorkerType": "G.2X", "NumberOfWorkers": 10, "Timeout": 120, "MaxRetries": 1,
             "DefaultArguments": {"--enable-metrics": "true"}, "Description": "by hand"},
        crawler={"TablePrefix": "src_", "Schedule": {"ScheduleExpression": "cron(0 1 * * ? *)"},
                 "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}},
        bucket_attrs={"versioning": True, "encryption": flatten_encryption({"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:k"}}]})},
    ))  # fmt: skip
    for line in ('glue_version: "4.0"', 'worker_type: "G.2X"', "number_of_workers: 10", "timeout_minutes: 120",
                 "max_retries: 1", '"--enable-metrics": "true"', 'description: "by hand"', 'table_prefix: "src_"',
                 'schedule: "cron(0 1 * * ? *)"', 'update_behavior: "LOG"', "versioning: true", "type: SSE-KMS",
                 'kms_key_arn: "arn:aws:kms:k"'):  # fmt: skip
        assert line in text, line


def test_timeout_default_follows_the_glue_version() -> None:
    assert "timeout_minutes" not in render_spec(found(job={"GlueVersion": "4.0", "Timeout": 2880}))
    assert "timeout_minutes: 2880" in render_spec(found(job={"GlueVersion": "5.0", "Timeout": 2880}))


def test_interpolation_syntax_in_found_values_stays_literal(tmp_path: Path) -> None:
    out = tmp_path / "pipeline.yaml"
    write_import(found(job={"DefaultArguments": {"--note": "${HOME}"}}), out)
    assert load_spec(out).jobs[0].arguments == (("--note", "${HOME}"),)


def test_the_text_is_a_valid_spec_meaning_what_was_found(tmp_path: Path) -> None:
    out = tmp_path / "pipeline.yaml"
    written = write_import(found(job={"NumberOfWorkers": 5}), out, name="Events ETL")
    assert (tmp_path / "glue_scripts" / "etl.py").read_bytes() == b"print(1)\n" and written[0] == out
    pipeline = load_spec(out)
    assert pipeline.name == "events-etl" and pipeline.region == "eu-west-1"
    assert pipeline.role.arn == ROLE and not pipeline.role.is_managed
    assert [u.prefix for u in pipeline.uploads] == ["scripts/"]  # the script only: no upload for raw data
    assert pipeline.jobs[0].script == "scripts/etl.py" and pipeline.jobs[0].number_of_workers == 5
    assert pipeline.crawlers[0].targets == ("s3://b-data/raw/",)


def test_an_existing_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    out = tmp_path / "pipeline.yaml"
    out.write_text("mine\n")
    with pytest.raises(UsageError, match="exists; not overwritten"):
        write_import(found(), out)
    assert out.read_text() == "mine\n" and not (tmp_path / "glue_scripts").exists()
    write_import(found(), out, force=True)
    assert "apiVersion: reconciler/v1" in out.read_text()


def test_a_crawler_under_another_role_is_said_to_change() -> None:
    text = render_spec(found(crawler={"Role": "other-crawler-role"}))
    assert "runs as role 'other-crawler-role'" in text and "the plan changes the crawler's role" in text
    assert "runs as role" not in render_spec(found())  # the same role by path/name and by ARN


def test_a_crawler_reading_another_bucket_is_refused_before_writing() -> None:
    from reconciler.adopt.importer import check_targets
    from reconciler.errors import ReconcilerError

    check_targets("crawl", "b-data", ["s3://b-data/raw/"])
    with pytest.raises(ReconcilerError, match="reads s3://other/raw/, outside bucket 'b-data'"):
        check_targets("crawl", "b-data", ["s3://b-data/raw/", "s3://other/raw/"])


def test_a_start_trigger_under_another_name_is_left_alone_and_on_demand_is_not_in_aws() -> None:
    text = render_spec(found(workflow={"Name": "wf"}, trigger={"Name": "my-start", "Type": "ON_DEMAND"}))
    assert "trigger 'my-start' is not one of the two triggers this tool declares (wf-after-crawl, wf-start)" in text
    assert "in_aws: false" in text and "enabled:" not in text
    scheduled = {"Name": "wf-start", "Type": "SCHEDULED", "Schedule": "cron(0 6 1 1,4,7,10 ? *)", "State": "ACTIVATED"}
    active = render_spec(found(workflow={"Name": "wf"}, trigger=scheduled))
    assert 'cron: "cron(0 6 1 1,4,7,10 ? *)"' in active and "in_aws: true" in active and "enabled:" not in active


def test_the_comment_names_the_buckets_default_encryption_as_read() -> None:
    """GetBucketEncryption as flattened for the bucket kind: SSE-S3 is AES256, never "none"."""
    sse_s3 = flatten_encryption({"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    text = render_spec(found(bucket_attrs={"versioning": False, "encryption": sse_s3}))
    assert "default encryption SSE-S3." in text and "type: SSE-KMS" not in text
    assert "default encryption none." in render_spec(found(bucket_attrs={"versioning": False, "encryption": None}))
