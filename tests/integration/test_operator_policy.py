"""End to end, an IAM user whose only policy is `reconcile permissions`' output runs
validate, plan, apply, history and destroy on the endpoint with IAM enforcement on (enforce_iam); without
one of its statements a command fails with one clear access-denied line.

The policy is installed exactly as printed: the endpoint authorises every service the tool calls as AWS does
(src/reconciler_local/auth.py: the SAR's actions and resource ARNs, every resource a call checks, the condition
keys iam:PassedToService and aws:RequestTag / aws:ResourceTag). `run`, `show` and `promote` run as the same user
in the slow Spark test at the end; test_permissions.py also checks every call site against the printed actions."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from reconciler_local.lifecycle import call_admin

from .conftest import Project

USER = "operator"


def as_operator(project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch, policy: dict[str, Any]) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName=USER)
    iam.put_user_policy(UserName=USER, PolicyName="reconcile", PolicyDocument=json.dumps(policy))
    keys = iam.create_access_key(UserName=USER)["AccessKey"]
    call_admin(aws.url, "settings", {"enforce_iam": True})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_SECURITY_TOKEN", raising=False)


def printed_policy(project: Project) -> dict[str, Any]:
    result = project.cli("permissions", "--json", "--account-id", "123456789012")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_the_printed_policy_is_enough(project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    as_operator(project, aws, monkeypatch, printed_policy(project))
    for args in (["validate"], ["plan"], ["apply", "--auto-approve"], ["plan", "--detailed-exitcode"],
                 ["history"], ["lock", "status"], ["destroy", "--auto-approve", "--force"]):  # fmt: skip
        result = project.cli(*args)
        assert result.exit_code == 0, (args, result.output)


@pytest.mark.parametrize("sid", ["PipelineBucket", "PipelineObjects", "PipelineCatalog", "GlueTags", "Crawlers",
                                 "CreateCrawlers", "Jobs", "Triggers", "ManagedRole", "FindOwned",
                                 "PassRoleToGlue"])  # fmt: skip
def test_without_one_statement_apply_fails_clearly(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch, sid: str
) -> None:
    policy = printed_policy(project)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != sid]
    as_operator(project, aws, monkeypatch, policy)
    result = project.cli("apply", "--auto-approve")
    if result.exit_code == 0:  # a statement the first apply does not use (GlueTags: nothing exists to read yet)
        result = project.cli("plan")  # is needed as soon as there is something of ours to read
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "access denied" in result.output.lower(), result.output


@pytest.mark.slow
@pytest.mark.spark
def test_the_printed_policy_is_enough_for_run_show_and_promote(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quarterly half: run (crawl, job, gate, publish), show and promote, as the same least-privilege user."""
    as_operator(project, aws, monkeypatch, printed_policy(project))
    first = project.cli("run", "--json", "--quarter", "2026-Q3", "--timeout", "600")
    assert first.exit_code == 0, first.output
    run_id = next(json.loads(line)["run_id"] for line in first.stdout.splitlines()
                  if line.startswith("{") and json.loads(line).get("event") == "run_finished")  # fmt: skip
    for args in (["history"], ["show", run_id], ["promote", run_id, "--auto-approve"]):
        result = project.cli(*args)
        assert result.exit_code == 0, (args, result.output)


def regenerate_policy(project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator installs the policy printed for the edited spec (as the suite's admin, enforcement off)."""
    call_admin(aws.url, "settings", {"enforce_iam": False})
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    iam = aws.client("iam")
    iam.put_user_policy(UserName=USER, PolicyName="reconcile", PolicyDocument=json.dumps(printed_policy(project)))
    keys = iam.create_access_key(UserName=USER)["AccessKey"]
    call_admin(aws.url, "settings", {"enforce_iam": True})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])


def test_renamed_crawler_job_and_role_stay_reachable(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crawler, job and role renamed in the spec are still this pipeline's (their tags say so): the policy
    printed for the new spec must still let plan read them and apply and destroy delete them."""
    as_operator(project, aws, monkeypatch, printed_policy(project))
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("car-brands-raw", "car-brands-raw2", count=2)
    project.edit("car-brands-prepare", "car-brands-prepare2", count=2)
    project.edit("      name: car-brands-glue", "      name: car-brands-glue2")
    regenerate_policy(project, aws, monkeypatch)
    for args in (["plan"], ["apply", "--auto-approve"], ["plan", "--detailed-exitcode"],
                 ["destroy", "--auto-approve", "--force"]):  # fmt: skip
        result = project.cli(*args)
        assert result.exit_code == 0, (args, result.output)
    call_admin(aws.url, "settings", {"enforce_iam": False})
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert aws.client("glue").list_crawlers()["CrawlerNames"] == []
    assert aws.client("glue").list_jobs()["JobNames"] == []
    assert not [r for r in aws.client("iam").list_roles()["Roles"] if r["Path"].startswith("/reconciler/")]


def test_plan_with_foreign_quicksight_assets_needs_no_right_on_them(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's policy allows QuickSight calls on this pipeline's data source and data set only; three
    foreign data sources and data sets in the account must not make discovery call anything on them."""
    from .test_quicksight_kinds import with_dataset

    qs, account, _ = with_dataset(project, aws)
    # Another team's assets: a readable manifest (QuickSight reads it at CreateDataSource) and ready sources.
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="theirs", CreateBucketConfiguration={"LocationConstraint": aws.region})
    s3.put_object(Bucket="theirs", Key="m.json", Body=json.dumps(
        {"fileLocations": [{"URIPrefixes": ["s3://theirs/data/"]}], "globalUploadSettings": {"format": "CSV"}}))
    for n in range(3):
        source = qs.create_data_source(
            AwsAccountId=account, DataSourceId=f"theirs-{n}", Name=f"theirs-{n}", Type="S3",
            DataSourceParameters={"S3Parameters": {"ManifestFileLocation": {"Bucket": "theirs", "Key": "m.json"}}},
            Tags=[{"Key": "team", "Value": "other"}])["Arn"]  # fmt: skip
        deadline = time.monotonic() + 30
        while qs.describe_data_source(AwsAccountId=account, DataSourceId=f"theirs-{n}")["DataSource"][
                "Status"].endswith("_IN_PROGRESS") and time.monotonic() < deadline:  # fmt: skip
            time.sleep(0.1)
        qs.create_data_set(AwsAccountId=account, DataSetId=f"theirs-{n}", Name=f"theirs-{n}", ImportMode="SPICE",
                           PhysicalTableMap={"t": {"S3Source": {"DataSourceArn": source, "InputColumns": [
                               {"Name": "a", "Type": "STRING"}]}}})  # fmt: skip
    as_operator(project, aws, monkeypatch, printed_policy(project))
    for args in (["plan"], ["apply", "--auto-approve"], ["plan", "--detailed-exitcode"]):
        result = project.cli(*args)
        assert result.exit_code == 0, (args, result.output)
    # renamed: the old data source and data set are still ours (tags) and reachable with the new spec's policy
    project.edit("      data_source: car-brands-src\n", "      data_source: car-brands-src2\n")
    project.edit("      data_set: car-brands\n", "      data_set: car-brands2\n")
    regenerate_policy(project, aws, monkeypatch)
    for args in (["plan"], ["apply", "--auto-approve"], ["plan", "--detailed-exitcode"],
                 ["destroy", "--auto-approve", "--force"]):  # fmt: skip
        result = project.cli(*args)
        assert result.exit_code == 0, (args, result.output)
