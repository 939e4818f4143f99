"""The bounded NoSuchBucket retry after our own CreateBucket (aws/retry.py)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from reconciler.aws.retry import while_bucket_is_new


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutBucketTagging")


def test_no_such_bucket_is_retried_until_the_bucket_is_visible() -> None:
    answers: list[BaseException | None] = [_error("NoSuchBucket"), _error("NoSuchBucket"), None]
    slept: list[float] = []

    def call() -> str:
        answer = answers.pop(0)
        if answer is not None:
            raise answer
        return "ok"

    assert while_bucket_is_new(call, sleep=slept.append) == "ok"
    assert slept == [0.2, 0.4]


def test_the_retry_is_bounded_and_only_for_no_such_bucket() -> None:
    def missing() -> None:
        raise _error("NoSuchBucket")

    with pytest.raises(ClientError):
        while_bucket_is_new(missing, seconds=0.0, sleep=lambda _: None)
    calls: list[int] = []

    def denied() -> None:
        calls.append(1)
        raise _error("AccessDenied")

    with pytest.raises(ClientError):
        while_bucket_is_new(denied, sleep=lambda _: None)
    assert calls == [1]
