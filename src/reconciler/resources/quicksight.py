"""QuickSight S3 data source on the uploaded manifest and the SPICE data set on it (spec.quicksight.dataset).

API (Amazon QuickSight API reference, https://docs.aws.amazon.com/quicksight/latest/APIReference/):
- CreateDataSource / DescribeDataSource / UpdateDataSource / DeleteDataSource / ListDataSources
  (API_CreateDataSource.html: AwsAccountId, DataSourceId, Name, Type "S3", DataSourceParameters.S3Parameters.
  ManifestFileLocation {Bucket, Key}; API_S3Parameters.html). An S3 data source reads the bucket with the
  account's QuickSight service role (aws-quicksight-service-role-v0), so that role must be allowed to read it
  (https://docs.aws.amazon.com/quicksight/latest/user/troubleshoot-connect-S3.html): `reconcile permissions`
  and the plan say so (engine: quicksight_role_note).
- CreateDataSet / DescribeDataSet / UpdateDataSet / DeleteDataSet / ListDataSets (API_CreateDataSet.html:
  ImportMode SPICE, PhysicalTableMap {id: {S3Source: {DataSourceArn, InputColumns, UploadSettings}}};
  API_S3Source.html, API_InputColumn.html, API_UploadSettings.html).
- Principals: UpdateDataSourcePermissions / UpdateDataSetPermissions (GrantPermissions, RevokePermissions:
  lists of ResourcePermission {Principal, Actions}, API_ResourcePermission.html) and their Describe*; the
  action sets are the console's "owner" and "viewer" sets (the ones terraform-provider-aws documents for
  aws_quicksight_data_source / aws_quicksight_data_set permission blocks).
- Ownership tags: TagResource / UntagResource / ListTagsForResource on the resource ARN (API_TagResource.html).
Every call takes AwsAccountId (ctx.account_id: STS GetCallerIdentity).
"""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.aws import wait
from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError, AwsError, NotFoundError
from reconciler.iam_statement import Statement
from reconciler.resources import glue_common
from reconciler.resources.base import (
    Account,
    AttrChange,
    Desired,
    KeyValueTags,
    Observed,
    ResourceKind,
    aws_error,
    desired_tags,
    is_not_found,
    tagged_as_ours,
)
from reconciler.resources.fields import Field
from reconciler.resources.glue_common import observed_owner_is
from reconciler.spec import model
from reconciler.spec.model import OWNER_TAG, Pipeline
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
SET_ACTIONS = {
    "viewer": ("quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:DescribeIngestion",
               "quicksight:ListIngestions", "quicksight:PassDataSet"),
    "owner": ("quicksight:CancelIngestion", "quicksight:CreateIngestion", "quicksight:DeleteDataSet",
              "quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:DescribeIngestion",
              "quicksight:ListIngestions", "quicksight:PassDataSet", "quicksight:UpdateDataSet",
              "quicksight:UpdateDataSetPermissions"),
}  # fmt: skip

#: The physical table's id in PhysicalTableMap (one table: the manifest's CSV), and the logical table on it.
TABLE_ID = "manifest"
LOGICAL_ID = "typed"

#: A column of a non-JSON file is a STRING input column (botocore quicksight model, S3Source.InputColumns: "For
#: files that aren't JSON, only STRING data types are supported in input columns."), cast in the LogicalTableMap
#: to its declared type (CastColumnTypeOperation.NewColumnType: STRING | INTEGER | DECIMAL | DATETIME, which
#: spec/quicksight_checks.py CASTABLE_TYPES holds the declared types to).

