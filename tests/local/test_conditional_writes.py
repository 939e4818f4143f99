"""S3 conditional writes on the local endpoint behave as on S3 (reconciler_local/s3_fixes.py, fix 5):
moto 5.2 answers If-Match / If-None-Match on PutObject (412 PreconditionFailed, NoSuchKey for If-Match on
a missing key) and If-Match on DeleteObject; of several conditional writes of one key at the same
moment exactly one succeeds, which the pipeline lock's lease relies on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

BUCKET = "conditional-writes"
KEY = "lock.json"


def code(call: Any) -> str:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "ok"


def test_if_match_and_if_none_match_answer_as_s3(aws: Any) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
    assert code(lambda: s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"1", IfMatch='"x"')) == "NoSuchKey"
    etag = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"1", IfNoneMatch="*")["ETag"]
    assert code(lambda: s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"2", IfNoneMatch="*")) == "PreconditionFailed"
    assert code(lambda: s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"2", IfMatch='"other"')) == "PreconditionFailed"
    renewed = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"2", IfMatch=etag)["ETag"]
    assert code(lambda: s3.delete_object(Bucket=BUCKET, Key=KEY, IfMatch=etag)) == "PreconditionFailed"
    assert code(lambda: s3.delete_object(Bucket=BUCKET, Key=KEY, IfMatch=renewed)) == "ok"
    assert not s3.list_objects_v2(Bucket=BUCKET).get("Contents")


@pytest.mark.parametrize("condition", ["IfNoneMatch", "IfMatch"])
def test_of_simultaneous_conditional_writes_exactly_one_succeeds(aws: Any, condition: str) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
    value = "*"
    if condition == "IfMatch":
        value = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"first")["ETag"]
    clients = [aws.client("s3") for _ in range(12)]

    def write(i: int) -> str:
        return code(lambda: clients[i].put_object(Bucket=BUCKET, Key=KEY, Body=f"writer {i}".encode(),
                                                  **{condition: value}))  # fmt: skip

    for _ in range(5):  # a race: try it several times
        if condition == "IfNoneMatch":
            s3.delete_object(Bucket=BUCKET, Key=KEY)
        else:
            value = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"first")["ETag"]
        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(write, range(12)))
        assert results.count("ok") == 1, results
        assert set(results) <= {"ok", "PreconditionFailed", "ConditionalRequestConflict"}, results
