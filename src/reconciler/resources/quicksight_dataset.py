"""The SPICE data set on the QuickSight data source (spec.quicksight.dataset; the source is quicksight.py, what
both share quicksight_common.py).

API (Amazon QuickSight API reference, https://docs.aws.amazon.com/quicksight/latest/APIReference/):
- CreateDataSet / DescribeDataSet / UpdateDataSet / DeleteDataSet / ListDataSets (API_CreateDataSet.html:
  ImportMode SPICE, PhysicalTableMap {id: {S3Source: {DataSourceArn, InputColumns, UploadSettings}}};
  API_S3Source.html, API_InputColumn.html, API_UploadSettings.html).
- Principals: UpdateDataSetPermissions / DescribeDataSetPermissions; the action sets are the console's "owner"
  and "viewer" sets (the ones terraform-provider-aws documents for aws_quicksight_data_set permission blocks).
Every call takes AwsAccountId (ctx.account_id: STS GetCallerIdentity).
"""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError
from reconciler.iam_statement import Statement
from reconciler.resources.base import Account, AttrChange, Desired, Observed, ResourceKind, aws_error, is_not_found
from reconciler.resources.fields import Field
from reconciler.resources.quicksight_common import (
    confirmed_owned,
    get_tags,
    observed_permissions,
    permission_changes,
    qs_tags,
    resource_arn,
    sync_tags,
    tag_list,
    uses_quicksight,
    wanted_permissions,
)
from reconciler.spec import model
from reconciler.spec.model import Pipeline

#: ResourcePermission Actions per access (API_ResourcePermission.html; the console's sharing levels).
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

SET_FIELDS: tuple[Field, ...] = (
    Field("import_mode", "ImportMode", default="SPICE", note="always SPICE (the spec has no choice); no sample"),
    Field("data_source", note="PhysicalTableMap.manifest.S3Source.DataSourceArn"),
    Field("columns", note="PhysicalTableMap.manifest.S3Source.InputColumns as [name, type] pairs"),
    Field("upload_settings", note="PhysicalTableMap.manifest.S3Source.UploadSettings (from the manifest section)"),
    Field("permissions", note="Describe/UpdateDataSetPermissions: principal ARN -> sorted actions"),
)


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
            "permissions": wanted_permissions(dataset.principals, SET_ACTIONS),
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
            "permissions": observed_permissions(perms),
        }
        return Observed(attrs, get_tags(ctx, resource_arn(ctx, "dataset", name)))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """The declared data set and those the Tagging API lists under our owner tag, each confirmed by its own
        tags (none without the section)."""
        if not uses_quicksight(pipeline):
            return []
        assert pipeline.quicksight.dataset is not None
        return confirmed_owned(ctx, pipeline, "dataset", pipeline.quicksight.dataset.data_set)

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
                     LogicalTableMap=self._logical(desired), Tags=tag_list(dict(desired.tags)))  # fmt: skip
            if changes := permission_changes({}, desired.attrs["permissions"]):
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
            if grants := permission_changes(current, desired.attrs["permissions"]):
                ctx.call("quicksight", "update_data_set_permissions", AwsAccountId=ctx.account_id,
                         DataSetId=desired.name, **grants)  # fmt: skip
        if "tags" in tops:
            sync_tags(ctx, resource_arn(ctx, "dataset", desired.name), dict(desired.tags))

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            ctx.call("quicksight", "delete_data_set", AwsAccountId=ctx.account_id, DataSetId=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"QuickSight data set {name!r}", exc) from exc


