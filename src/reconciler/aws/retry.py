"""Transient-error retries: one place decides what is worth retrying, with jittered backoff.

Validation errors and AccessDenied are never retried; they fail fast with AWS's code and message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.retries import standard as botocore_standard
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from reconciler.aws import wait
from reconciler.aws.wait import Clock, Poll
from reconciler.errors import EndpointUnreachableError, ThrottledError

T = TypeVar("T")

# AWS error codes that mean "try again later": each service's "Common errors" page (Throttling,
# ServiceUnavailable, InternalFailure), Glue's ConcurrentModificationException / OperationTimeoutException
# (Glue API reference, "Common exceptions"), S3's SlowDown / RequestTimeout / ConditionalRequestConflict (S3 API
# reference, "Error responses"), and IAM's ConcurrentModification (HTTP 409, botocore's IAM model).
#: botocore's own lists (botocore/retries/standard.py: ThrottledRetryableChecker._THROTTLED_ERROR_CODES, "the
#: union of all error codes we've seen that represent a throttled error", e.g. the Tagging API's
#: ThrottledException, and TransientRetryableChecker._TRANSIENT_ERROR_CODES), read from the installed botocore
#: rather than copied, so that a code botocore learns is retried here too. HTTP 429 is retried whatever its
#: code (ThrottlingStatusCodeChecker._THROTTLING_STATUS_CODES): SNS answers `Throttled` with 429 (botocore's sns
#: model, ThrottledException: code "Throttled", httpStatusCode 429), a code botocore's list lacks.
#: (vars(): botocore's type stubs do not declare these class attributes.)
BOTOCORE_THROTTLING_CODES: frozenset[str] = frozenset(
    vars(botocore_standard.ThrottledRetryableChecker)["_THROTTLED_ERROR_CODES"]
)
BOTOCORE_TRANSIENT_CODES: frozenset[str] = frozenset(
    vars(botocore_standard.TransientRetryableChecker)["_TRANSIENT_ERROR_CODES"]
)
THROTTLING_STATUS_CODES: frozenset[int] = frozenset(
    vars(vars(botocore_standard)["ThrottlingStatusCodeChecker"])["_THROTTLING_STATUS_CODES"]
)

TRANSIENT_CODES = BOTOCORE_THROTTLING_CODES | BOTOCORE_TRANSIENT_CODES | frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServiceException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ConcurrentModificationException",
        "ConcurrentModification",  # IAM's own spelling (botocore iam/2010-05-08/service-2.json)
        "OperationAborted",  # S3: "A conflicting conditional operation is currently in progress" on CreateBucket
        "OperationTimeoutException",
        # S3: "A conflicting conditional operation is currently in progress against this resource."
        "ConditionalRequestConflict",
    }
)


# The codes that mean "slow down" (not a server failure): botocore's own list,
# botocore/retries/standard.py ThrottlingErrorDetector._THROTTLED_ERROR_CODES, plus SNS's `Throttled` (HTTP 429,
# botocore's sns model). Only these make an exhausted retry say "throttling".
THROTTLING_CODES = frozenset(
    {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
        "PriorRequestNotComplete", "EC2ThrottledException", "Throttled",
    }
)  # fmt: skip

#: Set by the embedded local endpoint (reconciler_local.server) on the HTTP 500 it answers when its own code
#: raised: the value is the exception's type. AWS never sends it. Such an answer is never retried: it is a
#: defect of the endpoint (or a moto gap), and the same request fails the same way again.
INTERNAL_ERROR_HEADER = "x-reconciler-internal-error"
#: Beside it, when the endpoint knows it: the file its log (with the traceback) goes to.
INTERNAL_ERROR_LOG_HEADER = "x-reconciler-log"


def endpoint_internal_error(exc: BaseException) -> dict[str, str] | None:
    """The response headers of a botocore ClientError that the embedded endpoint marked as its own
    internal error (INTERNAL_ERROR_HEADER), else None. botocore lower-cases header names."""
    if not isinstance(exc, ClientError):
        return None
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    return dict(headers) if INTERNAL_ERROR_HEADER in headers else None


def error_code(exc: BaseException) -> str:
    """AWS's error code of a botocore ClientError or of our mapped `AwsApiError` ("" for anything else)."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and hasattr(exc, "aws_message"):
        return code
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_transient(exc: BaseException) -> bool:
    """Worth another attempt: throttling, 5xx, concurrent modification, a dropped or timed-out connection
    (botocore's ConnectTimeoutError is not an EndpointConnectionError: both are botocore ConnectionErrors, so it is
    named here). Our mapped errors keep the verdict."""
    if isinstance(exc, ThrottledError | EndpointUnreachableError):
        return True
    if isinstance(exc, ConnectionClosedError | ConnectTimeoutError | EndpointConnectionError | ReadTimeoutError):
        return True
    if isinstance(exc, ClientError):
        if endpoint_internal_error(exc) is not None:
            return False
        if error_code(exc) in TRANSIENT_CODES:
            return True
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return status >= 500 or status in THROTTLING_STATUS_CODES
    # botocore raises these for dropped connections that are not ClientErrors
    return exc.__class__.__name__ in {"ProtocolError", "IncompleteReadError", "ResponseStreamingError"}


class RetryStats:
    """Counts retries across threads, so a run can report how many it needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.retries = 0

    def record(self, _state: RetryCallState) -> None:
        with self._lock:
            self.retries += 1


STATS = RetryStats()


class RetryPolicy:
    """Bounded, jittered exponential backoff (full jitter). Tests pass a zero-delay sleep."""

    def __init__(
        self,
        *,
        attempts: int = 8,
        max_delay: float = 120.0,
        initial: float = 0.2,
        cap: float = 10.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.attempts = attempts
        self.max_delay = max_delay
        self.initial = initial
        self.cap = cap
        self.sleep = sleep

    def call(self, fn: Callable[[], T], *, retry_on: Callable[[BaseException], bool] = is_transient) -> T:
        retrying = Retrying(
            sleep=self.sleep or time.sleep,
            retry=retry_if_exception(retry_on),
            wait=wait_random_exponential(multiplier=self.initial, max=self.cap),
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.max_delay),
            before_sleep=STATS.record,
            reraise=True,
        )
        return retrying(fn)


DEFAULT_POLICY = RetryPolicy()


def call_with_retry(fn: Callable[[], T], *, policy: RetryPolicy | None = None) -> T:
    return (policy or DEFAULT_POLICY).call(fn)


# The new-bucket window. Right after CreateBucket, S3 can answer NoSuchBucket to the
# bucket's configuration calls and to PutObject for a while: terraform-provider-aws retries NoSuchBucket on
# each of them after CreateBucket, for bucketPropagationTimeout (2 minutes; internal/service/s3/bucket.go).
# Only for calls made right after *our* CreateBucket: anywhere else NoSuchBucket means the bucket is absent.
NEW_BUCKET_WINDOW_SECONDS = 120.0


def while_bucket_is_new(
    fn: Callable[[], T],
    *,
    seconds: float = NEW_BUCKET_WINDOW_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`fn()`, retried with a bounded backoff while it fails with NoSuchBucket, for at most `seconds`.
    `fn` must be safe to repeat (the configuration PUTs replace, the lock PUT is conditional)."""
    return wait.retry_while(
        fn, lambda exc: error_code(exc) == "NoSuchBucket", timeout=seconds,
        poll=Poll(0.2, cap=5.0, before_deadline=True), clock=Clock(sleep=sleep),
    )  # fmt: skip
