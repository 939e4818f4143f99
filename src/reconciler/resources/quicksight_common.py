"""What the QuickSight data source (quicksight.py) and data set (quicksight_dataset.py) kinds share: their ARNs,
principals' permissions, ownership tags, which of them are ours, and the operator's QuickSight statements with the
service role note that goes with them. Split from the kinds so each kind's module holds only its own calls.

API (Amazon QuickSight API reference, https://docs.aws.amazon.com/quicksight/latest/APIReference/):
- Principals: UpdateDataSourcePermissions / UpdateDataSetPermissions (GrantPermissions, RevokePermissions:
  lists of ResourcePermission {Principal, Actions}, API_ResourcePermission.html) and their Describe*.
- Ownership tags: TagResource / UntagResource / ListTagsForResource on the resource ARN (API_TagResource.html).
Every call takes AwsAccountId (ctx.account_id: STS GetCallerIdentity).
"""

from __future__ import annotations

from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError
from reconciler.iam_statement import Statement
from reconciler.resources.base import Account, KeyValueTags, desired_tags, is_not_found, tagged_as_ours
from reconciler.resources.glue_common import observed_owner_is
from reconciler.spec.model import OWNER_TAG, Pipeline


def resource_arn(ctx: AwsContext | Account, resource: str, name: str) -> str:
    """arn:aws:quicksight:REGION:ACCOUNT:datasource/ID or .../dataset/ID (the ARN Create* returns)."""
    return f"arn:{ctx.partition}:quicksight:{ctx.region}:{ctx.account_id}:{resource}/{name}"


def wanted_permissions(
    principals: tuple[tuple[str, str], ...], actions: dict[str, tuple[str, ...]]
) -> dict[str, list[str]]:
    return {arn: sorted(actions[access]) for arn, access in principals}


