"""QuickSight operations moto 5.2.5 lacks, grafted onto its classes (docs/quicksight.md lists what moto has).

Each models the QuickSight API reference, https://docs.aws.amazon.com/quicksight/latest/APIReference/:
- DescribeDataSourcePermissions / UpdateDataSourcePermissions (API_UpdateDataSourcePermissions.html:
  GrantPermissions and RevokePermissions, each a list of {Principal, Actions}).
- CreateDataSet kept whole (API_CreateDataSet.html: Name, PhysicalTableMap, ImportMode, Permissions),
  DescribeDataSet (API_DescribeDataSet.html), UpdateDataSet (API_UpdateDataSet.html), DeleteDataSet
  (API_DeleteDataSet.html), ListDataSets (API_ListDataSets.html), Describe/UpdateDataSetPermissions
  (API_UpdateDataSetPermissions.html).
- CreateIngestion (API_CreateIngestion.html; answers IngestionStatus INITIALIZED) and DescribeIngestion
  (API_DescribeIngestion.html, API_Ingestion.html: IngestionStatus, ErrorInfo {Type, Message},
  RowInfo {RowsIngested, RowsDropped}). The ingestion runs at once: it reads the data set's data source's
  manifest from the endpoint's S3 (S3Parameters.ManifestFileLocation, API_S3Parameters.html), then every
  object its fileLocations name (URIs, or URIPrefixes: the objects directly under the prefix), and counts
  CSV rows (less one per file when globalUploadSettings.containsHeader is "true", the default;
  https://docs.aws.amazon.com/quicksight/latest/user/supported-manifest-file-format.html). A missing or
  unreadable manifest or object, or a manifest naming no object, ends it FAILED with ErrorInfo, as
  QuickSight reports a failed import (ErrorInfo.Type values from API_ErrorInfo.html: S3_MANIFEST_ERROR,
  S3_FILE_INACCESSIBLE, ...).
- Asynchronous statuses (setting `quicksight_async_seconds`): a data source answers CREATION_IN_PROGRESS /
  UPDATE_IN_PROGRESS, then CREATION_SUCCESSFUL / UPDATE_SUCCESSFUL, or CREATION_FAILED / UPDATE_FAILED with
  ErrorInfo {Type, Message} (botocore quicksight model: ResourceStatus, DataSourceErrorInfo); an ingestion
  answers QUEUED, then RUNNING, then its end (IngestionStatus). terraform-provider-aws
  internal/service/quicksight/data_source.go waits for CREATION_SUCCESSFUL / UPDATE_SUCCESSFUL
  (waitDataSourceCreated, waitDataSourceUpdated) and reads ErrorInfo of a *_FAILED one.
- The manifest read at CreateDataSource / UpdateDataSource: QuickSight reads the S3 data source's manifest
  as its service role when the data source is created or updated (QuickSight user guide, "Creating a
  dataset using Amazon S3 files"; terraform-provider-aws data_source.go retries AccessDeniedException
  "Insufficient permission to access the manifest file" for that reason). A manifest that cannot be read
  (missing included) answers AccessDeniedException with that text; one that is not a JSON object with
  fileLocations ends the data source CREATION_FAILED / UPDATE_FAILED (ErrorInfo Type UNKNOWN). Which of the
  two AWS does for a present but invalid manifest is not documented; the client handles both.
- CreateDataSet / UpdateDataSet refuse (InvalidParameterValueException) an S3Source whose InputColumns are
  not all STRING unless its UploadSettings.Format is JSON (botocore quicksight model, S3Source.InputColumns:
  "For files that aren't JSON, only STRING data types are supported in input columns."), and a data source
  that is not CREATION_SUCCESSFUL / UPDATE_SUCCESSFUL (unverified wording; terraform waits for it first).
  They keep LogicalTableMap (API_CreateDataSet.html) and DescribeDataSet answers it.
- CreateIngestion refuses an IngestionId the data set already has with ResourceExistsException (HTTP 409;
  botocore quicksight model, CreateIngestion errors, ResourceExistsException).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any, cast

from reconciler_local.moto_api import (
    JsonRESTError,
    QuickSightBackend,
    QuicksightDataSet,
    QuickSightResponse,
)
from reconciler_local.moto_api import (
    QuickSightInvalidParameterValue as InvalidParameterValueException,
)
from reconciler_local.moto_api import QuickSightResourceNotFound as ResourceNotFoundException
from reconciler_local.moto_api import quicksight_urls as qs_urls
from reconciler_local.patching import graft, original
from reconciler_local.runtime import get_runtime
from reconciler_local.s3store import S3Error, S3Store, split_uri

# The routes moto's urls.py lacks (botocore quicksight model requestUri of each operation).
EXTRA_PATHS = (
    r"{0}/accounts/(?P<account_id>[\d]+)/data-sets/(?P<datasetid>[^/.]+)$",
    r"{0}/accounts/(?P<account_id>[\d]+)/data-sets/(?P<datasetid>[^/.]+)/permissions$",
    r"{0}/accounts/(?P<account_id>[\d]+)/data-sources/(?P<datasourceid>[^/.]+)/permissions$",
)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class AccessDeniedException(JsonRESTError):
    """QuickSight's AccessDeniedException (botocore quicksight model: HTTP 401, code AccessDeniedException)."""

    def __init__(self, msg: str):
        super().__init__("AccessDeniedException", msg)
        self.code = 401


