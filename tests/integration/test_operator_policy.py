"""Issue 13, defect 5, end to end: an IAM user whose only policy is `reconcile permissions`' output runs
validate, plan, apply, history and destroy on the endpoint with IAM enforcement on (enforce_iam); without
one of its statements a command fails with one clear access-denied line.

The endpoint's authoriser has limits (src/reconciler_local/auth.py): IAM and Logs actions are checked
against resource `*`, Glue's BatchGet* and List* too, and Condition keys have no values. `for_endpoint`
widens exactly those statements so that the endpoint can evaluate them, and adds moto's names for
HeadBucket's, DeleteObjects' and GetResources' actions; everything else (the actions, S3's and Glue's
resource ARNs) is checked as printed. `run`, `show` and `promote` run as the same user in the slow Spark test
at the end; test_permissions.py also checks every call site against the printed actions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler_local.lifecycle import call_admin

from .conftest import Project

USER = "operator"


def for_endpoint(policy: dict[str, Any]) -> dict[str, Any]:
    statements = []
    for s in policy["Statement"]:
        s = {k: v for k, v in s.items() if k != "Condition"}  # no condition values on the endpoint
        if all(a.startswith(("iam:", "logs:")) for a in s["Action"]):
            s["Resource"] = sorted({*s["Resource"], "*"})
        if s["Sid"] == "PipelineBucket":
            # moto authorises HeadBucket as "s3:HeadBucket" (moto/s3/responses.py ACTION_MAP; AWS: s3:ListBucket)
            # and a DeleteObjects as s3:DeleteObject on the *bucket* ARN (AWS: on each object's ARN).
            s["Action"] = [*s["Action"], "s3:HeadBucket", "s3:DeleteObject"]
        if s["Sid"] == "FindOwned":  # moto names the action after its signing name "tagging", not IAM's "tag:"
            s["Action"] = [*s["Action"], "tagging:GetResources"]
        batch = [a for a in s["Action"] if a.startswith("glue:BatchGet")]
        if batch:
            statements.append({"Sid": f"{s['Sid']}Batch", "Effect": "Allow", "Action": batch, "Resource": ["*"]})
        statements.append(s)
    return {"Version": policy["Version"], "Statement": statements}


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
    as_operator(project, aws, monkeypatch, for_endpoint(printed_policy(project)))
    for args in (["validate"], ["plan"], ["apply", "--auto-approve"], ["plan", "--detailed-exitcode"],
                 ["history"], ["lock", "status"], ["destroy", "--auto-approve", "--force"]):  # fmt: skip
        result = project.cli(*args)
        assert result.exit_code == 0, (args, result.output)


@pytest.mark.parametrize("sid", ["PipelineBucket", "PipelineObjects", "PipelineCatalog", "GlueTags", "Crawlers",
                                 "Jobs", "Triggers", "ManagedRole", "FindOwned"])  # fmt: skip
def test_without_one_statement_apply_fails_clearly(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch, sid: str
) -> None:
    policy = printed_policy(project)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != sid]
    as_operator(project, aws, monkeypatch, for_endpoint(policy))
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "access denied" in result.output.lower(), result.output


@pytest.mark.slow
@pytest.mark.spark
def test_the_printed_policy_is_enough_for_run_show_and_promote(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quarterly half: run (crawl, job, gate, publish), show and promote, as the same least-privilege user."""
    as_operator(project, aws, monkeypatch, for_endpoint(printed_policy(project)))
    first = project.cli("run", "--json", "--quarter", "2026-Q3", "--timeout", "600")
    assert first.exit_code == 0, first.output
    run_id = next(json.loads(line)["run_id"] for line in first.stdout.splitlines()
                  if line.startswith("{") and json.loads(line).get("event") == "run_finished")  # fmt: skip
    for args in (["history"], ["show", run_id], ["promote", run_id, "--auto-approve"]):
        result = project.cli(*args)
        assert result.exit_code == 0, (args, result.output)
