"""QuickSight S3 data source on the uploaded manifest (spec.quicksight.dataset); the SPICE data set on it is
quicksight_dataset.py, and what both share (ARNs, permissions, tags, the operator's statements) quicksight_common.py.

API (Amazon QuickSight API reference, https://docs.aws.amazon.com/quicksight/latest/APIReference/):
- CreateDataSource / DescribeDataSource / UpdateDataSource / DeleteDataSource / ListDataSources
  (API_CreateDataSource.html: AwsAccountId, DataSourceId, Name, Type "S3", DataSourceParameters.S3Parameters.
  ManifestFileLocation {Bucket, Key}; API_S3Parameters.html). An S3 data source reads the bucket with the
  account's QuickSight service role (aws-quicksight-service-role-v0), so that role must be allowed to read it
  (https://docs.aws.amazon.com/quicksight/latest/user/troubleshoot-connect-S3.html): `reconcile permissions`
  and the plan say so (engine: quicksight_role_note).
- Principals: UpdateDataSourcePermissions / DescribeDataSourcePermissions; the action sets are the console's
  "owner" and "viewer" sets (the ones terraform-provider-aws documents for aws_quicksight_data_source
  permission blocks).
Every call takes AwsAccountId (ctx.account_id: STS GetCallerIdentity).
"""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.aws import wait
from reconciler.aws.context import AwsContext
from reconciler.aws.visible import read_listed
from reconciler.errors import AwsApiError, AwsError
from reconciler.iam_statement import Statement
from reconciler.resources import glue_common
from reconciler.resources.base import Account, AttrChange, Desired, Observed, ResourceKind, aws_error, is_not_found
from reconciler.resources.fields import Field
from reconciler.resources.quicksight_common import (
    SERVICE_ROLE,
    confirmed_owned,
    get_tags,
    observed_permissions,
    permission_changes,
    qs_tags,
    quicksight_statements,
    resource_arn,
    service_role_grant,
    sync_tags,
    tag_list,
    uses_quicksight,
    wanted_permissions,
)
from reconciler.spec import model
from reconciler.spec.model import Pipeline
from reconciler.spec.reserved import INTERNAL_PREFIX

#: ResourcePermission Actions per access (API_ResourcePermission.html; the console's sharing levels).
_SOURCE_VIEW = (
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
)
SOURCE_ACTIONS = {
    "viewer": _SOURCE_VIEW,
    "owner": (*_SOURCE_VIEW, "quicksight:DeleteDataSource", "quicksight:UpdateDataSource",
              "quicksight:UpdateDataSourcePermissions"),
}  # fmt: skip

#: Until the first publish there is no manifest, but CreateDataSource reads it (as QuickSight's service role,
#: at creation: terraform-provider-aws internal/service/quicksight/data_source.go retries the AccessDenied it
#: answers meanwhile). So the data source is created on a placeholder manifest (same key, same upload
#: settings) that names one header-only file under our internal prefix; the first publish replaces it
#: (quarterly/converge.py). A header-only file imports as zero rows.
PLACEHOLDER_PREFIX = INTERNAL_PREFIX + "quicksight/placeholder/"

#: terraform-provider-aws internal/service/quicksight/data_source.go (resourceDataSourceCreate /
#: resourceDataSourceUpdate): AccessDeniedException with either text is retried for propagationTimeout
#: (2 minutes: glue_common.IAM_PROPAGATION_TIMEOUT); waitDataSourceCreated / waitDataSourceUpdated then wait
#: up to 5 minutes for CREATION_SUCCESSFUL / UPDATE_SUCCESSFUL, a *_FAILED status failing with its ErrorInfo.
MANIFEST_PROPAGATION_MESSAGES = (
    "Failed to assume your role. Verify the trust relationships of the role in the IAM console",
    "Insufficient permission to access the manifest file",
)
STATUS_TIMEOUT = 300.0
STATUS_POLL = 0.5

SOURCE_FIELDS: tuple[Field, ...] = (
    Field("manifest", note="DataSourceParameters.S3Parameters.ManifestFileLocation {bucket, key}"),
    Field("permissions", note="Describe/UpdateDataSourcePermissions: principal ARN -> sorted actions"),
)


