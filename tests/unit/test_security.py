"""Secure by default, checked on the generated documents (no server needed)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from reconciler.engine.diff import CREATE, UPDATE, Change
from reconciler.engine.security import broadening
from reconciler.resources import Account
from reconciler.resources.base import AttrChange
from reconciler.resources.bucket import BucketKind
from reconciler.resources.role import RoleKind
from reconciler.spec.load import load_spec
from reconciler.spec.model import Pipeline

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = Account("123456789012", "eu-central-1")


@pytest.fixture
def pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    monkeypatch.setenv("PIPELINE_BUCKET", "car-brands-test")
    monkeypatch.delenv("DATA_DIR", raising=False)
    shutil.copy(REPO / "pipeline.yaml", tmp_path / "pipeline.yaml")
    shutil.copytree(REPO / "Data" / "sample" / "car_brands", tmp_path / "Data" / "car_brands")
    shutil.copytree(REPO / "glue_scripts", tmp_path / "glue_scripts")
    shutil.copytree(REPO / "quicksight", tmp_path / "quicksight")
    return load_spec(tmp_path / "pipeline.yaml")


def test_managed_role_trusts_only_glue(pipeline: Pipeline) -> None:
    (role,) = RoleKind().desired(pipeline, ACCOUNT)
    statements = role.attrs["trust_policy"]["Statement"]
    assert statements == [
        {"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}}
    ]


def test_managed_role_policy_is_least_privilege(pipeline: Pipeline) -> None:
    (role,) = RoleKind().desired(pipeline, ACCOUNT)
    statements = role.attrs["access_policy"]["Statement"]
    bucket = "arn:aws:s3:::car-brands-test"
    by_sid = {s["Sid"]: s for s in statements}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        if statement["Sid"] == "JobMetrics":  # PutMetricData has no resource type: limited by its namespace
            assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}
            continue
        assert "*" not in statement["Resource"], statement  # no bare wildcard resource anywhere
        assert all(not a.endswith(":*") for a in statement["Action"]), statement  # no service-wide actions
        for resource in statement["Resource"]:
            assert resource.startswith((bucket, "arn:aws:glue:eu-central-1:123456789012:",
                                        "arn:aws:logs:eu-central-1:123456789012:log-group:/aws-glue/"))  # fmt: skip
    # Writes only under the job's output prefix, not the raw data or the script.
    assert by_sid["WriteJobOutputs"]["Resource"] == [f"{bucket}/prepared/runs/*"]
    assert by_sid["ReadPipelineObjects"]["Action"] == ["s3:GetObject"]
    assert set(by_sid["PipelineCatalog"]["Resource"]) == {
        "arn:aws:glue:eu-central-1:123456789012:catalog",
        "arn:aws:glue:eu-central-1:123456789012:database/car_brands",
        "arn:aws:glue:eu-central-1:123456789012:table/car_brands/*",
    }
    assert not any(a.startswith("iam:") for s in statements for a in s["Action"])


def test_bucket_is_secure_by_default(pipeline: Pipeline) -> None:
    (bucket,) = BucketKind().desired(pipeline, ACCOUNT)
    assert bucket.attrs["public_access_block"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
    }  # fmt: skip
    assert bucket.attrs["object_ownership"] == "BucketOwnerEnforced"
    assert bucket.attrs["encryption"] == {"algorithm": "AES256"}
    (deny,) = bucket.attrs["policy"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def _policy_change(before: Sequence[Mapping[str, object]], after: Sequence[Mapping[str, object]]) -> Change:
    return Change("role", "r", UPDATE, 1, [AttrChange(("access_policy", "Statement"), before, after)])


def test_added_permission_broadens_and_removed_one_does_not() -> None:
    narrow = [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/a/*"]}]
    wide = [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/a/*", "arn:aws:s3:::b/*"]}]
    assert broadening([_policy_change(narrow, wide)]) == [
        "role.r access_policy.Statement: allows s3:GetObject on arn:aws:s3:::b/*"
    ]
    assert broadening([_policy_change(wide, narrow)]) == []


def test_guards_turned_off_broaden() -> None:
    changes = [
        Change("bucket", "b", UPDATE, 0, [
            AttrChange(("public_access_block", "BlockPublicPolicy"), True, False),
            AttrChange(("encryption",), {"algorithm": "AES256"}, None),
            AttrChange(("object_ownership",), "BucketOwnerEnforced", "ObjectWriter"),
        ]),
    ]  # fmt: skip
    assert len(broadening(changes)) == 3


def test_creating_is_not_broadening() -> None:
    assert broadening([Change("role", "r", CREATE, 1)]) == []


def test_a_first_policy_for_a_resource_without_one_is_the_rest_of_its_create() -> None:
    """A crash or an AccessDenied between CreateRole and PutRolePolicy leaves a role with no policy; the
    rerun that puts the spec's policy is the create finishing, not a widening (see security.py)."""
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}
    change = Change("role", "r", UPDATE, 1, [AttrChange(("access_policy",), None, policy)])
    assert broadening([change]) == []
