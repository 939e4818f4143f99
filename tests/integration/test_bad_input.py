"""Broken specs through the real CLI against the endpoint: exit 1, the line and the field named in
the message, and nothing created on the endpoint (no AWS call is made for an invalid spec)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import Project


@dataclass(frozen=True)
class Broken:
    id: str
    old: str
    new: str
    field: str  # the document path the message must name
    words: str  # what the message must say
    line_of: str | None = None  # text on the reported line (default: the first line of `new`)


CASES = [
    # PyYAML reports where it noticed the problem (the next line) and mentions where it began.
    Broken("yaml-syntax", "kind: Pipeline", "kind: [Pipeline", "", "YAML", line_of="metadata:"),
    Broken(
        "unknown-api-version", "apiVersion: reconciler/v1", "apiVersion: reconciler/v9", "apiVersion", "reconciler/v1"
    ),
    Broken("wrong-kind", "kind: Pipeline", "kind: Pipe", "kind", "Pipeline"),
    Broken("unknown-key", "  bucket:\n", "  bukket: {}\n  bucket:\n", "spec", "bukket"),
    Broken("unknown-nested-key", "    versioning: true", "    versionin: true", "spec.bucket", "versionin"),
    Broken(
        "duplicate-key",
        "    versioning: true",
        "    versioning: true\n    versioning: false",
        "spec.bucket",
        "versioning",
        line_of="    versioning: false",
    ),
    Broken(
        "bad-bucket-name",
        "${PIPELINE_BUCKET:-car-brands-pipeline-local}\n    versioning",
        "Bad_Bucket\n    versioning",
        "spec.bucket.name",
        "Bad_Bucket",
        line_of="    name: Bad_Bucket",
    ),
    Broken(
        "bucket-name-too-short",
        "${PIPELINE_BUCKET:-car-brands-pipeline-local}\n    versioning",
        "ab\n    versioning",
        "spec.bucket.name",
        "ab",
        line_of="    name: ab",
    ),
    Broken("versioning-not-bool", "versioning: true", "versioning: maybe", "spec.bucket.versioning", "maybe"),
    Broken("encryption-enum", "type: SSE-S3", "type: SSE-C", "spec.bucket.encryption.type", "SSE-C"),
    Broken(
        "missing-env-var",
        "${AWS_REGION:-eu-central-1}",
        "${RECONCILER_TEST_UNSET_VAR}",
        "metadata.region",
        "RECONCILER_TEST_UNSET_VAR",
    ),
    Broken(
        "missing-upload-source",
        "source: glue_scripts/car_brands_job.py",
        "source: glue_scripts/nope.py",
        "spec.uploads[1].source",
        "nope.py",
    ),
    Broken(
        "upload-escapes-project",
        "source: glue_scripts/car_brands_job.py",
        "source: ../../etc/passwd",
        "spec.uploads[1].source",
        "project",
    ),
    Broken("bad-upload-prefix", "prefix: scripts/", "prefix: /scripts", "spec.uploads[1].prefix", "/scripts"),
    Broken(
        "bad-role-arn",
        "    managed:                # or `arn: arn:aws:iam::123456789012:role/existing-glue-role`\n"
        "      name: car-brands-glue",
        "    arn: arn:aws:iam::12:role/x",
        "spec.role.arn",
        "12 digits",
    ),
    Broken("bad-database-name", "name: car_brands\n", "name: Car Brands!\n", "spec.database.name", "lowercase"),
    Broken(
        "crawler-target-other-bucket",
        "        - s3://${PIPELINE_BUCKET:-car-brands-pipeline-local}/raw/car_brands/\n      table_prefix",
        "        - s3://somebody-elses-bucket/raw/\n      table_prefix",
        "spec.crawlers[0].targets[0]",
        "somebody-elses-bucket",
        line_of="        - s3://somebody-elses-bucket/raw/",
    ),
    Broken(
        "crawler-policy-enum",
        "update_behavior: UPDATE_IN_DATABASE",
        "update_behavior: SOMETIMES",
        "spec.crawlers[0].schema_change_policy.update_behavior",
        "SOMETIMES",
    ),
    Broken(
        "job-script-not-uploaded",
        "script: scripts/car_brands_job.py",
        "script: scripts/other.py",
        "spec.jobs[0].script",
        "scripts/other.py",
    ),
    Broken("worker-type-enum", "worker_type: G.1X", "worker_type: G.9X", "spec.jobs[0].worker_type", "G.9X"),
    Broken(
        "workers-not-int", "number_of_workers: 2", "number_of_workers: two", "spec.jobs[0].number_of_workers", "two"
    ),
    Broken("glue-version-enum", 'glue_version: "5.0"', 'glue_version: "2.0"', "spec.jobs[0].glue_version", "2.0"),
    Broken("cron-five-fields", "cron: cron(0 0 1 */3 ? *)", "cron: cron(0 0 1 */3 ?)", "spec.schedule.cron", "six"),
    Broken(
        "cron-both-question-marks", "cron: cron(0 0 1 */3 ? *)", "cron: cron(0 0 ? */3 ? *)", "spec.schedule.cron", "?"
    ),
    Broken(
        "schedule-unknown-crawler",
        "    crawler: car-brands-raw",
        "    crawler: no-such-crawler",
        "spec.schedule.crawler",
        "no-such-crawler",
    ),
    Broken("manifest-parquet", "format: CSV", "format: PARQUET", "spec.quicksight.manifest.format", "Parquet"),
    Broken(
        "duplicate-job-names",
        "  schedule:\n",
        "    - name: car-brands-prepare\n      script: scripts/car_brands_job.py\n  schedule:\n",
        "spec.jobs[1].name",
        "car-brands-prepare",
        line_of="    - name: car-brands-prepare\n      script: scripts/car_brands_job.py\n  schedule:",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_spec_is_refused_with_location_and_nothing_is_created(
    case: Broken, project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECONCILER_TEST_UNSET_VAR", raising=False)
    project.edit(case.old, case.new)
    text = project.spec.read_text()
    marker = case.line_of or case.new.splitlines()[0]
    expected_line = text[: text.index(marker)].count("\n") + 1

    for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
        result = project.cli(*command)
        assert result.exit_code == 1, (command, result.output)
        output = " ".join(result.output.split())  # rich may wrap long lines
        assert f"pipeline.yaml:{expected_line}:" in output, output
        assert case.field in output, output
        assert case.words in output, output
        assert "Traceback" not in output

    s3, glue, iam = aws.client("s3"), aws.client("glue"), aws.client("iam")
    assert s3.list_buckets()["Buckets"] == []
    assert glue.get_databases()["DatabaseList"] == []
    assert glue.list_crawlers()["CrawlerNames"] == []
    assert [r for r in iam.list_roles()["Roles"] if r["Path"].startswith("/reconciler/")] == []


def test_every_problem_is_reported_at_once(project: Project) -> None:
    project.edit("worker_type: G.1X", "worker_type: G.9X")
    project.edit("cron: cron(0 0 1 */3 ? *)", "cron: cron(0 0 1 */3 ?)")
    project.edit("versioning: true", "versioning: maybe")
    result = project.cli("validate")
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    for field in ("spec.jobs[0].worker_type", "spec.schedule.cron", "spec.bucket.versioning"):
        assert field in output
    assert "3 problems" in output
