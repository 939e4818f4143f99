"""The errors AWS and botocore raise for a condition that passes are retried; the rest are not.
(The faults end to end, with the attempts named when retries run out: tests/reliability/test_faults.py and
tests/integration/test_errors.py::test_throttled_*.)"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from reconciler.aws.retry import is_transient


def client_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Op")


@pytest.mark.parametrize(
    "error",
    [
        client_error("ConcurrentModification", 409),  # IAM's own code (botocore's IAM model)
        client_error("ConcurrentModificationException", 400),  # Glue's
        client_error("OperationAborted", 409),  # S3: "A conflicting conditional operation is in progress"
        client_error("SlowDown", 503),
        client_error("ThrottlingException", 400),
        client_error("InternalError", 500),
        ConnectTimeoutError(endpoint_url="https://glue.eu-central-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://glue.eu-central-1.amazonaws.com"),
        EndpointConnectionError(endpoint_url="https://glue.eu-central-1.amazonaws.com"),
    ],
    ids=lambda e: type(e).__name__ + (f"-{e.response['Error']['Code']}" if isinstance(e, ClientError) else ""),
)
def test_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [client_error("AccessDenied", 403), client_error("InvalidInputException", 400), client_error("NoSuchBucket", 404),
     client_error("EntityNotFoundException", 400), client_error("BucketAlreadyExists", 409)],
    ids=lambda e: e.response["Error"]["Code"],
)
def test_permanent(error: ClientError) -> None:
    assert not is_transient(error)