class ResourceExistsException(JsonRESTError):
    """botocore quicksight model: ResourceExistsException, HTTP 409."""

    def __init__(self, msg: str):
        super().__init__("ResourceExistsException", msg)
        self.code = 409


#: terraform-provider-aws internal/service/quicksight/data_source.go: the AccessDeniedException text it retries
#: while QuickSight's service role cannot (yet) read the manifest.
MANIFEST_DENIED = "Insufficient permission to access the manifest file"


def _async_seconds() -> float:
    return float(get_runtime().settings.quicksight_async_seconds)


def _manifest_problem(store: S3Store, location: dict[str, Any]) -> str | None:
    """Read the manifest as QuickSight's service role does at CreateDataSource / UpdateDataSource: raise
    AccessDeniedException when it cannot be read; the CREATION_FAILED message when it is no manifest."""
    bucket, key = str(location.get("Bucket", "")), str(location.get("Key", ""))
    try:
        body = store.read(bucket, key)
    except Exception as exc:  # S3Error, moto's MissingBucket / MissingKey: QuickSight cannot read it
        raise AccessDeniedException(f"{MANIFEST_DENIED} s3://{bucket}/{key}") from exc
    try:
        document = json.loads(body)
    except ValueError:
        return f"The manifest file s3://{bucket}/{key} is not valid JSON"
    if not isinstance(document, dict) or not document.get("fileLocations"):
        return f"The manifest file s3://{bucket}/{key} has no fileLocations"
    return None


def _start_data_source_status(source: Any, verb: str, problem: str | None) -> None:
    """CREATION_/UPDATE_IN_PROGRESS now, the outcome quicksight_async_seconds later (the setting as it is when
    read: settled by _settle_data_source)."""
    source.status = f"{verb}_IN_PROGRESS"
    source.status_started = time.time()
    source.settled_status = f"{verb}_FAILED" if problem else f"{verb}_SUCCESSFUL"
    source.error_info = {"Type": "UNKNOWN", "Message": problem} if problem else None


def _settle_data_source(source: Any) -> None:
    started = float(getattr(source, "status_started", 0.0))
    if getattr(source, "settled_status", None) and time.time() >= started + _async_seconds():
        source.status = source.settled_status
        source.settled_status = None


def _s3_location(params: dict[str, Any] | None) -> dict[str, Any] | None:
    return ((params or {}).get("S3Parameters") or {}).get("ManifestFileLocation")


