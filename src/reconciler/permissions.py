"""The least-privilege IAM policy an operator needs to validate, plan, apply, run, promote and destroy one
spec (`reconcile permissions [--json]`, docs/permissions.md).

Derived from what the code calls: actions_for (with S3_ACTIONS) maps every AWS operation the tool sends
(`service:Operation`, as AwsContext.counter names them) to the IAM actions it needs, and the statements
below grant exactly those actions, each on this spec's resources only. tests/integration/test_permissions.py
walks the calls of a whole lifecycle on the endpoint and checks that each is covered.

Action and resource names: Service Authorization Reference (Actions, resources, and condition keys for
Amazon S3, AWS Glue, IAM, Amazon CloudWatch Logs, AWS KMS, Resource Groups Tagging API); the S3 operation
-> action table: Amazon S3 User Guide, "Required permissions for Amazon S3 API operations".
"""

from __future__ import annotations

from typing import Any

from reconciler.iam_statement import Statement as Statement  # re-exported: it was defined here
from reconciler.resources import KINDS
from reconciler.resources.base import Account
from reconciler.resources.glue_common import TagListedGlueKind
from reconciler.resources.role import glue_log_groups
from reconciler.spec.model import Pipeline

#: S3 operations whose action is not `s3:<Operation>` (Amazon S3 User Guide, "Required permissions for
#: Amazon S3 API operations"). CreateBucket with Tags needs s3:TagResource too (CreateBucket API reference,
#: "Permissions": to tag a bucket at creation you need s3:TagResource); we keep tags-at-create so that a
#: bucket is never ours-but-untagged, and grant it.
S3_ACTIONS: dict[str, tuple[str, ...]] = {
    "CreateBucket": ("s3:CreateBucket", "s3:TagResource"),
    "HeadBucket": ("s3:ListBucket",),
    "ListObjectsV2": ("s3:ListBucket",),
    "ListObjects": ("s3:ListBucket",),
    "ListObjectVersions": ("s3:ListBucketVersions",),
    "ListMultipartUploads": ("s3:ListBucketMultipartUploads",),
    "HeadObject": ("s3:GetObject",),
    "GetObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "CreateMultipartUpload": ("s3:PutObject",),
    "UploadPart": ("s3:PutObject",),
    "CompleteMultipartUpload": ("s3:PutObject",),
    "CopyObject": ("s3:GetObject", "s3:PutObject"),
    "DeleteObjects": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
    "DeleteObject": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
    "GetBucketEncryption": ("s3:GetEncryptionConfiguration",),
    "PutBucketEncryption": ("s3:PutEncryptionConfiguration",),
    "GetPublicAccessBlock": ("s3:GetBucketPublicAccessBlock",),
    "PutPublicAccessBlock": ("s3:PutBucketPublicAccessBlock",),
    "GetBucketLifecycleConfiguration": ("s3:GetLifecycleConfiguration",),
    "PutBucketLifecycleConfiguration": ("s3:PutLifecycleConfiguration",),
}
#: Operations that need no permission: "No permissions are required to perform this operation" (STS API
#: reference, GetCallerIdentity).
FREE = frozenset({"sts:GetCallerIdentity"})


def actions_for(operation: str) -> tuple[str, ...]:
    """The IAM actions `service:Operation` needs (empty for a free one)."""
    if operation in FREE:
        return ()
    service, name = operation.split(":", 1)
    if service == "s3":
        return S3_ACTIONS.get(name, (f"s3:{name}",))
    if service == "resourcegroupstaggingapi":
        return (f"tag:{name}",)
    return (f"{service}:{name}",)


def glue_list_action(operation: str) -> str:
    """A boto3 operation name as its IAM action: list_crawlers -> glue:ListCrawlers."""
    return "glue:" + "".join(word.capitalize() for word in operation.split("_"))


def statements(pipeline: Pipeline, account: Account) -> list[Statement]:
    """Every kind's operator_statements, in KINDS order, then the statements the kinds share: the Glue List*
    calls, the Tagging API, the Glue tag calls on every kind's glue_tag_arns, and the Glue log groups."""
    kinds = [k() for k in KINDS]
    out = [s for kind in kinds for s in kind.operator_statements(pipeline, account)]
    listings = tuple(glue_list_action(k.api.list_operation) for k in kinds if isinstance(k, TagListedGlueKind))
    out.append(Statement("GlueListings", listings, ("*",),
                         "List* filtered by our owner tag: these actions have no resource type"))  # fmt: skip
    out.append(Statement("FindOwned", ("tag:GetResources",), ("*",),
                         "buckets, databases, workflows and QuickSight assets under our owner tag; no resource "
                         "type"))  # fmt: skip
    ours = tuple(arn for kind in kinds for arn in kind.glue_tag_arns(pipeline, account))
    out.append(Statement("GlueTags", ("glue:GetTags", "glue:TagResource", "glue:UntagResource"), ours,
                         "ownership tags: read, set, and remove keys we no longer declare"))  # fmt: skip
    groups = glue_log_groups(pipeline)
    if groups:
        out.append(Statement("GlueLogs", ("logs:GetLogEvents",),
                             # SAR (CloudWatch Logs): GetLogEvents acts on resource type log-stream
                             tuple(account.arn("logs", f"log-group:{g}:log-stream:*") for g in groups),
                             "run prints the tail of a failed job's or crawl's log"))  # fmt: skip
    return out


def operator_policy(pipeline: Pipeline, account: Account) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [s.as_json() for s in statements(pipeline, account)]}


def granted_actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] for a in s["Action"]}
