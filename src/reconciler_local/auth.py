"""IAM enforcement for the operator and job roles (setting `enforce_iam`), on moto's authentication.

moto authenticates and authorises a request once `moto.core.authorization.ActionAuthenticatorMixin`
has counted `settings.INITIAL_NO_AUTH_ACTION_COUNT` requests (env INITIAL_NO_AUTH_ACTION_COUNT at
start-up, `POST /moto-api/reset-auth` with the count as the body later). The signature must be valid
for an access key of an IAM user (or an STS session) in moto's IAM backend. Every service the tool calls
goes through it (`BaseResponse.call_action`; S3's own `_authenticate_and_authorize_s3_action`).

What is authorised follows AWS, not moto (`AuthorizeAsAws`, `requirements`): each request becomes every
(IAM action, resource ARN, request context) AWS evaluates for it, and each must be allowed by the caller's
identity policies (user inline, attached, group; a role session's role policies) under IAM's evaluation
logic (`iam_eval.py`: explicit Deny wins, case-insensitive actions, NotAction/NotResource, condition
operators with IfExists / ForAnyValue / ForAllValues):
- S3: the action the Amazon S3 User Guide lists for the operation (`s3_actions.py`: HeadBucket and
  ListObjectsV2 -> s3:ListBucket, DeleteObjects -> s3:DeleteObject on each key, ...), with `s3:prefix`;
- Glue (SAR, "Actions defined by AWS Glue", and the Glue guide's "Specifying AWS Glue resource ARNs"):
  database actions on the root catalog and `database/<db>`; table and partition actions also on
  `table/<db>/<t>`; GetTables on `table/<db>/*`; DeleteDatabase also on `table/<db>/*` and
  `userDefinedFunction/<db>/*` (all its tables and functions); CreateCrawler and the security configuration
  calls (Create/Get/DeleteSecurityConfiguration, GetSecurityConfigurations) on `*` (no resource type);
  BatchGet* on each named resource; tag calls on the ResourceArn; aws:RequestTag / aws:TagKeys from the
  request's Tags, aws:ResourceTag from an existing resource's tags; Create/UpdateCrawler and
  Create/UpdateJob also need iam:PassRole on the role's ARN (with its path) with iam:PassedToService
  glue.amazonaws.com (IAM User Guide, "Granting a user permissions to pass a role to an AWS service");
- IAM: role actions on the role's ARN with its path (a role that does not exist: `role/<path><name>` for
  CreateRole, `role/<name>` otherwise); others on `*`;
- CloudWatch Logs: `log-group:<g>:log-stream:<s>` when the call names a stream, else `log-group:<g>`;
- QuickSight (SAR, "Actions defined by Amazon QuickSight"): CreateDataSource and List* on `*`;
  CreateDataSet on each data source it reads, plus quicksight:PassDataSource on each; ingestions on
  `dataset/<id>/ingestion/<id>`; data source / data set calls on their ARNs;
- SNS: the topic ARN (CreateTopic: the ARN it would create); EventBridge: `rule/<name>` of the default bus;
  the Resource Groups Tagging API signs as `tagging`, its IAM actions are `tag:*` (SAR) on `*`.
STS calls keep moto's check (AssumeRole with the role's trust policy); sts:GetCallerIdentity is always
allowed (STS API reference). Denials answer AccessDeniedException (JSON services and QuickSight,
`JsonErrorsIAMRequest`, naming the action and resource), AccessDenied (query protocol, S3).

`enforce_iam: true` sets the count to 0 (every later request is checked); `false` restores the count
the process started with (moto's default: never check). Only a change of the setting touches the
count, so `/moto-api/reset-auth` still works on its own. The admin routes (`/_reconciler/...`) never
reach moto and stay unauthenticated; so do moto's own `/moto-api/` routes.

Not modelled: resource-based policies other than S3 bucket policies (moto's own check), permissions
boundaries, SCPs and session policies; condition keys other than those above (a statement conditioned
on one does not apply); which ARN IAM checks for a call on a role that does not exist is undocumented.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

from reconciler_local import iam_eval, s3_actions
from reconciler_local.moto_api import (
    ActionAuthenticatorMixin,
    GlueResponse,
    IAMPolicy,
    IAMRequest,
    JsonRESTError,
    S3IAMRequest,
    get_partition,
    glue_backends,
    iam_backends,
    quicksight_backends,
    request_params,
)
from reconciler_local.moto_api import settings as moto_settings
from reconciler_local.patching import graft, original
from reconciler_local.runtime import Runtime, Settings


def _json_protocol(request: IAMRequest) -> bool:
    headers = request._headers
    # QuickSight is REST-JSON (no X-Amz-Target) and answers AccessDeniedException too (botocore quicksight model)
    return bool(headers.get("X-Amz-Target") or headers.get("x-amz-target")) or request._service == "quicksight"


class JsonErrorsIAMRequest(IAMRequest):
    """moto answers a denial in XML (`AccessDenied`), which a JSON-protocol client (Glue, Logs) cannot
    read: it sees only "403". AWS's JSON services answer `AccessDeniedException` (botocore glue model:
    AccessDeniedException, HTTP 400; "User: ... is not authorized to perform: glue:GetCrawlers") and
    `UnrecognizedClientException` for an unknown access key (AWS General Reference, common errors)."""

    def _raise_access_denied(self) -> None:
        if _json_protocol(self):
            raise JsonRESTError(
                "AccessDeniedException",
                f"User: {self._access_key.arn} is not authorized to perform: {self._action}"
                + (f" on resource: {resource}" if (resource := getattr(self, "_resource", None)) else ""),
            )
        original(IAMRequest, "_raise_access_denied")(self)

    def _raise_invalid_access_key(self, reason: str) -> None:
        if _json_protocol(self):
            raise JsonRESTError("UnrecognizedClientException", "The security token included in the request is invalid.")
        original(IAMRequest, "_raise_invalid_access_key")(self, reason)

    def _raise_signature_does_not_match(self) -> None:
        if _json_protocol(self):
            raise JsonRESTError(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            )
        original(IAMRequest, "_raise_signature_does_not_match")(self)


class IamEnforcement:
    def __init__(self) -> None:
        self.initial_count = moto_settings.INITIAL_NO_AUTH_ACTION_COUNT
        self.enforcing = False

    def apply(self, settings: Settings) -> None:
        wanted = bool(settings.enforce_iam)
        if wanted == self.enforcing:
            return
        self.enforcing = wanted
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if wanted else self.initial_count
        ActionAuthenticatorMixin.request_count = 0


def glue_resource(action: str, params: dict[str, object], prefix: str) -> str:
    """The ARN a Glue request acts on (see the module docstring), `*` when it names none."""
    def text(*names: str) -> str | None:
        for name in names:
            value = params.get(name)
            if isinstance(value, str) and value:
                return value
        return None

    resource_arn = text("ResourceArn")
    if resource_arn:
        return resource_arn
    database = text("DatabaseName")
    if "Partition" in action or action.endswith(("Table", "TableVersion", "TableVersions")):
        table_input = params.get("TableInput")
        table = text("TableName", "Name") or (str(table_input.get("Name")) if isinstance(table_input, dict)
                                              else None)
        if database and table:
            return f"{prefix}:table/{database}/{table}"
    if action.endswith("Tables") and database:
        return f"{prefix}:database/{database}"
    if action.endswith("Database"):
        database_input = params.get("DatabaseInput")
        name = text("Name") or (str(database_input.get("Name")) if isinstance(database_input, dict) else None)
        if name:
            return f"{prefix}:database/{name}"
    if "JobRun" in action:  # StartJobRun, GetJobRun(s), BatchStopJobRun: the job's ARN
        name = text("JobName")
        return f"{prefix}:job/{name}" if name else "*"
    if action.startswith(("List", "BatchGet")):
        return "*"
    for kind, names in (("Crawler", ("CrawlerName", "Name")), ("Job", ("JobName", "Name")),
                        ("Trigger", ("Name", "TriggerName")), ("Workflow", ("Name", "WorkflowName"))):
        if action.endswith((kind, f"{kind}Schedule", f"{kind}Run", f"{kind}Runs", f"{kind}Properties")):
            name = text(*names)
            if name:
                return f"{prefix}:{kind.lower()}/{name}"
    return "*"


class GlueResourceArn(GlueResponse):
    def _determine_resource(self) -> str:
        try:
            params = request_params(self)
        except ValueError:
            return "*"
        prefix = f"arn:aws:glue:{self.region}:{self.current_account}"
        return glue_resource(self._get_action(), params if isinstance(params, dict) else {}, prefix)


Check = tuple[str, str, dict[str, list[str]]]  # (IAM action, resource ARN, request context keys)


def _param(response: Any, name: str) -> Any:
    try:
        value = response._get_param(name)
    except Exception:  # a body moto cannot parse, an unknown role: see the fallback below
        value = None
    if value is None:
        try:
            value = request_params(response).get(name)
        except ValueError:
            value = None
    if value is None:
        value = (getattr(response, "uri_match", None) or {}).get(name)
    return value


def _tag_context(tags: Any) -> dict[str, list[str]]:
    """aws:RequestTag/<key> and aws:TagKeys from a request's tags (a map, or a list of Key/Value pairs) (IAM User
    Guide, "Controlling access during AWS requests")."""
    if isinstance(tags, list):
        tags = {str(t.get("Key")): str(t.get("Value")) for t in tags if isinstance(t, dict)}
    if not isinstance(tags, dict) or not tags:
        return {}
    context = {f"aws:RequestTag/{k}": [str(v)] for k, v in tags.items()}
    context["aws:TagKeys"] = [str(k) for k in tags]
    return context


def _glue_checks(response: Any, action: str, moto_resource: str) -> list[Check]:
    """AWS Glue, after the SAR ("Actions defined by AWS Glue": the resource types each action is checked on)
    and the AWS Glue Developer Guide, "Specifying AWS Glue resource ARNs"."""
    try:
        params = request_params(response)
    except ValueError:
        params = {}
    operation = action.split(":", 1)[1]
    prefix = f"arn:{_partition(response)}:glue:{response.region}:{response.current_account}"
    root = f"{prefix}:catalog"
    database = params.get("DatabaseName") or params.get("Name") or (params.get("DatabaseInput") or {}).get("Name")
    context = _tag_context(params.get("Tags") or params.get("TagsToAdd"))
    checks: list[Check]
    if operation in ("CreateDatabase", "GetDatabase", "UpdateDatabase"):
        checks = [(action, root, context), (action, f"{prefix}:database/{database}", context)]
    elif operation == "DeleteDatabase":
        # "requires permission on all the tables and user-defined functions in the database" (the guide): the
        # wildcard ARNs stand for every one of them, present or future
        checks = [(action, arn, {}) for arn in (root, f"{prefix}:database/{database}", f"{prefix}:table/{database}/*",
                                                f"{prefix}:userDefinedFunction/{database}/*")]
    elif operation == "CreateCrawler":  # no resource type (SAR): only "*" matches
        checks = [(action, "*", context)]
    elif operation in ("BatchGetCrawlers", "BatchGetJobs", "BatchGetTriggers"):
        kind, names = {"BatchGetCrawlers": ("crawler", "CrawlerNames"), "BatchGetJobs": ("job", "JobNames"),
                       "BatchGetTriggers": ("trigger", "TriggerNames")}[operation]
        checks = [(action, f"{prefix}:{kind}/{n}", {}) for n in params.get(names) or []]
    else:
        arn = glue_resource(operation, params, prefix)
        checks = [(action, arn, context)]
        tagging = operation in ("GetTags", "TagResource", "UntagResource")
        if not tagging and (arn.startswith(f"{prefix}:table/") or arn.startswith(f"{prefix}:database/")):
            db = arn.split("/")[1]
            checks = [(action, root, context), (action, f"{prefix}:database/{db}", context),
                      *([(action, f"{prefix}:table/{db}/*", context)] if operation == "GetTables" else []), *checks]
    checks = [(a, r, {**c, **_resource_tags(response, r)}) for a, r, c in checks]
    # Glue's Create/Update of a crawler or job passes its role (IAM User Guide, "Granting a user permissions to
    # pass a role to an AWS service": iam:PassRole on the role, iam:PassedToService glue.amazonaws.com)
    role = params.get("Role") or (params.get("JobUpdate") or {}).get("Role")
    if operation in ("CreateCrawler", "UpdateCrawler", "CreateJob", "UpdateJob") and role:
        checks.append(("iam:PassRole", _role_arn(response, str(role)), {"iam:PassedToService": ["glue.amazonaws.com"]}))
    return checks


def _partition(response: Any) -> str:
    return str(get_partition(response.region))


def _resource_tags(response: Any, arn: str) -> dict[str, list[str]]:
    """aws:ResourceTag/<key> of an existing Glue resource (the SAR lists the key for database, crawler, job,
    trigger and workflow)."""
    if ":glue:" not in arn or not any(f":{k}/" in arn for k in ("crawler", "job", "trigger", "workflow", "database")) \
            or "*" in arn:
        return {}
    tags = glue_backends[response.current_account][response.region].get_tags(arn)
    return {f"aws:ResourceTag/{k}": [str(v)] for k, v in (tags or {}).items()}


def _role_arn(response: Any, role: str) -> str:
    if role.startswith("arn:"):
        return role
    try:
        return str(iam_backends[response.current_account][_partition(response)].get_role(role).arn)
    except Exception:  # a body moto cannot parse, an unknown role: see the fallback below
        return f"arn:{_partition(response)}:iam::{response.current_account}:role/{role}"


def _iam_checks(response: Any, action: str) -> list[Check]:
    """IAM (SAR, "Actions defined by IAM": role actions on `role/<path><name>`, ListRoles on `*`)."""
    name = _param(response, "RoleName")
    if not name:
        return [(action, "*", {})]
    arn = _role_arn(response, str(name))
    if action == "iam:CreateRole":
        path = _param(response, "Path") or "/"
        arn = f"arn:{_partition(response)}:iam::{response.current_account}:role{path}{name}"
    context = _tag_context(_param(response, "Tags")) if action in ("iam:CreateRole", "iam:TagRole") else {}
    return [(action, arn, context)]


def _logs_checks(response: Any, action: str) -> list[Check]:
    """CloudWatch Logs (SAR: GetLogEvents on `log-group:<g>:log-stream:<s>`, others on `log-group:<g>`)."""
    group, stream = _param(response, "logGroupName"), _param(response, "logStreamName")
    if not group:
        return [(action, "*", {})]
    arn = f"arn:{_partition(response)}:logs:{response.region}:{response.current_account}:log-group:{group}"
    return [(action, f"{arn}:log-stream:{stream}" if stream else arn, {})]


def _quicksight_checks(response: Any, action: str) -> list[Check]:
    """Amazon QuickSight (SAR, "Actions defined by Amazon QuickSight"): CreateDataSource has no resource type;
    CreateDataSet is checked on the data sources it reads and needs quicksight:PassDataSource on each;
    ingestions on `dataset/<id>/ingestion/<id>`."""
    operation = action.split(":", 1)[1]
    prefix = f"arn:{_partition(response)}:quicksight:{response.region}:{response.current_account}"
    context = _tag_context(_param(response, "Tags"))
    source, data_set = _param(response, "DataSourceId"), _param(response, "DataSetId")
    if operation == "CreateDataSource" or (operation.startswith("List") and operation != "ListTagsForResource"):
        return [(action, "*", context)]
    if operation in ("CreateDataSet", "UpdateDataSet"):
        tables = _param(response, "PhysicalTableMap") or {}
        sources = sorted({str(arn) for table in tables.values() if isinstance(table, dict)
                          for body in table.values() if isinstance(body, dict)
                          for arn in [body.get("DataSourceArn")] if arn})
        checks: list[Check] = [] if operation == "CreateDataSet" else [(action, f"{prefix}:dataset/{data_set}", {})]
        checks += [(action, arn, context) for arn in sources] if operation == "CreateDataSet" else []
        checks += [("quicksight:PassDataSource", arn, {}) for arn in sources]
        return checks or [(action, "*", context)]
    checks = _quicksight_resource_checks(response, action, operation, prefix, context, source, data_set)
    return [(a, r, {**c, **_quicksight_tags(response, r)}) for a, r, c in checks]


def _quicksight_tags(response: Any, arn: str) -> dict[str, list[str]]:
    """aws:ResourceTag/<key> of an existing data source or data set (the SAR lists the key for both types)."""
    if not any(f":{kind}/" in arn for kind in ("datasource", "dataset")) or "/ingestion/" in arn:
        return {}
    tags = quicksight_backends[response.current_account][response.region].tagger.get_tag_dict_for_resource(arn)
    return {f"aws:ResourceTag/{k}": [str(v)] for k, v in (tags or {}).items()}


def _quicksight_resource_checks(response: Any, action: str, operation: str, prefix: str,
                                context: dict[str, list[str]], source: Any, data_set: Any) -> list[Check]:
    if "Ingestion" in operation:
        return [(action, f"{prefix}:dataset/{data_set}/ingestion/{_param(response, 'IngestionId')}", context)]
    if operation.endswith(("TagResource", "TagsForResource")):
        return [(action, unquote(str(_param(response, "ResourceArn") or "*")), context)]
    if source:
        return [(action, f"{prefix}:datasource/{source}", context)]
    if data_set:
        return [(action, f"{prefix}:dataset/{data_set}", context)]
    return [(action, "*", context)]


def _sns_checks(response: Any, action: str) -> list[Check]:
    """Amazon SNS (SAR: topic actions on the topic ARN; CreateTopic on the topic it would create)."""
    arn = _param(response, "TopicArn") or _param(response, "ResourceArn")
    if action == "sns:CreateTopic":
        arn = f"arn:{_partition(response)}:sns:{response.region}:{response.current_account}:{_param(response, 'Name')}"
    context = _tag_context(_param(response, "Tags")) if action in ("sns:CreateTopic", "sns:TagResource") else {}
    return [(action, str(arn) if arn else "*", context)]


def _events_checks(response: Any, action: str) -> list[Check]:
    """Amazon EventBridge (SAR: rule actions on `rule/<name>` of the default bus)."""
    arn = _param(response, "ResourceARN")
    name = _param(response, "Name") or _param(response, "Rule")
    if not arn and name:
        arn = f"arn:{_partition(response)}:events:{response.region}:{response.current_account}:rule/{name}"
    context = _tag_context(_param(response, "Tags")) if action in ("events:PutRule", "events:TagResource") else {}
    return [(action, str(arn) if arn else "*", context)]


def requirements(response: Any, iam_request: Any, resource: str) -> list[Check]:
    """Every (IAM action, resource ARN, context) AWS evaluates for this request; each must be allowed."""
    action = str(iam_request._action)
    service = action.split(":", 1)[0]
    if isinstance(iam_request, S3IAMRequest):
        partition = resource.split(":", 2)[1] if resource.startswith("arn:") else "aws"
        operation = action.split(":", 1)[1] if ":" in action else None
        querystring = getattr(response, "querystring", {}) or {}
        prefix = querystring.get("prefix")
        context = {"s3:prefix": [str(prefix[0] if isinstance(prefix, list) else prefix)]} if prefix else {}
        return [(a, r, context) for a, r in s3_actions.checks(operation, resource, partition, querystring,
                                                               response.headers, response.body)]
    if service == "glue":
        return _glue_checks(response, action, resource)
    if service == "iam":
        return _iam_checks(response, action)
    if service == "logs":
        return _logs_checks(response, action)
    if service == "quicksight":
        return _quicksight_checks(response, action)
    if service == "sns":
        return _sns_checks(response, action)
    if service == "events":
        return _events_checks(response, action)
    if service == "tagging":  # the Resource Groups Tagging API signs as "tagging"; its IAM prefix is "tag" (SAR)
        return [(f"tag:{action.split(':', 1)[1]}", "*", {})]
    return [(action, resource, {})]


def _documents(iam_request: Any) -> list[dict[str, Any]]:
    return [IAMPolicy(policy)._policy_json for policy in iam_request._access_key.collect_policies()]


class AuthorizeAsAws(ActionAuthenticatorMixin):
    """moto's `_authenticate_and_authorize_action` (signature first), then every (action, resource, context)
    `requirements` names is evaluated against the caller's identity policies by `iam_eval` (IAM's logic, with
    condition keys), instead of moto's `<service>:<Operation>` on the one ARN moto derives."""

    def _authenticate_and_authorize_action(self, iam_request_cls: type, resource: str = "*") -> None:
        if ActionAuthenticatorMixin.request_count < moto_settings.INITIAL_NO_AUTH_ACTION_COUNT:
            ActionAuthenticatorMixin.request_count += 1
            return
        response: Any = self
        if response.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
            return
        parsed_url = urlparse(response.uri)
        path = response.raw_path + (f"?{parsed_url.query}" if parsed_url.query else "")
        # A bodiless REST request (QuickSight's GETs) is signed over an empty payload: moto's signature check
        # would hash its parsed `data` instead and refuse a valid signature
        bodiless = response.method in ("GET", "HEAD", "DELETE") and not response.raw_body
        data = {} if bodiless and iam_request_cls is not S3IAMRequest else response.data
        iam_request = iam_request_cls(account_id=response.current_account, method=response.method, path=path,
                                      data=data, body=response.raw_body, headers=response.headers,
                                      action=response._get_action())
        iam_request.check_signature()
        if iam_request._action == "sts:GetCallerIdentity":  # always allowed (STS API reference)
            return
        if iam_request._action.startswith("sts:"):  # AssumeRole & co: moto's check, with the trust policy
            iam_request.check_action_permitted(resource)
            return
        documents = _documents(iam_request)
        for action, arn, context in requirements(response, iam_request, resource):
            iam_request._action = action
            if iam_eval.evaluate(documents, action, arn, context) is not iam_eval.Result.ALLOW:
                iam_request._resource = arn
                iam_request._raise_access_denied()


def install(runtime: Runtime) -> IamEnforcement:
    graft(IAMRequest, JsonErrorsIAMRequest)
    graft(ActionAuthenticatorMixin, AuthorizeAsAws)
    graft(GlueResponse, GlueResourceArn)
    enforcement = IamEnforcement()
    runtime.on_settings(enforcement.apply)
    return enforcement
