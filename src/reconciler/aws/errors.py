"""Botocore's exceptions -> ours, in one function. Only `AwsContext` calls it; nothing else sees botocore.

Sources for the codes below:
- Not found: Glue `EntityNotFoundException`, IAM `NoSuchEntity`, S3 `NoSuchBucket` / `NoSuchKey` /
  `NoSuchTagSet` and a bare `404` / `NotFound` for HEAD requests (S3 API reference, "Error responses"),
  `ResourceNotFoundException` (QuickSight, CloudWatch Logs, Resource Groups Tagging), SNS `NotFound`
  (GetTopicAttributes) and `ResourceNotFound` (ListTagsForResource: botocore's sns model,
  ResourceNotFoundException, code "ResourceNotFound").
- Access denied: S3 `AccessDenied`, Glue/QuickSight/Logs `AccessDeniedException`, IAM/STS `AccessDenied`,
  EC2-style `UnauthorizedOperation` (each service's "Common errors" page).
- Credentials: `InvalidClientTokenId`, `UnrecognizedClientException`, `SignatureDoesNotMatch`,
  `InvalidAccessKeyId`, `ExpiredToken(Exception)`, `InvalidSignatureException` ("Common errors" in the
  AWS API references: "The X.509 certificate or AWS access key ID provided does not exist in our records").
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from reconciler.aws.retry import (
    INTERNAL_ERROR_HEADER,
    INTERNAL_ERROR_LOG_HEADER,
    THROTTLING_CODES,
    endpoint_internal_error,
    is_transient,
)
from reconciler.errors import (
    AccessDeniedError,
    AwsApiError,
    CredentialsError,
    EndpointInternalError,
    EndpointUnreachableError,
    NotFoundError,
    ReconcilerError,
    ThrottledError,
    UsageError,
)
from reconciler.invocation import command

NOT_FOUND_CODES = frozenset(
    {
        "EntityNotFoundException", "NoSuchEntity", "NoSuchBucket", "404", "NotFound", "NoSuchKey",
        "NoSuchTagSet", "NoSuchTagSetError", "ResourceNotFoundException", "NoSuchBucketPolicy",
        "ResourceNotFound",
    }
)  # fmt: skip
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403"})
CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId",
        "ExpiredToken", "ExpiredTokenException", "InvalidSignatureException", "InvalidToken",
    }
)  # fmt: skip

CREDENTIALS_HINT = (
    "give the tool credentials the standard way: AWS_PROFILE=NAME (see `aws configure list-profiles`), "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an instance/OIDC role; for the local endpoint pass --local"
)


def api_name(operation: str) -> str:
    """`get_crawler` -> `GetCrawler` (how AWS's documentation and IAM actions name it)."""
    return "".join(part[:1].upper() + part[1:] for part in operation.split("_"))


def map_exception(
    exc: BaseException, *, service: str, operation: str, attempts: int = 1, endpoint: str | None = None
) -> ReconcilerError:
    """The one translation of a failed AWS call into our error types. Ours pass through unchanged."""
    if isinstance(exc, ReconcilerError):
        return exc
    action = f"{service}:{api_name(operation)}"
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(exc, ClientError):
        return _client_error(exc, service, operation, action, attempts, tries, endpoint)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CredentialsError(f"no AWS credentials found for {action} ({exc})", hint=CREDENTIALS_HINT)
    if isinstance(exc, ProfileNotFound):
        return CredentialsError(str(exc), hint="list the profiles: `aws configure list-profiles`, or drop --profile")
    if isinstance(exc, NoRegionError):
        return UsageError("no AWS region: set metadata.region in the spec, pass --region, or set AWS_REGION")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError | ReadTimeoutError):
        where = endpoint or "AWS"
        hint = (
            f"is an endpoint listening at {endpoint}? (the embedded one: `{command('local', 'status')}`), "
            "or drop --endpoint-url (and AWS_ENDPOINT_URL*, the profile's endpoint_url)"
            if endpoint
            else "check the network and the region"
        )
        return EndpointUnreachableError(f"cannot reach {where} for {action}{tries}: {exc}", hint=hint)
    if is_transient(exc):  # a dropped connection of another kind (ProtocolError, IncompleteRead)
        return EndpointUnreachableError(f"the connection to {endpoint or 'AWS'} broke during {action}{tries}: {exc}")
    return AwsApiError(
        f"{action} failed: {type(exc).__name__}: {exc}",
        service=service, operation=operation, code=type(exc).__name__, status=0, aws_message=str(exc),
        attempts=attempts,
    )  # fmt: skip


def _client_error(
    exc: ClientError, service: str, operation: str, action: str, attempts: int, tries: str,
    endpoint: str | None = None,
) -> ReconcilerError:
    internal = endpoint_internal_error(exc)
    if internal is not None:
        return _endpoint_internal(exc, internal, action)
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "") or "")
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    message = str(error.get("Message", "") or "").strip()
    if not code and status:
        code = str(status)
    detail = f"{code}: {message}" if message else code

    def typed(cls: type[AwsApiError], text: str, hint: str | None = None) -> AwsApiError:
        return cls(
            text, service=service, operation=operation, code=code, status=status, aws_message=message,
            attempts=attempts, hint=hint,
        )  # fmt: skip

    if code in NOT_FOUND_CODES:
        return typed(NotFoundError, f"{action}: {detail}")
    if code in ACCESS_DENIED_CODES:
        who = "`aws sts get-caller-identity` shows who the caller is"
        return typed(AccessDeniedError, f"access denied: {action}: {detail}", f"the caller needs {action}; {who}")
    if code in CREDENTIAL_CODES:
        return CredentialsError(f"AWS rejected the credentials for {action}: {detail}", hint=CREDENTIALS_HINT)
    if is_transient(exc):
        # Say what was seen, and call it throttling only when the code says so.
        seen = f"HTTP {status} {detail}" if status else detail
        if code in THROTTLING_CODES:
            hint = "AWS is throttling these calls: try again in a few minutes"
        elif status >= 500 and endpoint:
            hint = f"the endpoint {endpoint} answered HTTP {status} (a failure on its side) every time: see its log"
        elif status >= 500:
            hint = (
                f"AWS answered HTTP {status} (a failure on its side) every time: try again later; "
                "https://health.aws.amazon.com/health/status shows known outages"
            )
        else:
            hint = "a transient condition outlasted the retries: try again in a few minutes"
        return typed(ThrottledError, f"{action} still failing{tries}: {seen}", hint)
    return typed(AwsApiError, f"{action}: {detail}")


def _endpoint_internal(exc: ClientError, headers: dict[str, str], action: str) -> EndpointInternalError:
    """An HTTP 500 the embedded endpoint marked as its own failure (retry.INTERNAL_ERROR_HEADER): the
    endpoint's code raised. Not AWS, not throttling, and not worth a retry; its log has the traceback."""
    message = str(exc.response.get("Error", {}).get("Message", "") or "").strip()
    kind = headers.get(INTERNAL_ERROR_HEADER, "") or "error"
    log = headers.get(INTERNAL_ERROR_LOG_HEADER, "")
    where = f"see {log}" if log else "see the endpoint's log (its standard error)"
    detail = f"{kind}: {message}" if message and not message.startswith(kind) else (message or kind)
    return EndpointInternalError(
        f"the local endpoint failed (internal error) in {action}: {detail}; {where}",
        hint=f"the traceback is in that log; restart the endpoint with: {command('local', 'down')} && "
        f"{command('local', 'up')}",
    )