class DataSourceKind(ResourceKind):
    kind: ClassVar[str] = "quicksight_data_source"
    level: ClassVar[int] = 2  # after the bucket and the manifest upload it points at
    fields: ClassVar[tuple[Field, ...]] = SOURCE_FIELDS
    depends_on: ClassVar[frozenset[str]] = frozenset({"bucket", "upload"})
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "quicksight", "dataset")
    spec_model: ClassVar[type | None] = model.QuickSightDataset
    tagging_type: ClassVar[str | None] = "quicksight:datasource"
    runs: ClassVar[bool] = False

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        return quicksight_statements(pipeline, account)  # the data set's too: CreateDataSet is on the source

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        return []  # QuickSight reads the bucket as its own service role (service_role_note)

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        dataset, manifest = pipeline.quicksight.dataset, pipeline.quicksight.manifest
        if dataset is None or manifest is None:
            return []
        attrs = {
            "manifest": {"bucket": pipeline.bucket.name, "key": manifest.key},
            "permissions": wanted_permissions(dataset.principals, SOURCE_ACTIONS),
        }
        return [Desired(self.kind, dataset.data_source, attrs, qs_tags(pipeline))]

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        try:
            found = ctx.call("quicksight", "describe_data_source", AwsAccountId=ctx.account_id, DataSourceId=name)
            perms = ctx.call("quicksight", "describe_data_source_permissions", AwsAccountId=ctx.account_id,
                             DataSourceId=name).get("Permissions") or []  # fmt: skip
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"QuickSight data source {name!r}", exc) from exc
        source = found["DataSource"]
        location = ((source.get("DataSourceParameters") or {}).get("S3Parameters") or {}).get("ManifestFileLocation")
        attrs = {
            "manifest": {"bucket": (location or {}).get("Bucket", ""), "key": (location or {}).get("Key", "")},
            "permissions": observed_permissions(perms),
        }
        return Observed(attrs, get_tags(ctx, resource_arn(ctx, "datasource", name)))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """The declared data source and those the Tagging API lists under our owner tag, each confirmed by its own
        tags; nothing, and no QuickSight call, without spec.quicksight.dataset (see `uses_quicksight`)."""
        if not uses_quicksight(pipeline):
            return []
        assert pipeline.quicksight.dataset is not None
        return confirmed_owned(ctx, pipeline, "datasource", pipeline.quicksight.dataset.data_source)

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        manifest = desired.attrs["manifest"]
        ensure_manifest(ctx, pipeline)
        params = {"S3Parameters": {"ManifestFileLocation": {"Bucket": manifest["bucket"], "Key": manifest["key"]}}}
        try:
            _retry_manifest_read(pipeline, desired.name, "creating", lambda: ctx.call(
                "quicksight", "create_data_source", AwsAccountId=ctx.account_id, DataSourceId=desired.name,
                Name=desired.name, Type="S3", Tags=tag_list(dict(desired.tags)), DataSourceParameters=params,
            ))  # fmt: skip
            wait_for_data_source(ctx, pipeline, desired.name)
            if changes := permission_changes({}, desired.attrs["permissions"]):
                ctx.call("quicksight", "update_data_source_permissions", AwsAccountId=ctx.account_id,
                         DataSourceId=desired.name, **changes)  # fmt: skip
        except AwsApiError as exc:
            raise aws_error("creating", f"QuickSight data source {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        tops = {c.top for c in changes}
        if "manifest" in tops:
            manifest = desired.attrs["manifest"]
            ensure_manifest(ctx, pipeline)
            params = {"S3Parameters": {"ManifestFileLocation": {"Bucket": manifest["bucket"], "Key": manifest["key"]}}}
            _retry_manifest_read(pipeline, desired.name, "updating", lambda: ctx.call(
                "quicksight", "update_data_source", AwsAccountId=ctx.account_id, DataSourceId=desired.name,
                Name=desired.name, DataSourceParameters=params))  # fmt: skip
            wait_for_data_source(ctx, pipeline, desired.name)
        if "permissions" in tops:
            observed = self.read(ctx, desired.name, pipeline)
            current = dict(observed.attrs["permissions"]) if observed else {}
            if grants := permission_changes(current, desired.attrs["permissions"]):
                ctx.call("quicksight", "update_data_source_permissions", AwsAccountId=ctx.account_id,
                         DataSourceId=desired.name, **grants)  # fmt: skip
        if "tags" in tops:
            sync_tags(ctx, resource_arn(ctx, "datasource", desired.name), dict(desired.tags))

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            ctx.call("quicksight", "delete_data_source", AwsAccountId=ctx.account_id, DataSourceId=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"QuickSight data source {name!r}", exc) from exc


def _placeholder_file(pipeline: Pipeline) -> tuple[str, bytes]:
    """The placeholder data file's key and content: the declared columns' header in the manifest's format
    (CSV / TSV: the delimited header; JSON: an empty array; CLF / ELF: empty)."""
    manifest, dataset = pipeline.quicksight.manifest, pipeline.quicksight.dataset
    assert manifest is not None
    file_format = manifest.format
    if file_format in ("CSV", "TSV"):
        names = [name for name, _ in dataset.columns] if dataset is not None else []
        header = manifest.delimiter.join(names) + "\n" if manifest.contains_header and names else ""
        return PLACEHOLDER_PREFIX + f"empty.{file_format.lower()}", header.encode()
    if file_format == "JSON":
        return PLACEHOLDER_PREFIX + "empty.json", b"[]\n"
    return PLACEHOLDER_PREFIX + "empty.log", b""


def ensure_manifest(ctx: AwsContext, pipeline: Pipeline) -> bool:
    """Before CreateDataSource / UpdateDataSource: when nothing is at the manifest key yet (nothing published),
    write the placeholder manifest and its one header-only file (PLACEHOLDER_PREFIX). True when written. A
    manifest already there (published, or a person's) is left alone."""
    manifest = pipeline.quicksight.manifest
    if manifest is None:
        return False
    bucket = pipeline.bucket.name
    # a manifest written a moment ago (a promote) may answer 404 in versioning's window: the listing decides
    found = read_listed(ctx, bucket, manifest.key, operation="head_object", doing="reading the QuickSight manifest")
    if found is not None:
        return False
    from reconciler.spec.manifest import manifest_for_prefixes, manifest_text

    key, body = _placeholder_file(pipeline)
    ctx.call("s3", "put_object", Bucket=bucket, Key=key, Body=body)
    document = manifest_for_prefixes(pipeline, [PLACEHOLDER_PREFIX])
    ctx.call("s3", "put_object", Bucket=bucket, Key=manifest.key, Body=manifest_text(document).encode(),
             ContentType="application/json")  # fmt: skip
    return True


def _manifest_unreadable(pipeline: Pipeline, name: str, doing: str, detail: str) -> AwsError:
    manifest = pipeline.quicksight.manifest
    where = f"s3://{pipeline.bucket.name}/{manifest.key if manifest else ''}"
    return AwsError(
        f"{doing} QuickSight data source {name!r}: QuickSight could not read the manifest {where} as its service "
        f"role {SERVICE_ROLE}: {detail}",
        hint=f"QuickSight reads the bucket as its service role, not as you: {service_role_grant(pipeline)}",
    )


def _retry_manifest_read(pipeline: Pipeline, name: str, doing: str, action: Any) -> None:
    """`action()` (CreateDataSource / UpdateDataSource), retried while QuickSight cannot read the manifest yet
    (MANIFEST_PROPAGATION_MESSAGES, for glue_common.IAM_PROPAGATION_TIMEOUT); after that the error names
    QuickSight's service role and the bucket, not the caller's rights."""
    try:
        glue_common.retry_iam_propagation(action, MANIFEST_PROPAGATION_MESSAGES, code="AccessDeniedException")
    except AwsApiError as exc:
        if glue_common.is_propagation_error(exc, MANIFEST_PROPAGATION_MESSAGES, "AccessDeniedException"):
            raise _manifest_unreadable(pipeline, name, doing, exc.aws_message) from exc
        raise


def wait_for_data_source(ctx: AwsContext, pipeline: Pipeline, name: str, *, timeout: float = STATUS_TIMEOUT) -> None:
    """Poll DescribeDataSource until CREATION_SUCCESSFUL / UPDATE_SUCCESSFUL (ResourceStatus, botocore quicksight
    model); CREATION_FAILED / UPDATE_FAILED is an error naming its ErrorInfo (terraform-provider-aws
    data_source.go waitDataSourceCreated / waitDataSourceUpdated, dataSourceError)."""

    def status() -> tuple[tuple[dict[str, Any], str], str]:  # the waiter is told SUCCESSFUL / FAILED / PENDING
        source = ctx.call_fresh("quicksight", "describe_data_source", AwsAccountId=ctx.account_id,
                                DataSourceId=name)["DataSource"]  # fmt: skip
        found = str(source.get("Status", ""))
        return (source, found), found.rsplit("_", 1)[-1] if found.endswith(("_SUCCESSFUL", "_FAILED")) else "PENDING"

    try:
        source, found = wait.until(status, pending={"PENDING"}, target={"SUCCESSFUL", "FAILED"}, timeout=timeout,
                                   poll=wait.every(STATUS_POLL))  # fmt: skip
    except wait.WaitTimeout as timed_out:
        raise AwsError(f"QuickSight data source {name!r} is still {timed_out.last[1]} after {int(timeout)} s",
                       hint="apply again later") from None  # fmt: skip
    if found.endswith("_FAILED"):
        info = source.get("ErrorInfo") or {}
        detail = f"{info.get('Type', 'UNKNOWN')}: {info.get('Message', 'no error given')}"
        if info.get("Type") == "ACCESS_DENIED":
            raise _manifest_unreadable(pipeline, name, "creating", detail)
        raise AwsError(f"QuickSight data source {name!r} ended {found}: {detail}",
                       hint="fix what QuickSight names, then apply again")  # fmt: skip
