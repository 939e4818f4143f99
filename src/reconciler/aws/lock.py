"""The pipeline lock: one object in the bucket written with `If-None-Match: *`.

S3 answers 412 to a conditional put when the object exists, so exactly one writer wins (the way
Terraform 1.10's `use_lockfile` works). The object records who holds it and since when; a lock whose
process is gone can be broken explicitly by naming its id.

Beside it lives a serial (`lock.serial`), rewritten by every holder right after taking the lock and
before changing anything. An apply that read the serial before planning, saw no lock held, and finds
the same serial once it holds the lock knows that no other reconciler changed anything in between:
its plan still holds and need not be made twice (Terraform compares its state serial the same way).
"""

from __future__ import annotations

import contextlib
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

from reconciler.aws.context import AwsContext
from reconciler.aws.retry import error_code
from reconciler.errors import AwsApiError, AwsError, LockError, NotFoundError, ReconcilerError
from reconciler.invocation import command

LOCK_KEY = ".reconciler/lock.json"
SERIAL_KEY = ".reconciler/lock.serial"
_LOCK_FAMILY = ".reconciler/lock"  # one listing shows both the lock and the serial
NO_SERIAL = "none"  # no holder ever wrote a serial in this bucket
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
    except NotFoundError:
        return None
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
    except NotFoundError as exc:  # no bucket: nothing was applied yet (or `run --skip-apply` before any apply)
        raise missing_bucket(exc, bucket, "taking the pipeline lock") from exc
    except AwsApiError as exc:
        if error_code(exc) in {"PreconditionFailed", "412"}:
            return False
        raise exc.doing(f"taking the pipeline lock (s3://{bucket}/{LOCK_KEY})") from exc
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
                f"{command('lock', 'break', holder.id)}",
            )
        if on_wait and not told:
            on_wait(holder)
            told = True
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))


def release(ctx: AwsContext, bucket: str, info: LockInfo) -> None:
    """Delete the lock only if it is still ours (someone may have broken and retaken it). When that fails
    the lock stays behind: the error says so and how to remove it once the cause is fixed."""
    try:
        current = read_lock(ctx, bucket)
        if current is not None and current.id == info.id:
            with contextlib.suppress(NotFoundError):  # gone already: released is released
                ctx.call("s3", "delete_object", Bucket=bucket, Key=LOCK_KEY)
    except AwsError as exc:
        doing = f"releasing the pipeline lock {info.id} (it is left in s3://{bucket}/{LOCK_KEY})"
        hint = f"{exc.hint + '; ' if exc.hint else ''}once fixed, remove it with: {command('lock', 'break', info.id)}"
        error: AwsError = exc.doing(doing) if isinstance(exc, AwsApiError) else type(exc)(f"{doing}: {exc.message}")
        error.hint = hint
        raise error from exc


def missing_bucket(exc: NotFoundError, bucket: str, doing: str) -> NotFoundError:
    """The pipeline's bucket does not exist: say so, and how to create it (S3 answers NoSuchBucket)."""
    return NotFoundError(
        f"{doing}: bucket {bucket!r} does not exist: nothing was applied yet ({exc.message})",
        service=exc.service, operation=exc.operation, code=exc.code, status=exc.status,
        aws_message=exc.aws_message, attempts=exc.attempts,
        hint=f"create the pipeline first: {command('apply')}",
    )  # fmt: skip


def break_lock(ctx: AwsContext, bucket: str, lock_id: str) -> LockInfo:
    current = read_lock(ctx, bucket)
    if current is None:
        raise LockError(f"bucket {bucket!r} holds no lock")
    if current.id != lock_id:
        raise LockError(f"the lock is {current.id}, not {lock_id}: {current.describe()}")
    ctx.call("s3", "delete_object", Bucket=bucket, Key=LOCK_KEY)
    return current


def observe_serial(ctx: AwsContext, bucket: str) -> str | None:
    """Read before planning: the serial's ETag, or None when a plan made now may be overtaken (a lock
    is held at this moment, or the bucket does not exist yet): such a plan is made again under the lock."""
    try:
        listing = ctx.call("s3", "list_objects_v2", Bucket=bucket, Prefix=_LOCK_FAMILY)
    except NotFoundError:  # no bucket yet
        return None
    keys = {str(o["Key"]): str(o.get("ETag", "")) for o in listing.get("Contents", [])}
    if LOCK_KEY in keys:
        return None
    return keys.get(SERIAL_KEY, NO_SERIAL)


def _current_serial(ctx: AwsContext, bucket: str) -> str:
    try:
        return str(ctx.call("s3", "head_object", Bucket=bucket, Key=SERIAL_KEY).get("ETag", ""))
    except NotFoundError:
        return NO_SERIAL


def _bump_serial(ctx: AwsContext, bucket: str, info: LockInfo) -> None:
    body = {"lock_id": info.id, "operation": info.operation, "serial": uuid.uuid4().hex, "at": info.created_at}
    ctx.call("s3", "put_object", Bucket=bucket, Key=SERIAL_KEY, Body=json.dumps(body).encode(),
             ContentType="application/json")  # fmt: skip


@dataclass(frozen=True)
class Held:
    info: LockInfo
    previous_serial: str  # the serial's ETag when we took the lock

    def unchanged_since(self, observed: str | None) -> bool:
        """True when a plan that observed `observed` cannot have been overtaken by another holder."""
        return observed is not None and observed == self.previous_serial


@contextmanager
def held(ctx: AwsContext, bucket: str, operation: str, **kwargs: Any) -> Iterator[Held]:
    info = acquire(ctx, bucket, operation, **kwargs)
    try:
        previous = _current_serial(ctx, bucket)
        _bump_serial(ctx, bucket, info)  # before any change: a plan made from now on is seen as overtaken
        yield Held(info, previous)
    except BaseException as failure:
        # The work's own error (or interrupt) is the one to report; a release that fails too only adds
        # to its hint how to remove the lock left behind (the next holder would find it stale anyway).
        try:
            release(ctx, bucket, info)
        except ReconcilerError as release_error:
            if isinstance(failure, ReconcilerError):
                also = (failure.hint, f"also {release_error.message}", release_error.hint)
                failure.hint = "; ".join(h for h in also if h)
        raise
    release(ctx, bucket, info)
