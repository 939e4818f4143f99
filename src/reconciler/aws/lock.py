"""The pipeline lock: one object in the bucket written with `If-None-Match: *`.

S3 answers 412 to a conditional put when the object exists, so exactly one writer wins (the way
Terraform 1.10's `use_lockfile` works). The object records who holds it and since when.

The lock is a *lease* (docs/reliability.md, "The lock is a lease"): it records its duration, and the
holder renews it from a background thread with a conditional PUT on the ETag it last wrote (`If-Match`:
S3 answers 412 PreconditionFailed when the object's ETag differs, Amazon S3 User Guide, "How to prevent
object overwrites with conditional writes"). A lease not renewed for its duration is expired; its age is
measured on S3's clock alone (the response's `Date` minus the object's `LastModified`), so clocks of
different hosts never meet. An expired lease, or one whose holder is provably dead on this host (its pid
is gone), is taken over by the next holder with a conditional PUT on the ETag it saw, so of two
reconcilers taking over at once exactly one wins. A holder that lost its lease finds out at its next
`Held.check` (a renewal) and stops before writing. Release deletes the lock only with `If-Match` on our
ETag (S3 conditional deletes, Amazon S3 User Guide, "How to perform conditional deletes").

Beside it lives a serial (`lock.serial`), rewritten by every holder right after taking the lock and
before changing anything. An apply that read the serial before planning, saw no lock held, and finds
the same serial once it holds the lock knows that no other reconciler changed anything in between:
its plan still holds and need not be made twice (Terraform compares its state serial the same way).

For up to 15 minutes after versioning is first enabled on the bucket (our apply enables it just before the
first lock is taken), S3 may answer 404 for the lock we have just written (S3 API reference,
PutBucketVersioning: "While this change is propagating, you might encounter intermittent HTTP 404 NoSuchKey
errors for requests to objects created or updated after enabling versioning. We recommend that you wait for
15 minutes after enabling versioning before issuing write operations (PUT or DELETE) on objects in the
bucket."). A 404 on the lock is therefore believed only when a listing proves it: ListObjectsV2 does not
show the key (listings are strongly consistent, Amazon S3 User Guide, "Amazon S3 data consistency model").
While the listing still shows the ETag we last wrote, the renewal, the release or the read is tried again,
a bounded number of times (VISIBLE_404_DELAYS); a listing that shows another ETag is a lock that is not the
one we wrote (taken over, or our own renewal whose answer was lost), judged by reading it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from reconciler.aws import wait
from reconciler.aws.context import AwsContext
from reconciler.aws.lock_record import DEFAULT_LEASE_SECONDS as DEFAULT_LEASE_SECONDS
from reconciler.aws.lock_record import LEASE_ENV as LEASE_ENV
from reconciler.aws.lock_record import LockInfo as LockInfo
from reconciler.aws.lock_record import Observed as Observed
from reconciler.aws.lock_record import holder_name as holder_name
from reconciler.aws.lock_record import lease_seconds as lease_seconds
from reconciler.aws.lock_record import new_lock_info as new_lock_info
from reconciler.aws.lock_record import parse_lock as _parse
from reconciler.aws.retry import error_code, while_bucket_is_new
from reconciler.errors import AwsApiError, AwsError, LockError, NotFoundError, ReconcilerError
from reconciler.invocation import command
from reconciler.spec.reserved import LOCK_FAMILY
from reconciler.spec.reserved import LOCK_KEY as LOCK_KEY  # re-exported: the tests and tools import it from here
from reconciler.spec.reserved import SERIAL_KEY as SERIAL_KEY

# LOCK_KEY, SERIAL_KEY, INTERNAL_PREFIX: stated once in spec/reserved.py, which validation reads to keep
# uploads, job outputs and crawlers off them.
_LOCK_FAMILY = LOCK_FAMILY  # one listing shows both the lock and the serial
NO_SERIAL = "none"  # no holder ever wrote a serial in this bucket
#: how long a 404 for a lock object that S3 still lists is tried again: 7.7 s in all, bounded
VISIBLE_404_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)


def listed_etag(ctx: AwsContext, bucket: str, key: str) -> str | None:
    """`key`'s ETag as ListObjectsV2 shows it, or None when it is not listed (or there is no bucket). The
    first key of a listing under the prefix `key` is `key` itself when it exists."""
    try:
        listing = ctx.call_fresh("s3", "list_objects_v2", Bucket=bucket, Prefix=key, MaxKeys=1)
    except NotFoundError:
        return None
    return next((str(o.get("ETag", "")) for o in listing.get("Contents", []) if o.get("Key") == key), None)


def still_listed(exc: NotFoundError, bucket: str, key: str, doing: str) -> AwsApiError:
    """A 404 for an object S3 still lists, after every retry: an error that is not NotFoundError, so that no
    caller takes it for "gone" (a renewal counts it as a failed one: the lease runs until its duration)."""
    return AwsApiError(
        f"{doing}: S3 lists s3://{bucket}/{key} but answered 404 NoSuchKey for it "
        f"{len(VISIBLE_404_DELAYS) + 1} times (versioning was enabled on the bucket less than 15 minutes ago?)",
        service=exc.service, operation=exc.operation, code=exc.code, status=exc.status,
        aws_message=exc.aws_message, attempts=exc.attempts,
    )  # fmt: skip


def observe_lock(ctx: AwsContext, bucket: str) -> Observed | None:
    """The lock with its ETag and its age on S3's clock (the answer's `Date` minus `LastModified`); None only
    when a listing proves there is none (a 404 alone may be versioning's window: see the module's notes)."""
    delays = list(VISIBLE_404_DELAYS)
    while True:
        try:
            answer = ctx.call_fresh("s3", "get_object", Bucket=bucket, Key=LOCK_KEY)
            break
        except NotFoundError as exc:
            if error_code(exc) == "NoSuchBucket" or listed_etag(ctx, bucket, LOCK_KEY) is None:
                return None
            if not delays:
                raise still_listed(exc, bucket, LOCK_KEY, "reading the pipeline lock") from exc
            time.sleep(delays.pop(0))
    info = _parse(answer["Body"].read())
    age: float | None = None
    with contextlib.suppress(KeyError, TypeError, ValueError):
        server_now = parsedate_to_datetime(answer["ResponseMetadata"]["HTTPHeaders"]["date"])
        age = max(0.0, (server_now - answer["LastModified"]).total_seconds())
    return Observed(info, str(answer.get("ETag", "")), age)


def read_lock(ctx: AwsContext, bucket: str) -> LockInfo | None:
    seen = observe_lock(ctx, bucket)
    return None if seen is None else seen.info


def _is_precondition_failed(exc: AwsApiError) -> bool:
    return error_code(exc) in {"PreconditionFailed", "412"}


def _write(ctx: AwsContext, bucket: str, info: LockInfo, **condition: str) -> str:
    """One conditional PUT of the lock (`IfNoneMatch="*"` or `IfMatch=etag`); returns the new ETag."""
    answer = ctx.call(
        "s3", "put_object", Bucket=bucket, Key=LOCK_KEY, Body=json.dumps(asdict(info)).encode(),
        ContentType="application/json", **condition,
    )  # fmt: skip
    return str(answer.get("ETag", ""))


def _try_put(ctx: AwsContext, bucket: str, info: LockInfo, if_match: str | None = None) -> str | None:
    """Create the lock (or, with `if_match`, replace exactly the lock we saw): its ETag, or None on 412."""
    condition = {"IfMatch": if_match} if if_match else {"IfNoneMatch": "*"}
    try:
        return _write(ctx, bucket, info, **condition)
    except NotFoundError as exc:
        if if_match:  # the lock we meant to replace is gone: try again from the start
            return None
        # no bucket: nothing was applied yet (or `run --skip-apply` before any apply)
        raise missing_bucket(exc, bucket, "taking the pipeline lock") from exc
    except AwsApiError as exc:
        if _is_precondition_failed(exc):
            return None
        raise exc.doing(f"taking the pipeline lock (s3://{bucket}/{LOCK_KEY})") from exc


def _say_takeover(holder: LockInfo, reason: str) -> None:
    print(f"Took over the pipeline lock: {holder.describe()}: {reason}.", file=sys.stderr, flush=True)


def acquire(
    ctx: AwsContext,
    bucket: str,
    operation: str,
    *,
    timeout: float = 0.0,
    on_wait: Callable[[LockInfo], None] | None = None,
    on_takeover: Callable[[LockInfo, str], None] | None = None,
    poll: float = 1.0,
    fresh_bucket: bool = False,
) -> tuple[LockInfo, str]:
    """Take the lock, waiting up to `timeout` seconds for the holder to release it or for its lease to
    expire; a lease that is expired, or whose holder is provably dead here, is taken over at once (with
    `on_takeover(holder, reason)`, by default a line on stderr). Returns our lock and its ETag.

    `fresh_bucket`: the bucket was created a moment ago (this process just called CreateBucket), so a
    NoSuchBucket answer to the lock's
    PUT is the new-bucket window (aws/retry.py while_bucket_is_new), retried bounded; otherwise it means
    nothing was applied yet."""
    info = new_lock_info(operation)

    def attempt() -> tuple[str | Observed, str]:
        """Our lock's ETag once it is ours ("taken"), else the lock that someone else holds ("held")."""
        while True:
            # If-None-Match makes a repeat safe: a put that did land answers 412 and is recognised below.
            put = functools.partial(_try_put, ctx, bucket, info)
            etag = while_bucket_is_new(put) if fresh_bucket else put()
            if etag is not None:
                return etag, "taken"
            seen = observe_lock(ctx, bucket)
            if seen is None:
                continue  # released between our put and our read: try again at once
            if seen.info.id == info.id:
                # Our own put succeeded but its answer was lost (dropped connection); the retry then met
                # our own lock and got 412. Without this check the apply locked itself out and left the lock.
                return seen.etag, "taken"
            reason = seen.takeover_reason
            if reason is not None:
                # Replace exactly the lock we judged: if it was renewed or taken meanwhile, S3 answers 412.
                etag = _try_put(ctx, bucket, info, if_match=seen.etag)
                if etag is not None:
                    (on_takeover or _say_takeover)(seen.info, reason)
                    return etag, "taken"
                continue
            return seen, "held"

    told = False

    def waiting(seen: str | Observed, _state: str) -> None:  # on_wait once, when the wait begins
        nonlocal told
        if on_wait and not told and isinstance(seen, Observed):
            told = True
            on_wait(seen.info)

    try:
        etag = wait.until(attempt, pending={"held"}, target={"taken"}, timeout=timeout, poll=wait.every(poll),
                          on_pending=waiting)  # fmt: skip
    except wait.WaitTimeout as timed_out:
        seen = timed_out.last
        raise LockError(
            f"the pipeline is locked: {seen.info.describe()}; {seen.lease_text()}",
            hint="wait for it to finish, pass --lock-timeout S (an expired lease is taken over without "
            f"asking), or if you are sure it is dead: {command('lock', 'break', seen.info.id)}",
        ) from None
    assert isinstance(etag, str)
    return info, etag


