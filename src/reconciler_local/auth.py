"""IAM enforcement for the operator (setting `enforce_iam`): moto's own machinery, switched on and off.

moto authenticates and authorises a request once `moto.core.authorization.ActionAuthenticatorMixin`
has counted `settings.INITIAL_NO_AUTH_ACTION_COUNT` requests (env INITIAL_NO_AUTH_ACTION_COUNT at
start-up, `POST /moto-api/reset-auth` with the count as the body later). The signature must be valid
for an access key of an IAM user (or an STS session) in moto's IAM backend, and the caller's identity
policies (user inline, attached, group policies) are evaluated by `moto.iam.access_control`: an
explicit Deny wins, else an Allow is needed (IAM User Guide, "Policy evaluation logic"). The action is
`<credential scope service>:<action>`; for Glue's JSON protocol the action is the X-Amz-Target's
operation (`AWSGlue.GetDatabase` -> `glue:GetDatabase`, the names the Service Authorization Reference
lists for AWS Glue). Every service our tool calls goes through it: Glue, IAM, STS, CloudWatch Logs
(`BaseResponse.call_action`) and S3 (its own `_authenticate_and_authorize_s3_action`, on the bucket or
object ARN). An S3 request is authorised as the IAM actions AWS evaluates for its operation, on every
resource AWS checks (`s3_actions.py`: HeadBucket and ListObjectsV2 -> s3:ListBucket, DeleteObjects ->
s3:DeleteObject on each key, ...), not as moto's `s3:<Operation>`. Denials answer AccessDeniedException (JSON services,
`JsonErrorsIAMRequest`), AccessDenied (IAM/STS query protocol, S3).

`enforce_iam: true` sets the count to 0 (every later request is checked); `false` restores the count
the process started with (moto's default: never check). Only a change of the setting touches the
count, so `/moto-api/reset-auth` still works on its own. The admin routes (`/_reconciler/...`) never
reach moto and stay unauthenticated; so do moto's own `/moto-api/` routes.

Glue requests are authorised against the ARN of the resource they name (`GlueResourceArn`, after the
AWS Glue Developer Guide's "Specifying AWS Glue resource ARNs": `database/<db>`, `table/<db>/<table>`,
`crawler/<name>`, `job/<name>`, `trigger/<name>`, `workflow/<name>`, a given ResourceArn; List*/Get*s
calls and anything else: `*`). moto checks *one* resource per request, so where AWS needs the catalog,
the database and the table (CreateTable, ...) only the most specific one is checked here.

Not modelled (moto's limits): IAM and Logs actions other than on existing roles are authorised against
resource `*` (moto determines no resource ARN for them), so a statement scoped to ARNs does not match;
Condition keys (e.g. iam:PassedToService) have no request values, so a statement with a Condition does
not apply; iam:PassRole is not checked when Glue is given a role; resource policies other than S3
bucket policies are ignored; sts:GetCallerIdentity is always allowed (as on AWS).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.glue.responses import GlueResponse
from moto.iam.access_control import IAMRequest, S3IAMRequest

from reconciler_local import s3_actions
from reconciler_local.moto_api import request_params
from reconciler_local.patching import graft, original
from reconciler_local.runtime import Runtime, Settings


def _json_protocol(request: IAMRequest) -> bool:
    headers = request._headers
    return bool(headers.get("X-Amz-Target") or headers.get("x-amz-target"))


class JsonErrorsIAMRequest(IAMRequest):
    """moto answers a denial in XML (`AccessDenied`), which a JSON-protocol client (Glue, Logs) cannot
    read: it sees only "403". AWS's JSON services answer `AccessDeniedException` (botocore glue model:
    AccessDeniedException, HTTP 400; "User: ... is not authorized to perform: glue:GetCrawlers") and
    `UnrecognizedClientException` for an unknown access key (AWS General Reference, common errors)."""

    def _raise_access_denied(self) -> None:
        if _json_protocol(self):
            raise JsonRESTError(
                "AccessDeniedException",
                f"User: {self._access_key.arn} is not authorized to perform: {self._action}",
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


def requirements(response: Any, iam_request: Any, resource: str) -> list[tuple[str, str]]:
    """Every (IAM action, resource ARN) AWS evaluates for this request; all must be allowed."""
    if isinstance(iam_request, S3IAMRequest):
        partition = resource.split(":", 2)[1] if resource.startswith("arn:") else "aws"
        operation = str(iam_request._action).split(":", 1)[1] if iam_request._action else None
        return s3_actions.checks(operation, resource, partition, getattr(response, "querystring", {}) or {},
                                 response.headers, response.body)
    return [(iam_request._action, resource)]


class AuthorizeAsAws(ActionAuthenticatorMixin):
    """moto's `_authenticate_and_authorize_action` (signature, then the caller's policies), with the
    request's IAM actions and resources from `requirements` instead of `<service>:<Operation>` on the
    one ARN moto derives; each pair must be allowed."""

    def _authenticate_and_authorize_action(self, iam_request_cls: type, resource: str = "*") -> None:
        if ActionAuthenticatorMixin.request_count < moto_settings.INITIAL_NO_AUTH_ACTION_COUNT:
            ActionAuthenticatorMixin.request_count += 1
            return
        response: Any = self
        if response.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
            return
        parsed_url = urlparse(response.uri)
        path = response.raw_path + (f"?{parsed_url.query}" if parsed_url.query else "")
        iam_request = iam_request_cls(account_id=response.current_account, method=response.method, path=path,
                                      data=response.data, body=response.raw_body, headers=response.headers,
                                      action=response._get_action())
        iam_request.check_signature()
        for action, arn in requirements(response, iam_request, resource):
            iam_request._action = action
            iam_request.check_action_permitted(arn)


def install(runtime: Runtime) -> IamEnforcement:
    graft(IAMRequest, JsonErrorsIAMRequest)
    graft(ActionAuthenticatorMixin, AuthorizeAsAws)
    graft(GlueResponse, GlueResourceArn)
    enforcement = IamEnforcement()
    runtime.on_settings(enforcement.apply)
    return enforcement
