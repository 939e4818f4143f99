"""`reconcile permissions` grants every action the tool's calls need, on this spec's
resources only; PassRole only for its role and only to Glue; KMS only with SSE-KMS."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import reconciler.cli.app as cli_main
from reconciler.aws.context import AwsContext, CallCounter
from reconciler.permissions import actions_for, granted_actions
from tests.helpers import maximal_spec

from .conftest import BUCKET, Project

REPO = Path(__file__).resolve().parents[2]
SEEN: Counter[str] = Counter()


class Recording(AwsContext):
    """Every context the CLI makes adds its calls to SEEN."""

    def __init__(self, region: str, endpoint_url: str | None = None, profile: str | None = None) -> None:
        super().__init__(region=region, endpoint_url=endpoint_url, profile=profile, counter=Shared())


class Shared(CallCounter):
    def __call__(self, model: Any, **kwargs: Any) -> None:
        super().__call__(model, **kwargs)
        SEEN[f"{model.service_model.service_name}:{model.name}"] += 1


def policy(project: Project, *extra: str) -> dict[str, Any]:
    result = project.cli("permissions", "--json", *extra)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_every_call_of_a_lifecycle_is_granted(project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    SEEN.clear()
    monkeypatch.setattr(cli_main, "context_factory", Recording)
    for args in (["plan"], ["apply", "--auto-approve"], ["plan"], ["history"], ["lock", "status"],
                 ["plan", "--destroy"], ["destroy", "--auto-approve", "--force"]):  # fmt: skip
        result = project.cli(*args)
        assert result.exit_code in (0, 1), (args, result.output)
    granted = granted_actions(policy(project))
    assert len(SEEN) > 30
    missing = {op: actions_for(op) for op in SEEN if not set(actions_for(op)) <= granted}
    assert missing == {}


def test_every_operation_the_code_names_is_granted(project: Project, aws: Any) -> None:
    """The calls a lifecycle on the endpoint does not make (run, promote, failures): every ctx.call site."""
    text = "\n".join(p.read_text() for p in (REPO / "src" / "reconciler").rglob("*.py"))
    calls = set(re.findall(r'(?:call|call_once|call_fresh|pages|guarded)\(\s*"([a-z0-9]+)",\s*"([a-z_0-9]+)"', text))
    calls |= {("glue", op) for op in re.findall(r'"((?:list|batch_get)_(?:crawlers|jobs|triggers))"', text)}
    calls |= {("glue", op) for op in ("start_trigger", "stop_trigger")}  # called by a variable name
    assert len(calls) > 40
    # the SNS calls (notify.py, resources/topic.py) need a declared topic, the EventBridge calls
    # (resources/event_rule.py) a topic and in_aws, the QuickSight calls (resources/quicksight.py,
    # quarterly/refresh.py) spec.quicksight.dataset, ...: every optional section
    project.spec.write_text(maximal_spec(project.spec.read_text()))
    granted = granted_actions(policy(project))
    service_names = {"resourcegroupstaggingapi": "resourcegroupstaggingapi"}
    missing = {}
    for service, snake in sorted(calls):
        operation = f"{service_names.get(service, service)}:{''.join(w.capitalize() for w in snake.split('_'))}"
        if not set(actions_for(operation)) <= granted:
            missing[operation] = actions_for(operation)
    assert missing == {}


def test_resources_are_this_specs_and_pass_role_only_to_glue(project: Project, aws: Any) -> None:
    document = policy(project)
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    assert by_sid["PassRoleToGlue"] == {
        "Sid": "PassRoleToGlue", "Effect": "Allow", "Action": ["iam:PassRole"],
        "Resource": ["arn:aws:iam::123456789012:role/reconciler/car-brands/car-brands-glue"],
        "Condition": {"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}},
    }  # fmt: skip
    for statement in document["Statement"]:
        for resource in statement["Resource"]:
            if resource == "*":  # only actions without a resource type (Service Authorization Reference)
                assert set(statement["Action"]) <= {
                    "glue:ListCrawlers", "glue:ListJobs", "glue:ListTriggers", "tag:GetResources", "iam:ListRoles",
                    "glue:CreateCrawler", "quicksight:CreateDataSource",
                }, statement  # fmt: skip
                if "glue:CreateCrawler" in statement["Action"]:  # only with our owner tag on the new crawler
                    tag = "aws:RequestTag/reconciler:pipeline"
                    assert statement["Condition"] == {"StringEquals": {tag: "car-brands"}}
            elif resource.startswith("arn:aws:s3:::"):
                assert resource in (f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*")
            elif ":glue:" in resource:
                name = resource.split(":", 5)[-1]
                assert name == "catalog" or "car" in name or (name.endswith("/*") and "Condition" in statement), \
                    resource
    assert "s3:TagResource" in by_sid["PipelineBucket"]["Action"]  # CreateBucket carries our tags
    assert not any(a.startswith("kms:") for a in granted_actions(document))


def test_kms_only_with_sse_kms(project: Project, aws: Any) -> None:
    key = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    project.edit("      type: SSE-S3 ", f"      type: SSE-KMS\n      kms_key_arn: {key}\n ")
    by_sid = {s["Sid"]: s for s in policy(project)["Statement"]}
    assert by_sid["BucketKey"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert by_sid["BucketKey"]["Resource"] == [key]


def test_the_text_form_explains_each_statement(project: Project, aws: Any) -> None:
    result = project.cli("permissions", "--account-id", "111122223333")
    assert result.exit_code == 0, result.output
    assert "PassRoleToGlue: crawlers and jobs run as this role" in result.output
    assert "arn:aws:iam::111122223333:role/reconciler/car-brands/car-brands-glue" in result.output