class Lease:
    """Keeps our lock: renews it every fifth of its duration from a daemon thread, and on `check`.

    Every renewal is a PUT with `If-Match` on the ETag we last wrote, so it succeeds only while the lock
    is still the one we wrote. A 412 (or 404) means someone took it over (or broke it): the lease is lost
    and every later `check` raises LockError, so the holder stops before its next write. A renewal that
    keeps failing for other reasons (no network) loses the lease once a full duration passed without one:
    after that another reconciler may rightly have taken it over."""

    def __init__(self, ctx: AwsContext, bucket: str, info: LockInfo, etag: str) -> None:
        self.ctx, self.bucket, self.info, self.etag = ctx, bucket, info, etag
        self.seconds = info.lease_seconds or DEFAULT_LEASE_SECONDS
        self.lost: str | None = None
        self.renewals = 0
        self._renewed = time.monotonic()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"lock-lease-{info.id}", daemon=True)

    def start(self) -> Lease:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def renew(self) -> None:
        """Extend the lease now, or raise LockError when it is no longer ours."""
        with self._guard:
            if self.lost is not None:
                raise self._lost_error()
            now = datetime.now(UTC).isoformat(timespec="seconds")
            renewed = replace(self.info, renewed_at=now, renewal=self.renewals + 1)
            try:
                self.etag = _renew_write(self.ctx, self.bucket, renewed, self.etag)
            except (NotFoundError, AwsApiError) as exc:
                if not isinstance(exc, NotFoundError) and not _is_precondition_failed(exc):
                    self._lose_if_overdue(exc)
                    raise
                try:
                    seen = observe_lock(self.ctx, self.bucket)
                except AwsApiError as unreadable:
                    # Not the lock we last wrote (the listing shows another ETag), and S3 will not show it yet:
                    # someone else's until proven ours. Giving the lease up is the safe side.
                    self.lost = f"it was replaced by a lock that could not be read ({unreadable.message})"
                    raise self._lost_error() from exc
                if seen is not None and seen.info.id == self.info.id:
                    self.etag = seen.etag  # our own renewal, whose answer was lost: still ours
                else:
                    self.lost = (
                        f"it was taken over: {seen.info.describe()}" if seen is not None
                        else "it was removed (`lock break`?)"
                    )  # fmt: skip
                    raise self._lost_error() from exc
            except AwsError as exc:
                self._lose_if_overdue(exc)
                raise
            self._renewed = time.monotonic()
            self.renewals += 1

    def _lose_if_overdue(self, exc: AwsError) -> None:
        if time.monotonic() - self._renewed > self.seconds:
            self.lost = f"it could not be renewed for {self.seconds:g}s ({exc.message})"

    def _lost_error(self) -> LockError:
        return LockError(
            f"lost the pipeline lock {self.info.id}: {self.lost}",
            hint=f"another reconciler may hold it now: {command('lock', 'status')}",
        )

    def check(self, before: str) -> None:
        """Called before each of a long holder's writes: renew, or stop with LockError if it is lost."""
        try:
            self.renew()
        except LockError as exc:
            exc.message = f"{exc.message}; stopped before {before}, which was not done"
            exc.args = (exc.message,)
            raise
        except AwsError:
            if self.lost is not None:
                raise self._lost_error() from None
            # A renewal that failed for a while: the lease still runs (it was renewed less than its
            # duration ago), so the write may go ahead; the thread keeps trying.

    def _keep(self) -> None:
        interval = max(0.2, self.seconds / 5)
        while not self._stop.wait(interval):
            try:
                self.renew()
            except LockError:
                return
            except AwsError:
                if self.lost is not None:
                    return


