"""Every private moto name the endpoint's grafts touch, in one place.

moto's internals move between patch releases (5.2.6 removed `GlueResponse.parameters`, which the grafts
used). The endpoint reaches moto only through this module: it re-exports the classes, functions, backend
dicts and modules the grafts use, and `CONTRACT` lists what the grafts rely on *inside* them (the methods
a graft wraps or replaces, with the parameters it passes; the attributes it reads or writes; the names moto
looks up). `tests/local/test_moto_contract.py` checks every entry against the installed moto, so an upgrade
fails that one test, naming what moved, instead of answering HTTP 500 to every request. The releases the
suite has passed on are `moto_support.SUPPORTED`; outside them the endpoint refuses to start.

Five backend dicts are reached through functions (`sns_backends()`, ...): their modules are imported only
when a job run or event needs them, as before.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import moto
import moto.glue.responses as glue_responses_module
import moto.quicksight.urls as quicksight_urls
from moto import settings
from moto.backends import get_backend
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.base_backend import BackendDict
from moto.core.exceptions import JsonRESTError
from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.core.utils import utcnow
from moto.events.models import EventsBackend, Rule
from moto.events.utils import EventMessageType
from moto.glue.exceptions import (
    ConcurrentRunsExceededException,
    CrawlerNotRunningException,
    CrawlerRunningException,
    EntityNotFoundException,
    GlueClientError,
    NoCrawlsEntryForCrawler,
)
from moto.glue.models import (
    FakeCrawler,
    FakeJob,
    FakeTrigger,
    FakeWorkflow,
    FakeWorkflowRun,
    GlueBackend,
    glue_backends,
)
from moto.glue.responses import GlueResponse
from moto.glue.utils import Action, CrawlFilter, FilterField, FilterOperator, Predicate
from moto.iam.access_control import IAMPolicy, IAMRequest, PermissionResult, S3IAMRequest
from moto.iam.models import IAMBackend, Role, iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.quicksight.data_models import QuicksightDataSet
from moto.quicksight.exceptions import InvalidParameterValueException as QuickSightInvalidParameterValue
from moto.quicksight.exceptions import ResourceNotFoundException as QuickSightResourceNotFound
from moto.quicksight.models import QuickSightBackend, quicksight_backends
from moto.quicksight.responses import QuickSightResponse
from moto.s3.exceptions import MissingBucket, MissingKey
from moto.s3.models import FakeBucket, FakeDeleteMarker, FakeKey, S3Backend, s3_backends
from moto.s3.responses import S3Response
from moto.utilities.arns import parse_arn
from moto.utilities.utils import get_partition

from reconciler_local import patching
from reconciler_local.moto_support import SUPPORTED

if TYPE_CHECKING:
    from moto.lakeformation.models import LakeFormationBackend
    from moto.logs.models import LogsBackend
    from moto.moto_api._internal.models import MotoAPIBackend
    from moto.sns.models import SNSBackend
    from moto.sts.models import STSBackend

MOTO_VERSION: str = moto.__version__

__all__ = [
    "CONTRACT",
    "MOTO_VERSION",
    "SUPPORTED",
    "Action",
    "ActionAuthenticatorMixin",
    "ActionResult",
    "BackendDict",
    "BaseResponse",
    "ConcurrentRunsExceededException",
    "CrawlFilter",
    "CrawlerNotRunningException",
    "CrawlerRunningException",
    "DomainDispatcherApplication",
    "EmptyResult",
    "EntityNotFoundException",
    "EventMessageType",
    "EventsBackend",
    "Expect",
    "FakeBucket",
    "FakeCrawler",
    "FakeDeleteMarker",
    "FakeJob",
    "FakeKey",
    "FakeTrigger",
    "FakeWorkflow",
    "FakeWorkflowRun",
    "FilterField",
    "FilterOperator",
    "GlueBackend",
    "GlueClientError",
    "GlueResponse",
    "IAMBackend",
    "IAMPolicy",
    "IAMRequest",
    "JsonRESTError",
    "MissingBucket",
    "MissingKey",
    "MotoRequestHandler",
    "NoCrawlsEntryForCrawler",
    "PermissionResult",
    "Predicate",
    "QuickSightBackend",
    "QuickSightInvalidParameterValue",
    "QuickSightResourceNotFound",
    "QuickSightResponse",
    "QuicksightDataSet",
    "Role",
    "Rule",
    "S3Backend",
    "S3IAMRequest",
    "S3Response",
    "TaggedResource",
    "check",
    "contract_summary",
    "create_backend_app",
    "get_backend",
    "get_partition",
    "glue_backends",
    "glue_responses_module",
    "iam_backends",
    "lakeformation_backends",
    "logs_backends",
    "moto_api_backend",
    "parse_arn",
    "quicksight_backends",
    "quicksight_urls",
    "request_params",
    "s3_backends",
    "settings",
    "sns_backends",
    "sts_backends",
    "utcnow",
]


def sns_backends() -> BackendDict[SNSBackend]:
    from moto.sns.models import sns_backends as backends

    return backends


def sts_backends() -> BackendDict[STSBackend]:
    from moto.sts.models import sts_backends as backends

    return backends


def logs_backends() -> BackendDict[LogsBackend]:
    from moto.logs.models import logs_backends as backends

    return backends


def lakeformation_backends() -> BackendDict[LakeFormationBackend]:
    from moto.lakeformation.models import lakeformation_backends as backends

    return backends


def moto_api_backend() -> MotoAPIBackend:
    from moto.moto_api._internal.models import moto_api_backend as backend

    return backend


def request_params(response: BaseResponse) -> dict[str, Any]:
    """The JSON body of a JSON-protocol request (Glue, QuickSight's JSON bodies), as sent on the wire.

    moto 5.2.6 parses requests through botocore's parser into `params`; the grafts read the raw JSON
    instead, which is what AWS receives and what no moto release has changed (`BaseResponse.body`).
    """
    body = response.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if not body:
        return {}
    parsed = json.loads(body)
    if not isinstance(parsed, dict):
        raise ValueError("request body is not a JSON object")
    return parsed


# --- the contract --------------------------------------------------------------------------------------------

Kind = Literal["module", "class", "callable", "attribute", "value"]


@dataclass(frozen=True)
class Expect:
    """One private moto name a graft relies on.

    - `module`: the dotted path imports.
    - `class`: the path names a class.
    - `callable`: the path names a function or method (moto's own, even where a graft replaced it: see
      `patching.replaced`). `params` must be its first parameters after `self`, in this order (we call it
      positionally, or moto calls our replacement so); `accepts` must be among its parameters in any order
      (passed by keyword); `mentions` must appear in its source (moto calls a method we replace or define
      from there: the call is the contract).
    - `attribute`: on a class: a class attribute, property or dataclass field, or assigned as `self.<name>`
      in the source of the class or one of its moto bases (an instance attribute).
    - `value`: a module-level object or enum member exists.
    """

    path: str
    kind: Kind
    params: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()


def _calls(path: str, *params: str, accepts: tuple[str, ...] = (), mentions: tuple[str, ...] = ()) -> Expect:
    return Expect(path, "callable", tuple(params), accepts, mentions)


def _attrs(owner: str, *names: str) -> list[Expect]:
    return [Expect(f"{owner}.{name}", "attribute") for name in names]


def _classes(module: str, *names: str) -> list[Expect]:
    return [Expect(f"{module}.{name}", "class") for name in names]


_GLUE_MODELS = "moto.glue.models"
_GLUE_RESPONSE = "moto.glue.responses.GlueResponse"
_GLUE_BACKEND = "moto.glue.models.GlueBackend"
_S3_RESPONSE = "moto.s3.responses.S3Response"
_IAM_BACKEND = "moto.iam.models.IAMBackend"
_IAM_REQUEST = "moto.iam.access_control.IAMRequest"
_QS_RESPONSE = "moto.quicksight.responses.QuickSightResponse"
_QS_BACKEND = "moto.quicksight.models.QuickSightBackend"

CONTRACT: tuple[Expect, ...] = (
    # Modules whose names we import or replace.
    *(Expect(module, "module") for module in (
        "moto.backends", "moto.core.authorization", "moto.core.base_backend", "moto.core.exceptions",
        "moto.core.resource_tagging", "moto.core.responses", "moto.core.utils", "moto.events.models",
        "moto.events.utils", "moto.glue.exceptions", "moto.glue.models", "moto.glue.responses", "moto.glue.utils",
        "moto.iam.access_control", "moto.iam.models", "moto.lakeformation.models", "moto.logs.models",
        "moto.moto_api._internal.models",
        "moto.moto_server.werkzeug_app", "moto.quicksight.data_models", "moto.quicksight.exceptions",
        "moto.quicksight.models", "moto.quicksight.responses", "moto.quicksight.urls", "moto.s3.exceptions",
        "moto.s3.models", "moto.s3.responses", "moto.settings", "moto.sns.models", "moto.sts.models",
        "moto.utilities.arns", "moto.utilities.utils",
    )),
    # Module-level objects: backend dicts, settings, the URL table, functions.
    Expect("moto.__version__", "value"),  # persistence.py: a saved state names the moto that wrote it
    Expect("moto.settings.INITIAL_NO_AUTH_ACTION_COUNT", "value"),  # auth.py switches IAM enforcement with it
    Expect("moto.glue.models.glue_backends", "value"),
    Expect("moto.iam.models.iam_backends", "value"),
    Expect("moto.quicksight.models.quicksight_backends", "value"),  # auth.py: aws:ResourceTag of a data set
    # auth.py: the request classes whose checks it replaces, the policy evaluator, the region's partition
    Expect("moto.iam.access_control.S3IAMRequest", "class"),
    # auth.py AuthorizeAsAws: builds moto's request object itself and evaluates the caller's policies
    _calls(f"{_IAM_REQUEST}.__init__", accepts=("account_id", "method", "path", "data", "body", "headers", "action")),
    _calls(f"{_IAM_REQUEST}.check_signature"),
    _calls(f"{_IAM_REQUEST}.check_action_permitted", "resource"),
    _calls("moto.iam.access_control.IAMUserAccessKey.collect_policies"),
    _calls("moto.iam.access_control.AssumedRoleAccessKey.collect_policies"),
    *_attrs("moto.iam.access_control.IAMPolicy", "_policy_json"),
    *_attrs("moto.core.authorization.ActionAuthenticatorMixin", "PUBLIC_OPERATIONS"),
    _calls("moto.core.authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action", "iam_request_cls",
           "resource"),
    *_attrs("moto.core.responses.BaseResponse", "raw_body", "raw_path", "uri", "method", "data"),
    _calls("moto.utilities.utils.get_partition", "region"),
    Expect("moto.s3.models.s3_backends", "value"),
    Expect("moto.sns.models.sns_backends", "value"),
    Expect("moto.sts.models.sts_backends", "value"),
    Expect("moto.logs.models.logs_backends", "value"),
    # lake_formation.py: the data lake settings and grants a crawl into a governed database is checked against
    Expect("moto.lakeformation.models.lakeformation_backends", "value"),
    _calls("moto.lakeformation.models.LakeFormationBackend.get_data_lake_settings", "catalog_id"),
    *_attrs("moto.lakeformation.models.LakeFormationBackend", "grants"),
    *_attrs("moto.lakeformation.models.PermissionCatalog", "permissions"),
    *_attrs("moto.lakeformation.models.Permission", "principal", "resource", "permissions"),
    _calls(f"{_GLUE_BACKEND}.update_database", "database_name", "database_input"),
    _calls(f"{_GLUE_BACKEND}.get_database", "database_name"),
    *_attrs("moto.glue.models.FakeDatabase", "input"),
    Expect("moto.moto_api._internal.models.moto_api_backend", "value"),
    _calls("moto.moto_api._internal.models.MotoAPIBackend.reset"),  # runtime.Runtime.reset
    Expect("moto.quicksight.urls.url_paths", "value"),  # quicksight.py adds the routes moto lacks
    # glue/models.py replaces the name moto's CreateTrigger builds its predicate through.
    Expect("moto.glue.responses.Predicate", "class"),
    _calls("moto.backends.get_backend", "name"),
    _calls("moto.core.utils.utcnow"),
    _calls("moto.utilities.arns.parse_arn", "arn"),
    *_attrs("moto.utilities.arns.Arn", "service", "account", "region"),
    _calls("moto.moto_server.werkzeug_app.create_backend_app", "service"),
    _calls("moto.moto_server.werkzeug_app.DomainDispatcherApplication.__init__", "create_app"),
    _calls("moto.moto_server.werkzeug_app.MotoRequestHandler.log_request", "code", "size"),
    # Persistence: every backend dict moto instantiated, by service.
    *_attrs("moto.core.base_backend.BackendDict", "_instances", "service_name"),
    # Responses: how moto dispatches a request to the method named after its action, and what grafts read.
    _calls("moto.core.responses.BaseResponse.dispatch"),
    _calls("moto.core.responses.BaseResponse._get_action"),
    _calls("moto.core.responses.BaseResponse._get_param", "param_name"),
    # moto asks a response for `_determine_resource` (auth.py's GlueResourceArn defines it) before authorising.
    _calls("moto.core.responses.BaseResponse.call_action", mentions=("_determine_resource",)),
    *_attrs("moto.core.responses.BaseResponse", "body", "headers", "region", "current_account"),
    _calls("moto.core.responses.ActionResult.__init__", "result"),
    Expect("moto.core.responses.EmptyResult", "class"),
    _calls("moto.core.exceptions.JsonRESTError.__init__", "error_type", "message"),
    _calls("moto.core.resource_tagging.TaggedResource.__init__", accepts=("arn", "tags", "resource_type")),
    # IAM enforcement (auth.py).
    Expect("moto.core.authorization.ActionAuthenticatorMixin.request_count", "attribute"),
    _calls(f"{_IAM_REQUEST}._raise_access_denied"),
    _calls(f"{_IAM_REQUEST}._raise_invalid_access_key", "_"),
    _calls(f"{_IAM_REQUEST}._raise_signature_does_not_match"),
    *_attrs(_IAM_REQUEST, "_headers", "_access_key", "_action"),
    _calls("moto.iam.access_control.IAMPolicy.__init__", "policy"),
    _calls("moto.iam.access_control.IAMPolicy.is_action_permitted", "action", "resource"),
    *(Expect(f"moto.iam.access_control.PermissionResult.{name}", "value")
      for name in ("PERMITTED", "DENIED", "NEUTRAL")),
    # Roles (roles.py): the IAM backend's role changes, wrapped; the role's fields, read.
    _calls(f"{_IAM_BACKEND}.create_role"),
    _calls(f"{_IAM_BACKEND}.update_assume_role_policy", "role_name", "policy_document"),
    _calls(f"{_IAM_BACKEND}.put_role_policy", "role_name", "policy_name", "policy_json"),
    _calls(f"{_IAM_BACKEND}.delete_role_policy", "role_name", "policy_name"),
    _calls(f"{_IAM_BACKEND}.attach_role_policy", "policy_arn", "role_name"),
    _calls(f"{_IAM_BACKEND}.detach_role_policy", "policy_arn", "role_name"),
    _calls(f"{_IAM_BACKEND}.get_roles"),
    *_attrs(_IAM_BACKEND, "roles"),
    *_attrs("moto.iam.models.Role", "id", "name", "path", "arn", "account_id", "assume_role_policy_document",
            "policies", "managed_policies"),
    # S3 (s3_fixes.py, s3store.py).
    _calls("moto.s3.models.FakeBucket.get_permission", "action", "resource"),
    *_attrs("moto.s3.models.FakeBucket", "policy", "creation_date", "versioning_status", "keys"),
    Expect("moto.s3.models.FakeDeleteMarker", "class"),  # s3_fixes.py gives it the `dispose` moto calls
    _calls(f"{_S3_RESPONSE}._bucket_response_put", "request", "bucket_name", "querystring"),
    _calls(f"{_S3_RESPONSE}._bucket_response_get", "bucket_name", "querystring"),
    _calls(f"{_S3_RESPONSE}._key_response_put", "query", "key_name"),
    _calls(f"{_S3_RESPONSE}.put_object"),
    _calls(f"{_S3_RESPONSE}.delete_object"),
    _calls(f"{_S3_RESPONSE}.get_object"),  # s3_fixes.py: the versioning window answers GetObject 404
    _calls(f"{_S3_RESPONSE}.head_object", "bucket_name", "query", "key_name", "headers"),
    _calls(f"{_S3_RESPONSE}.parse_key_name"),
    *_attrs(_S3_RESPONSE, "backend", "bucket_name", "body", "headers"),
    _calls("moto.s3.exceptions.MissingBucket.__init__"),
    _calls("moto.s3.exceptions.MissingKey.__init__", "key"),
    _calls("moto.s3.models.S3Backend.get_bucket", "bucket_name"),
    _calls("moto.s3.models.S3Backend.list_objects", "bucket", "prefix", "delimiter", "marker", "max_keys"),
    _calls("moto.s3.models.S3Backend.get_object", "bucket_name", "key_name"),
    _calls("moto.s3.models.S3Backend.put_object", "bucket_name", "key_name", "value"),
    _calls("moto.s3.models.S3Backend.delete_object", "bucket_name", "key_name"),
    _calls("moto.s3.models.S3Backend.put_bucket_tagging", "bucket_name", "tags"),
    _calls("moto.s3.models.FakeKey.__getstate__"),  # persistence.py pickles keys with their bytes
    *_attrs("moto.s3.models.FakeKey", "_value_buffer", "lock", "value", "name", "size", "etag", "last_modified",
            "contentsize"),  # s3store.declare_size: the Size ListObjectsV2 and HeadObject report
    # Glue responses: the operations we replace or wrap, and what they read.
    *_attrs(_GLUE_RESPONSE, "glue_backend"),
    *(_calls(f"{_GLUE_RESPONSE}.{name}") for name in ("create_job", "create_crawler", "get_workflow",
                                                      "get_workflow_run")),
    _calls(f"{_GLUE_RESPONSE}.is_tags_match", "resource_arn", "tags"),
    # The Glue backend: methods we wrap or replace (moto calls them with these parameters) and those we call.
    *(_calls(f"{_GLUE_BACKEND}.{name}", "name") for name in (
        "create_job", "create_crawler", "create_trigger", "create_workflow", "delete_crawler", "delete_job",
        "delete_trigger", "start_trigger", "get_crawler", "get_job", "get_trigger",
    )),
    _calls(f"{_GLUE_BACKEND}.start_workflow_run", "workflow_name", "properties"),
    _calls(f"{_GLUE_BACKEND}.stop_workflow_run", "workflow_name", "run_id"),
    _calls(f"{_GLUE_BACKEND}.get_workflow", "name"),
    _calls(f"{_GLUE_BACKEND}.get_workflow_run", "workflow_name", "run_id"),
    _calls(f"{_GLUE_BACKEND}.list_crawls", accepts=("crawler_name", "filters")),
    # ...and moto's response iterates its result: a list (5.2.5 took a (crawls, next token) pair).
    _calls(f"{_GLUE_RESPONSE}.list_crawls", mentions=(
        "crawls = self.glue_backend.list_crawls(crawler_name, filters)", "crawl.as_dict() for crawl in crawls")),
    _calls(f"{_GLUE_BACKEND}.get_tags", "resource_id"),
    _calls(f"{_GLUE_BACKEND}.create_database", "database_name", "database_input", "tags"),
    _calls(f"{_GLUE_BACKEND}.create_table", "database_name", "table_name", "table_input"),
    _calls(f"{_GLUE_BACKEND}.update_table", "database_name", "table_name", "table_input"),
    _calls(f"{_GLUE_BACKEND}.get_table", "database_name", "table_name"),
    _calls(f"{_GLUE_BACKEND}.delete_table", "database_name", "table_name"),
    _calls(f"{_GLUE_BACKEND}.batch_create_partition", "database_name", "table_name", "partition_input"),
    _calls(f"{_GLUE_BACKEND}.batch_delete_partition", "database_name", "table_name", "parts"),
    *_attrs(_GLUE_BACKEND, "jobs", "crawlers", "triggers", "workflows", "databases", "tagger", "account_id",
            "region_name"),
    # The job backend calls FakeJob.start_job_run with these keywords: our replacement takes them.
    _calls(f"{_GLUE_MODELS}.FakeJob.start_job_run", accepts=(
        "allocated_capacity", "max_capacity", "timeout", "worker_type", "security_configuration",
        "number_of_workers", "notification_property", "previous_run_id", "arguments",
    )),
    _calls(f"{_GLUE_BACKEND}.start_job_run", mentions=("job.start_job_run(",)),
    _calls(f"{_GLUE_BACKEND}.start_crawler", "name", mentions=(".start_crawler()",)),
    _calls(f"{_GLUE_BACKEND}.stop_crawler", "name", mentions=(".stop_crawler()",)),
    _calls(f"{_GLUE_BACKEND}.get_job_run", "name", "run_id", mentions=(".get_job_run(run_id)",)),
    _calls(f"{_GLUE_BACKEND}.get_job_runs", "job_name", mentions=(".get_job_runs()",)),
    _calls(f"{_GLUE_MODELS}.FakeJob.get_job_run", "run_id"),
    _calls(f"{_GLUE_MODELS}.FakeJob.get_job_runs"),
    _calls(f"{_GLUE_MODELS}.FakeJob.as_dict"),
    *_attrs(f"{_GLUE_MODELS}.FakeJob", "job_runs", "backend", "name", "arn", "role", "command", "default_arguments",
            "non_overridable_arguments", "execution_property", "timeout", "glue_version", "worker_type",
            "number_of_workers", "max_capacity", "max_retries", "last_modified_on"),
    _calls(f"{_GLUE_MODELS}.FakeCrawler.start_crawler"),
    _calls(f"{_GLUE_MODELS}.FakeCrawler.stop_crawler"),
    _calls(f"{_GLUE_MODELS}.FakeCrawler.as_dict"),
    *_attrs(f"{_GLUE_MODELS}.FakeCrawler", "status", "crawls", "backend", "name", "arn", "role", "targets",
            "table_prefix", "schema_change_policy", "database_name", "schedule", "version", "last_updated",
            "crawl_elapsed_time"),
    *_attrs(f"{_GLUE_MODELS}.FakeTrigger", "trigger_type", "state", "description", "schedule", "actions",
            "predicate", "event_batching_condition", "arn"),
    *_attrs(f"{_GLUE_MODELS}.FakeTrigger", "name", "workflow_name"),
    _calls(f"{_GLUE_MODELS}.FakeTrigger.as_dict"),
    *_attrs(f"{_GLUE_MODELS}.FakeWorkflow", "name", "max_concurrent_runs"),
    _calls(f"{_GLUE_MODELS}.FakeWorkflow.start_run", "properties"),
    *_attrs("moto.glue.utils.Condition", "job_name", "crawler_name", "state", "crawl_state"),
    *_attrs("moto.glue.utils.Action", "job_name", "crawler_name", "arguments", "timeout"),
    _calls(f"{_GLUE_MODELS}.FakeWorkflowRun.as_dict"),
    *_attrs(f"{_GLUE_MODELS}.FakeWorkflowRun", "run_id"),
    _calls(f"{_GLUE_MODELS}.FakeTable.update_partition", "old_values", "partiton_input"),
    _calls(f"{_GLUE_MODELS}.FakeTable.get_version", "ver"),
    *_attrs(f"{_GLUE_MODELS}.FakeTable", "partitions", "_current_version"),
    *_attrs(f"{_GLUE_MODELS}.FakeDatabase", "tables"),
    *_attrs(f"{_GLUE_MODELS}.FakePartition", "values"),
    _calls("moto.glue.utils.Predicate.__init__", "inputs"),
    *_attrs("moto.glue.utils.Predicate", "conditions"),
    _calls("moto.glue.utils.Action.__init__", "inputs"),
    *_attrs("moto.glue.utils.CrawlFilter", "field_name", "field_value", "operator"),
    *(Expect(f"moto.glue.utils.FilterField.{name}", "value")
      for name in ("CRAWL_ID", "STATE", "START_TIME", "END_TIME", "DPU_HOUR")),
    *(Expect(f"moto.glue.utils.FilterOperator.{name}", "value") for name in ("EQ", "NE", "GT", "GE", "LT", "LE")),
    *_classes("moto.glue.exceptions", "ConcurrentRunsExceededException", "CrawlerNotRunningException",
              "CrawlerRunningException", "EntityNotFoundException", "NoCrawlsEntryForCrawler"),
    _calls("moto.glue.exceptions.GlueClientError.__init__", "error_type", "message"),
    # Other backends a job run uses.
    _calls("moto.sts.models.STSBackend.assume_role", accepts=(
        "region_name", "role_session_name", "role_arn", "policy", "duration", "external_id")),
    *_attrs("moto.sts.models.AssumedRole", "access_key_id", "secret_access_key", "session_token"),
    *_attrs("moto.logs.models.LogsBackend", "groups"),
    _calls("moto.logs.models.LogsBackend.create_log_group", "log_group_name", "tags"),
    _calls("moto.logs.models.LogsBackend.ensure_log_stream", "log_group_name", "log_stream_name"),
    _calls("moto.logs.models.LogsBackend.put_log_events", "log_group_name", "log_stream_name", "log_events"),
    _calls("moto.sns.models.SNSBackend.publish", accepts=("message", "arn")),
    # EventBridge (events_fixes.py).
    _calls("moto.events.models.Rule.send_to_targets", "original_event", "transform_input"),
    *_attrs("moto.events.models.Rule", "event_pattern", "targets", "arn"),
    _calls("moto.events.models.EventsBackend.iter_tagged_resources"),
    *_attrs("moto.events.models.EventsBackend", "event_buses", "tagger"),
    *_attrs("moto.events.models.EventBus", "rules"),
    Expect("moto.events.utils.EventMessageType", "value"),
    # QuickSight (quicksight.py).
    _calls(f"{_QS_RESPONSE}.create_data_source"),
    _calls(f"{_QS_RESPONSE}.delete_data_source"),
    *_attrs(_QS_RESPONSE, "quicksight_backend", "body"),
    *_attrs(_QS_BACKEND, "data_sets", "data_sources", "tagger", "account_id", "region_name"),
    _calls("moto.quicksight.data_models.QuicksightDataSet.__init__", "account_id", "region", "_id",
           accepts=("name",)),
    *_attrs("moto.quicksight.data_models.QuicksightDataSet", "arn", "_id", "name"),
    *_attrs("moto.quicksight.data_models.QuickSightDataSource", "arn", "data_source_id", "data_source_parameters"),
    Expect("moto.quicksight.exceptions.ResourceNotFoundException", "class"),
    Expect("moto.quicksight.exceptions.InvalidParameterValueException", "class"),
    _calls("moto.utilities.tagging_service.TaggingService.tag_resource", "arn", "tags"),
    _calls("moto.utilities.tagging_service.TaggingService.delete_all_tags_for_resource", "arn"),
    _calls("moto.utilities.tagging_service.TaggingService.get_tag_dict_for_resource", "arn"),
)


def contract_summary() -> str:
    """CONTRACT as the Markdown list src/reconciler_local/README.md shows ("What we rely on in moto"), one line
    per module or class: its names, a callable with the parameters we rely on."""
    groups: dict[str, list[str]] = {}
    for expect in CONTRACT:
        if expect.kind == "module":
            groups.setdefault(expect.path, [])
            continue
        owner, _, name = expect.path.rpartition(".")
        text = name
        if expect.kind == "callable":
            text = f"{name}({', '.join((*expect.params, *expect.accepts))})"
            if expect.mentions:
                text += f" calls {' '.join(expect.mentions)}"
        groups.setdefault(owner, []).append(f"`{text}`")
    return "\n".join(f"- `{owner}`" + (f": {', '.join(names)}" if names else "")
                     for owner, names in sorted(groups.items())) + "\n"


def _import_prefix(path: str) -> tuple[Any, list[str]]:
    """The longest importable module prefix of `path`, and the attribute names after it."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        return module, parts[end:]
    raise LookupError(f"{path}: module {parts[0]} not found")


def _moto_own(owner: type, name: str) -> Any:
    """moto's own `owner.name`, looked up along the MRO, as it was before any graft replaced it."""
    for cls in owner.__mro__:
        replaced, value = patching.replaced(cls, name)
        if replaced:
            if value is not None:
                return value
            continue  # the graft added it here: moto's is further up, if anywhere
        if name in vars(cls):
            return vars(cls)[name]
    raise AttributeError(name)


@functools.cache
def _class_source(cls: type) -> str:
    """The class's source ("" if it has none): parsed once, as inspect parses the whole module each time."""
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return ""


def _instance_attribute(owner: type, name: str) -> bool:
    """Whether some class in `owner`'s MRO declares `name` (a dataclass field or annotation) or assigns
    `self.<name>` in its source."""
    assignment = re.compile(rf"\bself\.{re.escape(name)}\s*(?::[^=\n]+)?=(?!=)")
    for cls in owner.__mro__:
        if cls is object:
            continue
        if name in getattr(cls, "__annotations__", {}):
            return True
        if assignment.search(_class_source(cls)):
            return True
    return False


def _parameters(function: Any) -> list[str]:
    names = list(inspect.signature(function).parameters)
    return names[1:] if names and names[0] in ("self", "cls") else names


def check(expect: Expect) -> str | None:
    """None when the installed moto has `expect`, else a message naming what moved."""
    try:
        target, rest = _import_prefix(expect.path)
    except LookupError as error:
        return str(error)
    if expect.kind == "module":
        return f"{expect.path}: module missing" if rest else None
    for index, name in enumerate(rest):
        owner = target
        try:
            target = _moto_own(owner, name) if isinstance(owner, type) else getattr(owner, name)
        except AttributeError:
            last = index == len(rest) - 1
            if last and expect.kind == "attribute" and isinstance(owner, type) and _instance_attribute(owner, name):
                return None
            return f"{expect.path}: missing"
    if expect.kind == "class":
        return None if isinstance(target, type) else f"{expect.path}: not a class"
    if expect.kind == "callable":
        function = target.fget if isinstance(target, property) else target
        if isinstance(function, staticmethod | classmethod):
            function = function.__func__
        if not callable(function):
            return f"{expect.path}: not callable"
        names = _parameters(function)
        if names[: len(expect.params)] != list(expect.params):
            wanted, have = ", ".join(expect.params), ", ".join(names)
            return f"{expect.path}: parameters ({wanted}) expected first, moto has ({have})"
        missing = [name for name in expect.accepts if name not in names]
        if missing:
            return f"{expect.path}: takes no parameter {', '.join(missing)} (moto has ({', '.join(names)}))"
        if expect.mentions:
            source = inspect.getsource(function)
            absent = [text for text in expect.mentions if text not in source]
            if absent:
                return f"{expect.path}: no longer calls {', '.join(absent)}"
    return None
