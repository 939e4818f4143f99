"""The Glue security configuration (resources/security_configuration.py) through the endpoint: created with the
spec's encryption settings and named by the crawler and the job; a plan after apply is clean; a changed
setting is a replace (Glue has no UpdateSecurityConfiguration) that the crawler and job keep naming; removing
the section leaves the crawler and job without one; destroy deletes it. As an operator whose only policy is
`reconcile permissions`' output (IAM enforced), apply and destroy work, and without its statement apply is
denied."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import JOB, Project
from .test_operator_policy import as_operator, printed_policy

NAME = "car-brands-encrypted"
ADDRESS = f"security_configuration.{NAME}"
CRAWLER = "car-brands-raw"


def key_arn(aws: Any) -> str:
    return str(aws.client("kms").create_key(Description="security configuration test")["KeyMetadata"]["Arn"])


def declare(project: Project, key: str, cloudwatch: str = "DISABLED") -> None:
    section = (f"  security_configuration:\n    name: {NAME}\n    s3_encryption: SSE-KMS\n"
               f"    cloudwatch_encryption: {cloudwatch}\n    kms_key_arn: {key}\n\n")  # fmt: skip
    text = project.spec.read_text()
    if "  security_configuration:\n" in text:
        start = text.index("  security_configuration:\n")
        text = text[:start] + text[text.index("  schedule:\n") :]
    at = text.index("  schedule:\n")
    project.spec.write_text(text[:at] + section + text[at:])


def apply(project: Project, *args: str) -> None:
    result = project.cli("apply", "--auto-approve", *args)
    assert result.exit_code == 0, result.output


def assert_clean(project: Project) -> None:
    result = project.cli("plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output


def encryption(aws: Any) -> dict[str, Any]:
    found: dict[str, Any] = aws.client("glue").get_security_configuration(Name=NAME)["SecurityConfiguration"]
    return dict(found["EncryptionConfiguration"])


def test_created_named_by_the_crawler_and_job_replaced_on_change_and_destroyed(project: Project, aws: Any) -> None:
    key = key_arn(aws)
    declare(project, key)
    changes = project.changes()
    assert changes[ADDRESS]["action"] == "create", changes
    apply(project)
    assert encryption(aws) == {
        "S3Encryption": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key}],
        "CloudWatchEncryption": {"CloudWatchEncryptionMode": "DISABLED"},
        "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "DISABLED"},
    }
    glue = aws.client("glue")
    assert glue.get_crawler(Name=CRAWLER)["Crawler"]["CrawlerSecurityConfiguration"] == NAME
    assert glue.get_job(JobName=JOB)["Job"]["SecurityConfiguration"] == NAME
    assert_clean(project)

    declare(project, key, cloudwatch="SSE-KMS")
    changes = project.changes()
    # the role may now associate the key with the Glue log groups (SecurityConfigurationLogs)
    assert set(changes) == {ADDRESS, "role.car-brands-glue"}, changes
    assert changes[ADDRESS]["action"] == "replace", changes[ADDRESS]
    assert {a["path"].split(".")[0] for a in changes[ADDRESS]["attributes"]} == {"cloudwatch_encryption"}
    apply(project, "--approve-broadening")
    role_policy = aws.client("iam").get_role_policy(RoleName="car-brands-glue", PolicyName="pipeline-access")
    assert "logs:AssociateKmsKey" in json.dumps(role_policy["PolicyDocument"])
    assert encryption(aws)["CloudWatchEncryption"] == {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key}
    assert glue.get_job(JobName=JOB)["Job"]["SecurityConfiguration"] == NAME
    assert_clean(project)

    result = project.cli("destroy", "--auto-approve", "--force")
    assert result.exit_code == 0, result.output
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_security_configuration(Name=NAME)


def test_removing_the_section_leaves_the_crawler_and_job_without_one(project: Project, aws: Any) -> None:
    declare(project, key_arn(aws))
    apply(project)
    text = project.spec.read_text()
    project.spec.write_text(text[: text.index("  security_configuration:\n")] + text[text.index("  schedule:\n") :])
    changes = project.changes()
    # and the role no longer needs the key (SecurityConfigurationKey goes)
    assert {a: c["action"] for a, c in changes.items()} == {
        f"crawler.{CRAWLER}": "update", f"job.{JOB}": "update", "role.car-brands-glue": "update"
    }  # fmt: skip
    apply(project)
    glue = aws.client("glue")
    assert not glue.get_crawler(Name=CRAWLER)["Crawler"].get("CrawlerSecurityConfiguration")
    assert not glue.get_job(JobName=JOB)["Job"].get("SecurityConfiguration")
    assert_clean(project)


def test_the_printed_policy_is_enough(project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    key = key_arn(aws)
    declare(project, key)
    policy = printed_policy(project)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["SecurityConfiguration"]["Resource"] == ["*"] and "Condition" not in by_sid["SecurityConfiguration"]
    # the jobs' SSE-KMS outputs are read by `run` as the operator
    assert (by_sid["SecurityConfigurationKey"]["Action"], by_sid["SecurityConfigurationKey"]["Resource"]) == (
        ["kms:Decrypt"], [key]
    )
    as_operator(project, aws, monkeypatch, policy)
    for args in (["apply", "--auto-approve"], ["plan", "--detailed-exitcode"],
                 ["destroy", "--auto-approve", "--force"]):  # fmt: skip
        result = project.cli(*args)
        assert result.exit_code == 0, (args, result.output)


def test_without_its_statement_apply_is_denied(project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    declare(project, key_arn(aws))
    policy = printed_policy(project)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "SecurityConfiguration"]
    as_operator(project, aws, monkeypatch, policy)
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "access denied" in result.output.lower() and "glue:GetSecurityConfiguration" in result.output, result.output
