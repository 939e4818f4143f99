"""The broadening check runs on the plan that is executed: a plan re-made under the lock that would widen
access nobody approved is refused, even when the plan shown (and auto-approved) widened nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.aws import lock
from reconciler.aws.context import AwsContext
from reconciler.engine.locked import ApplyOptions, locked_apply
from reconciler.engine.plan import build_plan
from reconciler.errors import ApprovalError
from reconciler.resources.role import INLINE_POLICY
from reconciler.spec.load import load_spec
from tests.helpers import job_workers

from .conftest import BUCKET, JOB, Project

ROLE = "car-brands-glue"


def narrow_role_policy_behind_our_back(aws: Any) -> None:
    """Someone drops a statement of the managed role's policy: restoring it widens access again."""
    iam = aws.client("iam")
    document = iam.get_role_policy(RoleName=ROLE, PolicyName=INLINE_POLICY)["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    document["Statement"] = document["Statement"][1:]
    iam.put_role_policy(RoleName=ROLE, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(document))


@pytest.fixture
def pending_change(project: Project, aws: Any) -> tuple[Any, AwsContext, Any]:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("number_of_workers: 2", "number_of_workers: 4")  # a change that widens nothing
    pipeline, ctx = load_spec(project.spec), AwsContext(region=aws.region, endpoint_url=aws.url)
    other = AwsContext(region=aws.region, endpoint_url=aws.url)
    with lock.held(other, BUCKET, "apply"):  # while another holder works, the live policy is narrowed
        approved = build_plan(pipeline, ctx, observe_serial=True)
        narrow_role_policy_behind_our_back(aws)
    assert not [c for c in approved.changes if c.kind == "role" and c.action != "no-op"]
    return pipeline, ctx, approved


def test_a_replan_under_the_lock_that_widens_access_is_refused(pending_change: Any, aws: Any) -> None:
    pipeline, ctx, approved = pending_change
    with pytest.raises(ApprovalError, match="would widen access") as refused:
        locked_apply(pipeline, ctx, approved, ApplyOptions(auto_approve=True))
    assert "role.car-brands-glue" in refused.value.message
    assert job_workers(aws.client("glue"), JOB) == 2  # nothing was changed


def test_approve_broadening_lets_the_replan_restore_the_policy(pending_change: Any, aws: Any) -> None:
    pipeline, ctx, approved = pending_change
    plan, _ = locked_apply(pipeline, ctx, approved, ApplyOptions(auto_approve=True, approve_broadening=True))
    assert any(c.kind == "role" and c.action == "update" for c in plan.changes)
    assert job_workers(aws.client("glue"), JOB) == 4
