"""The pipeline lock: one object in the bucket written with `If-None-Match: *`.

S3 answers 412 to a conditional put when the object exists, so exactly one writer wins (the way
Terraform 1.10's `use_lockfile` works). The object records who holds it and since when; a lock whose
process is gone can be broken explicitly by naming its id.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from .aws import AwsContext
from .errors import LockError
from .retry import error_code

LOCK_KEY = ".reconciler/lock.json"
INTERNAL_PREFIX = ".reconciler/"


@dataclass(frozen=True)
class LockInfo:
    id: str
    operation: str
    who: str
    host: str
    pid: int
    created_at: str  # ISO 8601, UTC

    def describe(self) -> str:
        return (
            f"lock {self.id} held by {self.who} on {self.host} (pid {self.pid})"
            f" for {self.operation!r} since {self.created_at}"
        )

    @property
    def is_stale(self) -> bool:
        """Only provable on the same host: the holder's process no longer exists."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def new_lock_info(operation: str) -> LockInfo:
    return LockInfo(
        id=uuid.uuid4().hex[:12],
        operation=operation,
        who=getpass.getuser(),
        host=socket.gethostname(),
        pid=os.getpid(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def read_lock(ctx: AwsContext, bucket: str) -> LockInfo | None:
    try:
        body = ctx.call("s3", "get_object", Bucket=bucket, Key=LOCK_KEY)["Body"].read()
    except ClientError as exc:
        if error_code(exc) in {"NoSuchKey", "404", "NoSuchBucket"}:
            return None
        raise
    try:
        return LockInfo(**json.loads(body))
    except (ValueError, TypeError):
        return LockInfo("unknown", "unknown", "unknown", "unknown", 0, "unknown")


def _try_put(ctx: AwsContext, bucket: str, info: LockInfo) -> bool:
    try:
        ctx.call(
            "s3", "put_object", Bucket=bucket, Key=LOCK_KEY, IfNoneMatch="*",
            Body=json.dumps(asdict(info)).encode(), ContentType="application/json",
        )  # fmt: skip
        return True
    except ClientError as exc:
        if error_code(exc) in {"PreconditionFailed", "412"}:
            return False
        raise


def acquire(
    ctx: AwsContext,
    bucket: str,
    operation: str,
    *,
    timeout: float = 0.0,
    on_wait: Callable[[LockInfo], None] | None = None,
    poll: float = 1.0,
) -> LockInfo:
    """Take the lock, waiting up to `timeout` seconds for the holder to release it."""
    info = new_lock_info(operation)
    deadline = time.monotonic() + timeout
    told = False
    while True:
        if _try_put(ctx, bucket, info):
            return info
        holder = read_lock(ctx, bucket)
        if holder is None:
            continue  # released between our put and our read: try again at once
        if holder.id == info.id:
            # Our own put succeeded but its answer was lost (dropped connection); the retry then met
            # our own lock and got 412. Without this check the apply locked itself out and left the lock.
            return info
        if time.monotonic() >= deadline:
            stale = " It looks stale: its process is gone." if holder.is_stale else ""
            raise LockError(
                f"the pipeline is locked: {holder.describe()}.{stale}",
                hint=f"wait for it to finish, pass --lock-timeout, or if you are sure it is dead: "
                f"reconcile lock break {holder.id}",
            )
        if on_wait and not told:
            on_wait(holder)
            told = True
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))


def release(ctx: AwsContext, bucket: str, info: LockInfo) -> None:
    """Delete the lock only if it is still ours (someone may have broken and retaken it)."""
    current = read_lock(ctx, bucket)
    if current is not None and current.id == info.id:
        try:
            ctx.call("s3", "delete_object", Bucket=bucket, Key=LOCK_KEY)
        except ClientError as exc:
            if error_code(exc) not in {"NoSuchBucket", "NoSuchKey"}:
                raise


def break_lock(ctx: AwsContext, bucket: str, lock_id: str) -> LockInfo:
    current = read_lock(ctx, bucket)
    if current is None:
        raise LockError(f"bucket {bucket!r} holds no lock")
    if current.id != lock_id:
        raise LockError(f"the lock is {current.id}, not {lock_id}: {current.describe()}")
    ctx.call("s3", "delete_object", Bucket=bucket, Key=LOCK_KEY)
    return current


@contextmanager
def held(ctx: AwsContext, bucket: str, operation: str, **kwargs: Any) -> Iterator[LockInfo]:
    info = acquire(ctx, bucket, operation, **kwargs)
    try:
        yield info
    finally:
        release(ctx, bucket, info)
