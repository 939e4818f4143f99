"""Reads of objects that may sit in versioning's 404 window, believed missing only when a listing proves it.

For up to 15 minutes after versioning is first enabled, S3 may answer 404 NoSuchKey for objects written after
it (S3 API reference, PutBucketVersioning, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html:
"While this change is propagating, you might encounter intermittent HTTP 404 NoSuchKey errors for requests to
objects created or updated after enabling versioning"). ListObjectsV2 is strongly consistent (Amazon S3 User
Guide, "Amazon S3 data consistency model"), so a 404 is believed only when the listing does not show the key;
while it does, the read is tried again, bounded (VISIBLE_404_DELAYS, the lock's own). A key that truly does not
exist costs one listing and no wait.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from reconciler.aws.context import AwsContext
from reconciler.aws.lock import VISIBLE_404_DELAYS, listed_etag, still_listed
from reconciler.aws.retry import error_code
from reconciler.errors import NotFoundError


def read_listed(
    ctx: AwsContext, bucket: str, key: str, *, operation: Literal["get_object", "head_object"] = "get_object",
    doing: str = "reading",
) -> dict[str, Any] | None:  # fmt: skip
    """GetObject (or HeadObject) of `key`; None only when S3 answers 404 and a listing does not show the key (or
    the bucket is gone). While the listing shows it, the read is tried again, bounded; after the last try the
    error says so (an AwsApiError, never NotFoundError: no caller takes it for "missing")."""
    delays, call = list(VISIBLE_404_DELAYS), ctx.call
    while True:
        try:
            answer: dict[str, Any] = call("s3", operation, Bucket=bucket, Key=key)
            return answer
        except NotFoundError as exc:
            if error_code(exc) == "NoSuchBucket" or listed_etag(ctx, bucket, key) is None:
                return None
            if not delays:
                raise still_listed(exc, bucket, key, f"{doing} s3://{bucket}/{key}") from exc
            time.sleep(delays.pop(0))
            call = ctx.call_fresh  # a shared read (AwsContext.shared_reads) would repeat the 404