def _renew_write(ctx: AwsContext, bucket: str, info: LockInfo, etag: str) -> str:
    """The renewal's PUT with `If-Match` on the ETag we last wrote; its new ETag. A 404 while a listing still
    shows exactly that ETag is versioning's window (the module's notes): tried again, bounded. A 404 once the
    listing shows no lock or another one is raised as it is: the caller looks at what is there."""
    delays = list(VISIBLE_404_DELAYS)
    while True:
        try:
            return _write(ctx, bucket, info, IfMatch=etag)
        except NotFoundError as exc:
            if error_code(exc) == "NoSuchBucket" or listed_etag(ctx, bucket, LOCK_KEY) != etag:
                raise
            if not delays:
                raise still_listed(exc, bucket, LOCK_KEY, "renewing the pipeline lock") from exc
            time.sleep(delays.pop(0))


def _delete_when_visible(ctx: AwsContext, bucket: str, etag: str, first: NotFoundError) -> bool:
    """After a 404 on our conditional delete: False once the lock is gone (a listing proves it: deleted, or
    broken before); True when there is a lock now that is not the one we last wrote (412, or the listing shows
    another ETag: the caller looks at it). While the listing still shows our ETag, the 404 is versioning's
    window (the module's notes): the delete is tried again, bounded; after the last try the error says so."""
    delays = list(VISIBLE_404_DELAYS)
    failure = first
    while True:
        listed = listed_etag(ctx, bucket, LOCK_KEY)
        if listed is None:
            return False
        if listed != etag:
            return True
        if not delays:
            raise still_listed(failure, bucket, LOCK_KEY, "deleting the pipeline lock")
        time.sleep(delays.pop(0))
        try:
            ctx.call("s3", "delete_object", Bucket=bucket, Key=LOCK_KEY, IfMatch=etag)
            return False
        except NotFoundError as exc:
            failure = exc
        except AwsApiError as exc:
            if _is_precondition_failed(exc):
                return True
            raise