def observed_permissions(listed: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {str(p["Principal"]): sorted(p.get("Actions", [])) for p in listed}


def permission_changes(current: dict[str, list[str]], wanted: dict[str, list[str]]) -> dict[str, Any]:
    """GrantPermissions / RevokePermissions turning `current` into `wanted`."""
    grant = [{"Principal": a, "Actions": sorted(set(acts) - set(current.get(a, [])))} for a, acts in wanted.items()]
    revoke = [{"Principal": a, "Actions": sorted(set(acts) - set(wanted.get(a, [])))} for a, acts in current.items()]
    out: dict[str, Any] = {}
    if grant := [g for g in grant if g["Actions"]]:
        out["GrantPermissions"] = grant
    if revoke := [r for r in revoke if r["Actions"]]:
        out["RevokePermissions"] = revoke
    return out


def qs_tags(pipeline: Pipeline) -> dict[str, str]:
    """Our tags without empty values: a QuickSight tag value is 1 to 256 characters (API_Tag.html, Value:
    "Minimum length of 1"), so the key list tag of a spec without metadata.tags is left out."""
    return {k: v for k, v in desired_tags(pipeline).items() if v}


TAGS = KeyValueTags("quicksight")  # QuickSight's tag API (Amazon QuickSight API reference)


def get_tags(ctx: AwsContext, arn: str) -> dict[str, str]:
    return TAGS.read(ctx, arn)


def sync_tags(ctx: AwsContext, arn: str, wanted: dict[str, str]) -> None:
    TAGS.sync(ctx, arn, wanted)


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def confirmed_owned(ctx: AwsContext, pipeline: Pipeline, resource: str, declared: str) -> list[str]:
    """Ours among the declared id and the Tagging API's candidates (GetResources filtered by our owner tag: no
    right on anyone else's asset is needed, and the cost does not grow with the account's other assets), each
    confirmed by its own tags (the Tagging API is eventually consistent); one that does not exist is skipped."""
    owned = []
    for name in sorted({declared, *tagged_as_ours(ctx, pipeline, f"quicksight:{resource}")}):
        try:
            tags = get_tags(ctx, resource_arn(ctx, resource, name))
        except AwsApiError as exc:
            if is_not_found(exc):
                continue
            raise
        if observed_owner_is(tags, pipeline):
            owned.append(name)
    return owned


def uses_quicksight(pipeline: Pipeline) -> bool:
    """Whether the spec declares spec.quicksight.dataset. Without it the tool sends no QuickSight request at all:
    an account that never signed up for QuickSight answers every QuickSight call with an error, and the
    operator's policy (`reconcile permissions`) then holds no QuickSight action. So removing the section does
    not delete the data source and data set (docs/quicksight.md: rename them, or destroy, while declared)."""
    return pipeline.quicksight.dataset is not None and pipeline.quicksight.manifest is not None


#: Who reads the bucket for an S3 data source: the account's QuickSight service role, which the QuickSight
#: console's "Security & permissions > Amazon S3" setting grants (QuickSight User Guide, "Accessing Amazon S3
#: data": https://docs.aws.amazon.com/quicksight/latest/user/troubleshoot-connect-S3.html, and "Using the
#: QuickSight service role": https://docs.aws.amazon.com/quicksight/latest/user/security_iam_service-with-iam.html).
SERVICE_ROLE = "aws-quicksight-service-role-v0"


def service_role_grant(pipeline: Pipeline) -> str:
    """What QuickSight's service role needs to read the bucket: s3:GetObject and s3:ListBucket, and with SSE-KMS
    kms:Decrypt on the bucket's key (Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys":
    reading an SSE-KMS object needs kms:Decrypt on its key; the AWS managed key aws/s3's key policy allows every
    principal of the account through S3, a customer managed key's must allow the role)."""
    grant = (f"allow {SERVICE_ROLE} s3:GetObject and s3:ListBucket on s3://{pipeline.bucket.name} (QuickSight "
             f"console: Manage QuickSight > Security & permissions > Amazon S3, tick {pipeline.bucket.name})")
    encryption = pipeline.bucket.encryption
    if encryption.type == "SSE-KMS":
        key = encryption.kms_key_arn or "the bucket's AWS managed key aws/s3"
        grant += (f", and kms:Decrypt on {key} (SSE-KMS: in that role's policy and, for a customer managed "
                  "key, in the key policy)")
    return grant


def service_role_note(pipeline: Pipeline) -> str | None:
    """What the plan and `reconcile permissions` say when spec.quicksight.dataset is declared."""
    if pipeline.quicksight.dataset is None:
        return None
    return (f"QuickSight reads s3://{pipeline.bucket.name} for data source {pipeline.quicksight.dataset.data_source} "
            f"as its service role {SERVICE_ROLE}, not as you: {service_role_grant(pipeline)}, or creating the "
            "data source and every ingestion fail")  # fmt: skip


def quicksight_statements(pipeline: Pipeline, account: Account) -> list[Statement]:
    """The operator's QuickSight actions (Service Authorization Reference, "Actions defined by Amazon
    QuickSight": resource types datasource, dataset, ingestion; List* take no resource type; CreateDataSet
    needs quicksight:PassDataSource on its data source)."""
    dataset = pipeline.quicksight.dataset
    if dataset is None or pipeline.quicksight.manifest is None:
        return []
    source = resource_arn(account, "datasource", dataset.data_source)
    data_set = resource_arn(account, "dataset", dataset.data_set)
    note = service_role_note(pipeline)
    owner = {"StringEquals": {f"aws:ResourceTag/{OWNER_TAG}": pipeline.name}}
    return [
        # CreateDataSource has no resource type (SAR): only "*" matches; limited to requests that tag the new data
        # source as this pipeline's (aws:RequestTag, listed for the action).
        Statement("QuickSightCreateDataSource", ("quicksight:CreateDataSource",), ("*",),
                  "creating the data source, tagged as this pipeline's",
                  {"StringEquals": {f"aws:RequestTag/{OWNER_TAG}": pipeline.name}}),
        # CreateDataSet is authorised on the *data source* it reads, and needs quicksight:PassDataSource (SAR).
        Statement("QuickSightDataSource", (
            "quicksight:DescribeDataSource", "quicksight:UpdateDataSource",
            "quicksight:DeleteDataSource", "quicksight:DescribeDataSourcePermissions",
            "quicksight:UpdateDataSourcePermissions", "quicksight:PassDataSource", "quicksight:TagResource",
            "quicksight:UntagResource", "quicksight:ListTagsForResource", "quicksight:CreateDataSet",
        ), (source,), f"the QuickSight data source this pipeline owns, and creating the data set on it; {note}"),
        Statement("QuickSightDataSet", (
            "quicksight:DescribeDataSet", "quicksight:UpdateDataSet",
            "quicksight:DeleteDataSet", "quicksight:DescribeDataSetPermissions",
            "quicksight:UpdateDataSetPermissions",
            "quicksight:TagResource", "quicksight:UntagResource", "quicksight:ListTagsForResource",
        ), (data_set,), "the SPICE data set this pipeline owns"),
        # A data source or data set renamed in the spec is still ours (its tags say so) and is deleted by the next
        # apply: reading and deleting it is allowed where its own owner tag names this pipeline (the SAR lists
        # aws:ResourceTag/${TagKey} for the datasource and dataset resource types).
        Statement("QuickSightRenamedDataSources", (
            "quicksight:ListTagsForResource", "quicksight:DescribeDataSource", "quicksight:DeleteDataSource",
            "quicksight:DescribeDataSourcePermissions",
        ), (resource_arn(account, "datasource", "*"),), "data sources renamed in the spec but still tagged as this "
            "pipeline's: read and delete them", owner),
        Statement("QuickSightRenamedDataSets", (
            "quicksight:ListTagsForResource", "quicksight:DescribeDataSet", "quicksight:DeleteDataSet",
            "quicksight:DescribeDataSetPermissions",
        ), (resource_arn(account, "dataset", "*"),), "data sets renamed in the spec but still tagged as this "
            "pipeline's: read and delete them", owner),
        Statement("QuickSightIngestions", ("quicksight:CreateIngestion", "quicksight:DescribeIngestion"),
                  (f"{data_set}/ingestion/*",), "refreshing the data set after every publish (resource type "
                  "ingestion)"),
    ]  # fmt: skip
