"""Every throttling code botocore knows is retried (botocore/retries/standard.py), and so is any HTTP 429 (SNS's
`Throttled`), against the endpoint answering each one (its fault mode, `permanent` with a code and a status)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.retries import standard

from reconciler.aws.context import AwsContext
from reconciler.aws.retry import RetryPolicy
from reconciler.errors import AwsApiError
from reconciler_local import call_admin

# Read from botocore itself, not through reconciler.aws.retry (vars(): the type stubs lack these attributes).
CODES = sorted(set(vars(standard.ThrottledRetryableChecker)["_THROTTLED_ERROR_CODES"])
               | set(vars(standard.TransientRetryableChecker)["_TRANSIENT_ERROR_CODES"]))  # fmt: skip


def _attempts(aws: Any, code: str, status: int = 400) -> int:
    call_admin(aws.url, "faults", {"permanent": {"operation": "sts:GetCallerIdentity", "code": code,
                                                 "status": status}})  # fmt: skip
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url, retry=RetryPolicy(attempts=3, sleep=lambda _: None))
    try:
        with pytest.raises(AwsApiError) as failed:
            ctx.call("sts", "get_caller_identity")
    finally:
        call_admin(aws.url, "faults", {})
    assert failed.value.code == code
    return failed.value.attempts


def test_every_botocore_throttling_and_transient_code_is_retried(aws: Any) -> None:
    assert {"ThrottledException", "TooManyRequestsException", "Throttling", "SlowDown"} <= set(CODES)
    not_retried = [code for code in CODES if _attempts(aws, code) != 3]
    assert not_retried == []


def test_http_429_is_retried_whatever_its_code_and_a_plain_400_is_not(aws: Any) -> None:
    assert _attempts(aws, "Throttled", 429) == 3  # SNS: ThrottledException, code "Throttled", HTTP 429
    assert _attempts(aws, "ValidationError", 400) == 1
