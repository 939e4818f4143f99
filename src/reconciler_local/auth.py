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
object ARN). Denials answer AccessDeniedException (JSON services, `JsonErrorsIAMRequest`), AccessDenied
(IAM/STS query protocol, S3).

`enforce_iam: true` sets the count to 0 (every later request is checked); `false` restores the count
the process started with (moto's default: never check). Only a change of the setting touches the
count, so `/moto-api/reset-auth` still works on its own. The admin routes (`/_reconciler/...`) never
reach moto and stay unauthenticated; so do moto's own `/moto-api/` routes.

Not modelled (moto's limits): Glue, IAM and Logs actions are authorised against resource `*` (moto
determines no resource ARN for them), so a statement scoped to specific ARNs does not match them;
Condition keys (e.g. iam:PassedToService) have no request values, so a statement with a Condition does
not apply; iam:PassRole is not checked when Glue is given a role; resource policies other than S3
bucket policies are ignored; sts:GetCallerIdentity is always allowed (as on AWS).
"""

from __future__ import annotations

from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.iam.access_control import IAMRequest

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


def install(runtime: Runtime) -> IamEnforcement:
    graft(IAMRequest, JsonErrorsIAMRequest)
    enforcement = IamEnforcement()
    runtime.on_settings(enforcement.apply)
    return enforcement