def release(ctx: AwsContext, bucket: str, info: LockInfo, etag: str | None = None) -> None:
    """Delete the lock only if it is still ours (someone may have taken it over): with `etag`, a
    conditional delete on it. When that fails the lock stays behind: the error says so and how to
    remove it once the cause is fixed."""
    try:
        if etag is not None:
            try:
                ctx.call("s3", "delete_object", Bucket=bucket, Key=LOCK_KEY, IfMatch=etag)
                return
            except NotFoundError as exc:
                # Gone already (broken), or versioning's window (the module's notes): a listing decides.
                if error_code(exc) == "NoSuchBucket" or not _delete_when_visible(ctx, bucket, etag, exc):
                    return
            except AwsApiError as exc:
                if not _is_precondition_failed(exc):
                    raise
            # 412: not the lock we last wrote. Ours still (a renewal whose answer was lost), or taken over.
        current = observe_lock(ctx, bucket)
        if current is not None and current.info.id == info.id:
            with contextlib.suppress(NotFoundError):
                ctx.call("s3", "delete_object", Bucket=bucket, Key=LOCK_KEY, IfMatch=current.etag)
    except AwsError as exc:
        doing = f"releasing the pipeline lock {info.id} (it is left in s3://{bucket}/{LOCK_KEY})"
        hint = f"{exc.hint + '; ' if exc.hint else ''}{left_lock_note(info)}"
        error: AwsError = exc.doing(doing) if isinstance(exc, AwsApiError) else type(exc)(f"{doing}: {exc.message}")
        error.hint = hint
        raise error from exc


