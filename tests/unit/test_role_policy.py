"""The Glue role may do what the spec uses, nothing more."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import make_spec_project

from reconciler.resources.base import Account
from reconciler.resources.role import access_policy
from reconciler.spec.load import load_spec
from reconciler.spec.model import Encryption, Pipeline

KEY = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555"
ACCOUNT = Account("123456789012", "eu-central-1")


@pytest.fixture
def example(tmp_path: Path) -> Pipeline:
    return load_spec(make_spec_project(tmp_path), {})


def statements(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in access_policy(pipeline, ACCOUNT)["Statement"]}


def actions(pipeline: Pipeline) -> set[str]:
    return {a for s in statements(pipeline).values() for a in s["Action"]}


def test_kms_only_with_sse_kms_and_only_on_the_key(example: Pipeline) -> None:
    assert not any(a.startswith("kms:") for a in actions(example))  # SSE-S3
    kms = replace(example, bucket=replace(example.bucket, encryption=Encryption("SSE-KMS", KEY)))
    assert statements(kms)["BucketKey"] == {
        "Sid": "BucketKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [KEY],
    }  # fmt: skip


def test_metrics_only_with_enable_metrics(example: Pipeline) -> None:
    job = example.jobs[0]
    on = replace(example, jobs=(replace(job, arguments=(*job.arguments, ("--enable-metrics", "true"))),))
    off = replace(
        example, jobs=(replace(job, arguments=tuple(a for a in job.arguments if a[0] != "--enable-metrics")),)
    )
    assert statements(on)["JobMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}
    assert "cloudwatch:PutMetricData" not in actions(off)


def test_logs_only_on_glues_own_groups(example: Pipeline) -> None:
    resources = statements(example)["GlueLogs"]["Resource"]
    arn = "arn:aws:logs:eu-central-1:123456789012:log-group:"
    assert resources == sorted(
        f"{arn}{group}{suffix}"
        for group in ("/aws-glue/crawlers", "/aws-glue/jobs/output", "/aws-glue/jobs/error")
        for suffix in ("", ":*")
    )
    none = replace(example, crawlers=(), jobs=())
    assert "GlueLogs" not in statements(none)


def test_the_write_statement_is_exactly_the_output_prefixes_never_the_bucket(example: Pipeline) -> None:
    """An output in another bucket used to fall back to `BUCKET/*`; the role now writes exactly the
    output prefixes of the pipeline's bucket, and with none it writes nothing at all."""
    bucket = f"arn:aws:s3:::{example.bucket.name}"
    assert statements(example)["WriteJobOutputs"]["Resource"] == [f"{bucket}/prepared/runs/*"]
    # Only the run prefixes: the job cannot write the pointer that selects what consumers read.
    writable = [r.removesuffix("*") for r in statements(example)["WriteJobOutputs"]["Resource"]]
    assert not any(f"{bucket}/prepared/_published.json".startswith(prefix) for prefix in writable)
    job = example.jobs[0]
    elsewhere = replace(example, jobs=(replace(job, arguments=tuple(
        (k, "s3://someone-elses-bucket/out/" if k == "--output_path" else v) for k, v in job.arguments)),))  # fmt: skip
    assert "WriteJobOutputs" not in statements(elsewhere)
    policy = access_policy(elsewhere, ACCOUNT)
    assert f"{bucket}/*" not in [r for s in policy["Statement"] if "s3:PutObject" in s["Action"] for r in s["Resource"]]
    assert not any("s3:PutObject" in s["Action"] or "s3:DeleteObject" in s["Action"] for s in policy["Statement"])


def test_crawler_deletes_only_with_delete_from_database(example: Pipeline) -> None:
    deletes = {"glue:BatchDeletePartition", "glue:BatchDeleteTable", "glue:DeleteTable"}
    assert not deletes & actions(example)  # DEPRECATE_IN_DATABASE by default
    crawler = example.crawlers[0]
    policy = replace(crawler.schema_change_policy, delete_behavior="DELETE_FROM_DATABASE")
    deleting = replace(example, crawlers=(replace(crawler, schema_change_policy=policy), *example.crawlers[1:]))
    statement = statements(deleting)["CrawlerDeletes"]
    assert set(statement["Action"]) == deletes
    db = example.database.name
    arn = "arn:aws:glue:eu-central-1:123456789012:"
    assert statement["Resource"] == sorted([f"{arn}catalog", f"{arn}database/{db}", f"{arn}table/{db}/*"])