#: Until the first publish there is no manifest, but CreateDataSource reads it (as QuickSight's service role,
#: at creation: terraform-provider-aws internal/service/quicksight/data_source.go retries the AccessDenied it
#: answers meanwhile). So the data source is created on a placeholder manifest (same key, same upload
#: settings) that names one header-only file under our internal prefix; the first publish replaces it
#: (quarterly/publish.py converge). A header-only file imports as zero rows.
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
SET_FIELDS: tuple[Field, ...] = (
    Field("import_mode", "ImportMode", default="SPICE", note="always SPICE (the spec has no choice); no sample"),
    Field("data_source", note="PhysicalTableMap.manifest.S3Source.DataSourceArn"),
    Field("columns", note="PhysicalTableMap.manifest.S3Source.InputColumns as [name, type] pairs"),
    Field("upload_settings", note="PhysicalTableMap.manifest.S3Source.UploadSettings (from the manifest section)"),
    Field("permissions", note="Describe/UpdateDataSetPermissions: principal ARN -> sorted actions"),
)


def resource_arn(ctx: AwsContext | Account, resource: str, name: str) -> str:
    """arn:aws:quicksight:REGION:ACCOUNT:datasource/ID or .../dataset/ID (the ARN Create* returns)."""
    return f"arn:{ctx.partition}:quicksight:{ctx.region}:{ctx.account_id}:{resource}/{name}"