def _check_physical_tables(tables: dict[str, Any]) -> None:
    """InputColumns of a non-JSON S3Source must all be STRING (botocore model, S3Source.InputColumns)."""
    for table_id, table in (tables or {}).items():
        source = (table or {}).get("S3Source")
        if not source:
            continue
        file_format = str((source.get("UploadSettings") or {}).get("Format") or "CSV")
        if file_format == "JSON":
            continue
        typed = [c.get("Name") for c in source.get("InputColumns") or [] if c.get("Type") != "STRING"]
        if typed:
            raise InvalidParameterValueException(
                f"Physical table {table_id}: for files that aren't JSON, only STRING data types are supported "
                f"in input columns (format {file_format}; not STRING: {', '.join(map(str, typed))})"
            )


def _apply_permissions(
    current: list[dict[str, Any]], grant: list[dict[str, Any]] | None, revoke: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """Grant adds actions to a principal, revoke removes them; a principal left with none is dropped."""
    by_principal: dict[str, set[str]] = {p["Principal"]: set(p.get("Actions", [])) for p in current}
    for p in grant or []:
        by_principal.setdefault(p["Principal"], set()).update(p.get("Actions", []))
    for p in revoke or []:
        by_principal.get(p["Principal"], set()).difference_update(p.get("Actions", []))
    return [{"Principal": k, "Actions": sorted(v)} for k, v in sorted(by_principal.items()) if v]


def _count_rows(store: S3Store, manifest_uri: str) -> tuple[int, dict[str, str] | None]:
    """(rows, None) or (0, ErrorInfo) for the manifest at `manifest_uri`."""
    try:
        bucket, key = split_uri(manifest_uri)
        document = json.loads(store.read(bucket, key))
    except (S3Error, ValueError, Exception) as exc:
        return 0, {"Type": "S3_MANIFEST_ERROR", "Message": f"Unable to read the manifest {manifest_uri}: {exc}"}
    if not isinstance(document, dict):
        return 0, {"Type": "S3_MANIFEST_ERROR", "Message": "The manifest is not a JSON object."}
    settings = document.get("globalUploadSettings") or {}
    header = str(settings.get("containsHeader", "true")).lower() == "true"
    objects: list[tuple[str, str]] = []
    try:
        for location in document.get("fileLocations") or []:
            for uri in location.get("URIs", []):
                objects.append(split_uri(uri))
            for prefix in location.get("URIPrefixes", []):
                b, p = split_uri(prefix)
                # URIPrefixes do not recurse: only the objects directly under the prefix.
                objects.extend((b, o.key) for o in store.list(b, p) if "/" not in o.key[len(p) :])
    except (S3Error, AttributeError, TypeError) as exc:
        return 0, {"Type": "S3_FILE_INACCESSIBLE", "Message": f"Unable to list the manifest's files: {exc}"}
    objects = [(b, k) for b, k in objects if not k.endswith("/")]
    if not objects:
        return 0, {"Type": "S3_MANIFEST_ERROR", "Message": "The manifest's fileLocations name no S3 object."}
    rows = 0
    for b, k in objects:
        try:
            lines = [line for line in store.read(b, k).decode("utf-8").splitlines() if line.strip()]
        except (S3Error, UnicodeDecodeError, Exception) as exc:
            return 0, {"Type": "S3_FILE_INACCESSIBLE", "Message": f"Unable to read s3://{b}/{k}: {exc}"}
        rows += max(0, len(lines) - (1 if header else 0))
    return rows, None


class BackendAdditions(QuickSightBackend):
    # Any: moto's objects carry the attributes we add (import_mode, permissions, ingestions, ...) beside theirs.
    def _data_set(self, data_set_id: str) -> Any:
        found = self.data_sets.get(data_set_id)
        if found is None:
            raise ResourceNotFoundException(f"DataSet {data_set_id} Not Found")
        return found

    def _data_source(self, data_source_id: str) -> Any:
        found = self.data_sources.get(data_source_id)
        if found is None:
            raise ResourceNotFoundException(f"DataSource {data_source_id} Not Found")
        return found

    def _data_source_by_arn(self, arn: str) -> Any:
        return next((s for s in self.data_sources.values() if s.arn == arn), None)

    def check_data_set_sources(self, tables: dict[str, Any]) -> None:
        """Refuse a data set on a data source that is not (yet) usable: missing, in progress or failed."""
        for table in (tables or {}).values():
            arn = ((table or {}).get("S3Source") or {}).get("DataSourceArn")
            if not arn:
                continue
            source = self._data_source_by_arn(arn)
            if source is None:
                raise InvalidParameterValueException(f"Data source {arn} does not exist")
            _settle_data_source(source)
            if source.status not in ("CREATION_SUCCESSFUL", "UPDATE_SUCCESSFUL"):
                raise InvalidParameterValueException(f"Data source {arn} is {source.status}, not usable yet")

    def start_ingestion(self, data_set_id: str, ingestion_id: str) -> dict[str, Any]:
        """A new ingestion, QUEUED; its status moves on when read (ingestion_view)."""
        data_set = self._data_set(data_set_id)
        ingestions: dict[str, dict[str, Any]] = getattr(data_set, "ingestions", None) or {}
        if ingestion_id in ingestions:
            raise ResourceExistsException(f"Ingestion {ingestion_id} already exists for data set {data_set_id}")
        ingestion: dict[str, Any] = {
            "Arn": f"{data_set.arn}/ingestion/{ingestion_id}", "IngestionId": ingestion_id,
            "CreatedTime": _now(), "RequestSource": "MANUAL", "RequestType": "FULL_REFRESH",
            "IngestionStatus": "QUEUED", "_started": time.time(),
        }  # fmt: skip
        ingestions[ingestion_id] = ingestion
        extended: Any = data_set  # our attributes on moto's QuicksightDataSet
        extended.ingestions = ingestions
        return ingestion

    def ingestion_view(self, data_set_id: str, ingestion_id: str) -> dict[str, Any]:
        """The ingestion as DescribeIngestion answers it: QUEUED for one step, RUNNING for the next, then it
        reads the manifest and its objects once and keeps the outcome."""
        data_set = self._data_set(data_set_id)
        found = (getattr(data_set, "ingestions", None) or {}).get(ingestion_id)
        if found is None:
            raise ResourceNotFoundException(f"Ingestion {ingestion_id} Not Found")
        if "_started" in found:
            elapsed = time.time() - float(found["_started"])
            step = _async_seconds()
            if elapsed < step:
                found["IngestionStatus"] = "QUEUED"
            elif elapsed < 2 * step:
                found["IngestionStatus"] = "RUNNING"
            else:
                found.pop("_started", None)
                found.update(self.run_ingestion(data_set_id, ingestion_id))
        return {k: v for k, v in found.items() if not k.startswith("_")}

    def run_ingestion(self, data_set_id: str, ingestion_id: str) -> dict[str, Any]:
        """The ingestion's outcome: IngestionStatus COMPLETED with RowInfo, or FAILED with ErrorInfo."""
        data_set = self._data_set(data_set_id)
        ingestion: dict[str, Any] = {}
        source_arn = ""
        for table in (getattr(data_set, "physical_table_map", None) or {}).values():
            source_arn = (table.get("S3Source") or {}).get("DataSourceArn", "") or source_arn
        source = next((s for s in self.data_sources.values() if s.arn == source_arn), None)
        error: dict[str, str] | None
        if source is None:
            rows, error = 0, {"Type": "DATA_SOURCE_NOT_FOUND", "Message": f"No data source {source_arn or '(none)'}"}
        else:
            params = (source.data_source_parameters or {}).get("S3Parameters") or {}
            location = params.get("ManifestFileLocation") or {}
            uri = f"s3://{location.get('Bucket', '')}/{location.get('Key', '')}"
            rows, error = _count_rows(S3Store(self.account_id), uri)
        if error is None:
            ingestion.update(IngestionStatus="COMPLETED", RowInfo={"RowsIngested": rows, "RowsDropped": 0})
        else:
            ingestion.update(IngestionStatus="FAILED", ErrorInfo=error)
        return ingestion


class ResponseAdditions(QuickSightResponse):
    @property
    def _qs(self) -> BackendAdditions:
        """moto's QuickSightBackend, whose methods the graft replaced with BackendAdditions' (patching.graft)."""
        return cast(BackendAdditions, self.quicksight_backend)

    def _ok(self, **body: Any) -> str:
        return json.dumps({**body, "RequestId": "request_id", "Status": 200}, default=str)

    # Data sets, kept whole.
    def create_data_set(self) -> str:
        params = json.loads(self.body)
        _check_physical_tables(params.get("PhysicalTableMap") or {})
        self._qs.check_data_set_sources(params.get("PhysicalTableMap") or {})
        backend = self.quicksight_backend
        data_set = QuicksightDataSet(backend.account_id, backend.region_name, params["DataSetId"], name=params["Name"])
        # AWS's data set ARN is ...:dataset/ID (API_DataSet.html Arn; IAM "Resource types defined by Amazon
        # QuickSight": dataset); moto writes data-set/ID.
        data_set.arn = data_set.arn.replace(":data-set/", ":dataset/")
        if params.get("Tags"):
            backend.tagger.tag_resource(data_set.arn, params["Tags"])
        backend.data_sets[data_set._id] = data_set
        extended: Any = data_set  # our attributes on moto's QuicksightDataSet (it keeps only id and name)
        extended.import_mode = params.get("ImportMode", "SPICE")
        extended.physical_table_map = params.get("PhysicalTableMap", {})
        extended.logical_table_map = params.get("LogicalTableMap", {})
        extended.permissions = _apply_permissions([], params.get("Permissions"), None)
        extended.created = _now()
        return self._ok(Arn=data_set.arn, DataSetId=data_set._id)

    def describe_data_set(self) -> str:
        ds = self._qs._data_set(self._get_param("DataSetId"))
        body = {
            "Arn": ds.arn, "DataSetId": ds._id, "Name": ds.name, "ImportMode": getattr(ds, "import_mode", "SPICE"),
            "PhysicalTableMap": getattr(ds, "physical_table_map", {}), "CreatedTime": getattr(ds, "created", None),
            "LogicalTableMap": getattr(ds, "logical_table_map", {}),
        }  # fmt: skip
        return self._ok(DataSet=body)

    def list_data_sets(self) -> str:
        """ListDataSets (API_ListDataSets.html): DataSetSummaries, one page."""
        summaries = [
            {"Arn": ds.arn, "DataSetId": ds._id, "Name": ds.name, "ImportMode": getattr(ds, "import_mode", "SPICE")}
            for ds in self.quicksight_backend.data_sets.values()
        ]
        return self._ok(DataSetSummaries=summaries)

    def update_data_set(self) -> str:
        params = json.loads(self.body)
        ds = self._qs._data_set(self._get_param("DataSetId"))
        _check_physical_tables(params.get("PhysicalTableMap") or {})
        self._qs.check_data_set_sources(params.get("PhysicalTableMap") or {})
        ds.logical_table_map = params.get("LogicalTableMap", {})
        ds.name = params.get("Name", ds.name)
        ds.import_mode = params.get("ImportMode", getattr(ds, "import_mode", "SPICE"))
        ds.physical_table_map = params.get("PhysicalTableMap", getattr(ds, "physical_table_map", {}))
        return self._ok(Arn=ds.arn, DataSetId=ds._id)

    def delete_data_set(self) -> str:
        data_set_id = self._get_param("DataSetId")
        ds = self._qs._data_set(data_set_id)
        del self.quicksight_backend.data_sets[data_set_id]
        self.quicksight_backend.tagger.delete_all_tags_for_resource(ds.arn)
        return self._ok(Arn=ds.arn, DataSetId=data_set_id)

    def describe_data_set_permissions(self) -> str:
        ds = self._qs._data_set(self._get_param("DataSetId"))
        return self._ok(DataSetArn=ds.arn, DataSetId=ds._id, Permissions=getattr(ds, "permissions", []))

    def update_data_set_permissions(self) -> str:
        ds = self._qs._data_set(self._get_param("DataSetId"))
        ds.permissions = _apply_permissions(getattr(ds, "permissions", []), self._get_param("GrantPermissions"),
                                            self._get_param("RevokePermissions"))  # fmt: skip
        return self._ok(DataSetArn=ds.arn, DataSetId=ds._id)

    # Data source permissions.
    def create_data_source(self) -> str:
        location = _s3_location(self._get_param("DataSourceParameters"))
        problem = _manifest_problem(S3Store(self._qs.account_id), location) if location is not None else None
        answer: str = original(QuickSightResponse, "create_data_source")(self)
        source = self._qs._data_source(self._get_param("DataSourceId"))
        source.permissions = _apply_permissions([], self._get_param("Permissions"), None)
        _start_data_source_status(source, "CREATION", problem)
        return self._ok(**{**json.loads(answer), "CreationStatus": source.status})

    def update_data_source(self) -> str:
        location = _s3_location(self._get_param("DataSourceParameters"))
        problem = _manifest_problem(S3Store(self._qs.account_id), location) if location is not None else None
        answer: str = original(QuickSightResponse, "update_data_source")(self)
        source = self._qs._data_source(self._get_param("DataSourceId"))
        _start_data_source_status(source, "UPDATE", problem)
        return self._ok(**{**json.loads(answer), "UpdateStatus": source.status})

    def describe_data_source(self) -> str:
        source = self._qs._data_source(self._get_param("DataSourceId"))
        _settle_data_source(source)
        answer = json.loads(original(QuickSightResponse, "describe_data_source")(self))
        if getattr(source, "error_info", None) and source.status.endswith("_FAILED"):
            answer["DataSource"]["ErrorInfo"] = source.error_info
        return self._ok(**answer)

    def delete_data_source(self) -> str:
        """moto keeps a deleted data source's tags; AWS deletes them with it (a new one under the id is bare)."""
        source = self._qs._data_source(self._get_param("DataSourceId"))
        answer: str = original(QuickSightResponse, "delete_data_source")(self)
        self.quicksight_backend.tagger.delete_all_tags_for_resource(source.arn)
        return answer

    def describe_data_source_permissions(self) -> str:
        source = self._qs._data_source(self._get_param("DataSourceId"))
        return self._ok(DataSourceArn=source.arn, DataSourceId=source.data_source_id,
                        Permissions=getattr(source, "permissions", []))  # fmt: skip

    def update_data_source_permissions(self) -> str:
        source = self._qs._data_source(self._get_param("DataSourceId"))
        grant, revoke = self._get_param("GrantPermissions"), self._get_param("RevokePermissions")
        source.permissions = _apply_permissions(getattr(source, "permissions", []), grant, revoke)
        return self._ok(DataSourceArn=source.arn, DataSourceId=source.data_source_id)

    # Ingestions.
    def create_ingestion(self) -> str:
        ingestion = self._qs.start_ingestion(self._get_param("DataSetId"), self._get_param("IngestionId"))
        return self._ok(Arn=ingestion["Arn"], IngestionId=ingestion["IngestionId"], IngestionStatus="INITIALIZED")

    def describe_ingestion(self) -> str:
        return self._ok(Ingestion=self._qs.ingestion_view(self._get_param("DataSetId"), self._get_param("IngestionId")))


def install() -> None:
    for path in EXTRA_PATHS:
        qs_urls.url_paths.setdefault(path, QuickSightResponse.dispatch)
    graft(QuickSightBackend, BackendAdditions)
    graft(QuickSightResponse, ResponseAdditions)