def left_lock_note(info: LockInfo) -> str:
    """What becomes of a lock a failed release left behind: no person is needed (acquire takes it over)."""
    if info.lease_seconds <= 0:
        return f"remove it with: {command('lock', 'break', info.id)}"
    return (
        "nobody needs to remove it: the next apply or run takes it over at once once this process has ended "
        f"(on this host), or when its {info.lease_seconds:g}s lease runs out (elsewhere); "
        f"to remove it sooner: {command('lock', 'break', info.id)}"
    )


def missing_bucket(exc: NotFoundError, bucket: str, doing: str) -> NotFoundError:
    """The pipeline's bucket does not exist: say so, and how to create it (S3 answers NoSuchBucket)."""
    return NotFoundError(
        f"{doing}: bucket {bucket!r} does not exist: nothing was applied yet ({exc.message})",
        service=exc.service, operation=exc.operation, code=exc.code, status=exc.status,
        aws_message=exc.aws_message, attempts=exc.attempts,
        hint=f"create the pipeline first: {command('apply')}",
    )  # fmt: skip


def break_lock(ctx: AwsContext, bucket: str, lock_id: str, *, force: bool = False) -> LockInfo:
    """Remove the lock `lock_id`: never a holder provably alive on this host unless `force`."""
    seen = observe_lock(ctx, bucket)
    if seen is None:
        raise LockError(f"bucket {bucket!r} holds no lock")
    current = seen.info
    if current.id != lock_id:
        raise LockError(f"the lock is {current.id}, not {lock_id}: {current.describe()}")
    # Alive and not this very process (a library user, or a test, breaking what it left itself).
    if current.process == "alive" and current.pid != os.getpid() and not force:
        raise LockError(
            f"refusing to break {current.describe()}: its process is alive on this host",
            hint=f"let it finish or stop it; to break it anyway: {command('lock', 'break', '--force', lock_id)}",
        )
    try:  # exactly the lock we looked at: a renewal or a takeover in between makes S3 answer 412
        ctx.call("s3", "delete_object", Bucket=bucket, Key=LOCK_KEY, IfMatch=seen.etag)
    except AwsApiError as exc:
        if not _is_precondition_failed(exc):
            raise
        raise LockError(
            f"lock {lock_id} changed while breaking it (renewed or taken over); nothing was removed",
            hint=f"look again: {command('lock', 'status')}",
        ) from exc
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
    """The serial's ETag from a listing, as observe_serial reads it (a HeadObject may answer 404 for a serial
    written a moment ago, in versioning's window: the module's notes)."""
    return listed_etag(ctx, bucket, SERIAL_KEY) or NO_SERIAL


def _bump_serial(ctx: AwsContext, bucket: str, info: LockInfo) -> None:
    body = {"lock_id": info.id, "operation": info.operation, "serial": uuid.uuid4().hex, "at": info.created_at}
    ctx.call("s3", "put_object", Bucket=bucket, Key=SERIAL_KEY, Body=json.dumps(body).encode(),
             ContentType="application/json")  # fmt: skip


@dataclass(frozen=True)
class Held:
    info: LockInfo
    previous_serial: str  # the serial's ETag when we took the lock
    lease: Lease | None = None

    def unchanged_since(self, observed: str | None) -> bool:
        """True when a plan that observed `observed` cannot have been overtaken by another holder."""
        return observed is not None and observed == self.previous_serial

    def check(self, before: str) -> None:
        """Before a write of a long holder (`run`): renew the lease, or raise LockError if it was lost."""
        if self.lease is not None:
            self.lease.check(before)


@contextmanager
def held(ctx: AwsContext, bucket: str, operation: str, **kwargs: Any) -> Iterator[Held]:
    info, etag = acquire(ctx, bucket, operation, **kwargs)
    lease = Lease(ctx, bucket, info, etag)
    try:
        previous = _current_serial(ctx, bucket)
        _bump_serial(ctx, bucket, info)  # before any change: a plan made from now on is seen as overtaken
        lease.start()
        yield Held(info, previous, lease)
    except BaseException as failure:
        lease.stop()
        # The work's own error (or interrupt) is the one to report; a release that fails too only adds
        # to its hint how to remove the lock left behind (the next holder would find it stale anyway).
        try:
            release(ctx, bucket, info, lease.etag)
        except ReconcilerError as release_error:
            if isinstance(failure, ReconcilerError):
                also = (failure.hint, f"also {release_error.message}", release_error.hint)
                failure.hint = "; ".join(h for h in also if h)
        raise
    lease.stop()
    release(ctx, bucket, info, lease.etag)