def _permissions(principals: tuple[tuple[str, str], ...], actions: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    return {arn: sorted(actions[access]) for arn, access in principals}


def _observed_permissions(listed: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {str(p["Principal"]): sorted(p.get("Actions", [])) for p in listed}


def _permission_changes(current: dict[str, list[str]], wanted: dict[str, list[str]]) -> dict[str, Any]:
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


def _sync_tags(ctx: AwsContext, arn: str, wanted: dict[str, str]) -> None:
    TAGS.sync(ctx, arn, wanted)


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _confirmed(ctx: AwsContext, pipeline: Pipeline, resource: str, declared: str) -> list[str]:
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


def _uses_quicksight(pipeline: Pipeline) -> bool:
    """Whether the spec declares spec.quicksight.dataset. Without it the tool sends no QuickSight request at all:
    an account that never signed up for QuickSight answers every QuickSight call with an error, and the
    operator's policy (`reconcile permissions`) then holds no QuickSight action. So removing the section does
    not delete the data source and data set (docs/quicksight.md: rename them, or destroy, while declared)."""
    return pipeline.quicksight.dataset is not None and pipeline.quicksight.manifest is not None


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
            "permissions": _permissions(dataset.principals, SOURCE_ACTIONS),
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
            "permissions": _observed_permissions(perms),
        }
        return Observed(attrs, get_tags(ctx, resource_arn(ctx, "datasource", name)))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """The declared data source and those the Tagging API lists under our owner tag, each confirmed by its own
        tags; nothing, and no QuickSight call, without spec.quicksight.dataset (see `_uses_quicksight`)."""
        if not _uses_quicksight(pipeline):
            return []
        assert pipeline.quicksight.dataset is not None
        return _confirmed(ctx, pipeline, "datasource", pipeline.quicksight.dataset.data_source)

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        manifest = desired.attrs["manifest"]
        ensure_manifest(ctx, pipeline)
        params = {"S3Parameters": {"ManifestFileLocation": {"Bucket": manifest["bucket"], "Key": manifest["key"]}}}
        try:
            _retry_manifest_read(pipeline, desired.name, "creating", lambda: ctx.call(
                "quicksight", "create_data_source", AwsAccountId=ctx.account_id, DataSourceId=desired.name,
                Name=desired.name, Type="S3", Tags=_tag_list(dict(desired.tags)), DataSourceParameters=params,
            ))  # fmt: skip
            wait_for_data_source(ctx, pipeline, desired.name)
            if changes := _permission_changes({}, desired.attrs["permissions"]):
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
            if grants := _permission_changes(current, desired.attrs["permissions"]):
                ctx.call("quicksight", "update_data_source_permissions", AwsAccountId=ctx.account_id,
                         DataSourceId=desired.name, **grants)  # fmt: skip
        if "tags" in tops:
            _sync_tags(ctx, resource_arn(ctx, "datasource", desired.name), dict(desired.tags))

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
    try:
        ctx.call("s3", "head_object", Bucket=bucket, Key=manifest.key)
        return False
    except NotFoundError:
        pass
    from reconciler.quarterly.manifest import manifest_for_prefixes, manifest_text

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


def _upload_settings(pipeline: Pipeline) -> dict[str, Any]:
    """UploadSettings of the S3Source (API_UploadSettings.html) from spec.quicksight.manifest."""
    manifest = pipeline.quicksight.manifest
    if manifest is None:
        return {}
    return {"Format": manifest.format, "ContainsHeader": manifest.contains_header, "Delimiter": manifest.delimiter}


def _observed_columns(source: dict[str, Any], logical: dict[str, Any]) -> list[list[str]]:
    """[name, type] per input column: the type a CastColumnTypeOperation on our logical table gives it, else the
    input column's own. A non-STRING input column of a non-JSON file (which AWS refuses, so only an older
    definition has one) is shown as such, so that the plan updates it."""
    table = logical.get(LOGICAL_ID) or {}
    casts: dict[str, str] = {}
    if (table.get("Source") or {}).get("PhysicalTableId") == TABLE_ID:
        for transform in table.get("DataTransforms") or []:
            cast = transform.get("CastColumnTypeOperation")
            if cast:
                casts[str(cast["ColumnName"])] = str(cast["NewColumnType"])
    json_file = (source.get("UploadSettings") or {}).get("Format") == "JSON"
    out: list[list[str]] = []
    for column in source.get("InputColumns", []):
        name, kind = str(column["Name"]), str(column["Type"])
        if not json_file and kind != "STRING":
            out.append([name, f"{kind} (input column)"])
        else:
            out.append([name, casts.get(name, kind)])
    return out


class DataSetKind(ResourceKind):
    kind: ClassVar[str] = "quicksight_data_set"
    level: ClassVar[int] = 3  # after its data source (deleted before it)
    fields: ClassVar[tuple[Field, ...]] = SET_FIELDS
    depends_on: ClassVar[frozenset[str]] = frozenset({"quicksight_data_source"})
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "quicksight", "dataset")
    spec_model: ClassVar[type | None] = model.QuickSightDataset
    tagging_type: ClassVar[str | None] = "quicksight:dataset"
    runs: ClassVar[bool] = False  # its SPICE ingestions: `run` waits for them (quarterly/refresh.py)

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        return []  # DataSourceKind's quicksight_statements grant the data set's actions too

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        return []  # QuickSight reads the bucket as its own service role (service_role_note)

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        dataset = pipeline.quicksight.dataset
        if dataset is None or pipeline.quicksight.manifest is None:
            return []
        attrs = {
            "import_mode": "SPICE",
            "data_source": resource_arn(account, "datasource", dataset.data_source),
            "columns": [[name, kind] for name, kind in dataset.columns],
            "upload_settings": _upload_settings(pipeline),
            "permissions": _permissions(dataset.principals, SET_ACTIONS),
        }
        return [Desired(self.kind, dataset.data_set, attrs, qs_tags(pipeline))]

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        try:
            found = ctx.call("quicksight", "describe_data_set", AwsAccountId=ctx.account_id, DataSetId=name)
            perms = ctx.call("quicksight", "describe_data_set_permissions", AwsAccountId=ctx.account_id,
                             DataSetId=name).get("Permissions") or []  # fmt: skip
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"QuickSight data set {name!r}", exc) from exc
        data_set = found["DataSet"]
        tables = data_set.get("PhysicalTableMap") or {}
        table: dict[str, Any] = tables.get(TABLE_ID) or next(iter(tables.values()), {})
        source: dict[str, Any] = table.get("S3Source") or {}
        settings: dict[str, Any] = source.get("UploadSettings") or {}
        attrs = {
            "import_mode": data_set.get("ImportMode", "SPICE"),
            "data_source": source.get("DataSourceArn", ""),
            "columns": _observed_columns(source, data_set.get("LogicalTableMap") or {}),
            "upload_settings": {k: v for k, v in settings.items() if k in ("Format", "ContainsHeader", "Delimiter")},
            "permissions": _observed_permissions(perms),
        }
        return Observed(attrs, get_tags(ctx, resource_arn(ctx, "dataset", name)))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """The declared data set and those the Tagging API lists under our owner tag, each confirmed by its own
        tags (none without the section)."""
        if not _uses_quicksight(pipeline):
            return []
        assert pipeline.quicksight.dataset is not None
        return _confirmed(ctx, pipeline, "dataset", pipeline.quicksight.dataset.data_set)

    def _table(self, desired: Desired) -> dict[str, Any]:
        attrs = desired.attrs
        json_file = attrs["upload_settings"].get("Format") == "JSON"
        return {TABLE_ID: {"S3Source": {
            "DataSourceArn": attrs["data_source"], "UploadSettings": attrs["upload_settings"],
            "InputColumns": [{"Name": n, "Type": t if json_file else "STRING"} for n, t in attrs["columns"]],
        }}}  # fmt: skip

    def _logical(self, desired: Desired) -> dict[str, Any]:
        """The logical table on the physical one, casting each non-STRING column of a non-JSON file to its type
        (CastColumnTypeOperation, API_CastColumnTypeOperation.html); JSON files are typed in InputColumns."""
        attrs = desired.attrs
        casts = [] if attrs["upload_settings"].get("Format") == "JSON" else [
            {"CastColumnTypeOperation": {"ColumnName": n, "NewColumnType": t}} for n, t in attrs["columns"]
            if t != "STRING"
        ]  # fmt: skip
        table: dict[str, Any] = {"Alias": TABLE_ID, "Source": {"PhysicalTableId": TABLE_ID}}
        if casts:
            table["DataTransforms"] = casts
        return {LOGICAL_ID: table}

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        try:
            ctx.call("quicksight", "create_data_set", AwsAccountId=ctx.account_id, DataSetId=desired.name,
                     Name=desired.name, ImportMode=desired.attrs["import_mode"], PhysicalTableMap=self._table(desired),
                     LogicalTableMap=self._logical(desired), Tags=_tag_list(dict(desired.tags)))  # fmt: skip
            if changes := _permission_changes({}, desired.attrs["permissions"]):
                ctx.call("quicksight", "update_data_set_permissions", AwsAccountId=ctx.account_id,
                         DataSetId=desired.name, **changes)  # fmt: skip
        except AwsApiError as exc:
            raise aws_error("creating", f"QuickSight data set {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        tops = {c.top for c in changes}
        if tops & {"import_mode", "data_source", "columns", "upload_settings"}:
            ctx.call("quicksight", "update_data_set", AwsAccountId=ctx.account_id, DataSetId=desired.name,
                     Name=desired.name, ImportMode=desired.attrs["import_mode"],
                     PhysicalTableMap=self._table(desired), LogicalTableMap=self._logical(desired))  # fmt: skip
        if "permissions" in tops:
            observed = self.read(ctx, desired.name, pipeline)
            current = dict(observed.attrs["permissions"]) if observed else {}
            if grants := _permission_changes(current, desired.attrs["permissions"]):
                ctx.call("quicksight", "update_data_set_permissions", AwsAccountId=ctx.account_id,
                         DataSetId=desired.name, **grants)  # fmt: skip
        if "tags" in tops:
            _sync_tags(ctx, resource_arn(ctx, "dataset", desired.name), dict(desired.tags))

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            ctx.call("quicksight", "delete_data_set", AwsAccountId=ctx.account_id, DataSetId=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"QuickSight data set {name!r}", exc) from exc


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
