"""What the pipeline lock object records, and the lease arithmetic: pure data, no AWS call (aws/lock.py
writes, renews, takes over and releases it; docs/reliability.md, "The lock is a lease")."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

#: how long a lease lasts without renewal; the holder renews it every fifth of that
DEFAULT_LEASE_SECONDS = 300.0
LEASE_ENV = "RECONCILER_LOCK_LEASE_SECONDS"


def lease_seconds() -> float:
    """The lease duration new locks get: `RECONCILER_LOCK_LEASE_SECONDS`, else 300 s."""
    try:
        value = float(os.environ.get(LEASE_ENV, ""))
    except ValueError:
        return DEFAULT_LEASE_SECONDS
    return value if value > 0 else DEFAULT_LEASE_SECONDS


@dataclass(frozen=True)
class LockInfo:
    id: str
    operation: str
    who: str
    host: str
    pid: int
    created_at: str  # ISO 8601, UTC
    #: 0: no lease (written by a reconciler before leases): it never expires, only a dead pid frees it
    lease_seconds: float = 0.0
    renewed_at: str = ""  # the holder's clock, for people; expiry is judged on S3's clock
    #: counts renewals, so that every write has a new ETag (two within one second would not otherwise)
    renewal: int = 0

    def describe(self) -> str:
        return (
            f"lock {self.id} held by {self.who} on {self.host} (pid {self.pid})"
            f" for {self.operation!r} since {self.created_at}"
        )

    @property
    def process(self) -> Literal["dead", "alive", "unknown"]:
        """Whether the holder's process exists: provable only on the holder's own host."""
        if self.host != socket.gethostname() or self.pid <= 0:
            return "unknown"
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return "dead"
        except PermissionError:
            return "alive"
        with contextlib.suppress(OSError, IndexError):  # a killed process its parent has not reaped yet
            if Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return "dead"
        return "alive"

    @property
    def is_stale(self) -> bool:
        """Only provable on the same host: the holder's process no longer exists."""
        return self.process == "dead"


@dataclass(frozen=True)
class Observed:
    """The lock object as read: its holder, its ETag, and its age on S3's clock."""

    info: LockInfo
    etag: str
    age: float | None  # seconds since the lock was last written (taken or renewed); None: unknown

    @property
    def expired(self) -> bool:
        return self.info.lease_seconds > 0 and self.age is not None and self.age > self.info.lease_seconds

    @property
    def takeover_reason(self) -> str | None:
        """Why the next holder may take this lock without a person, or None."""
        if self.info.is_stale:
            return f"its process (pid {self.info.pid} on {self.info.host}) is gone"
        if self.expired:
            return f"its {self.info.lease_seconds:g}s lease expired {self.age - self.info.lease_seconds:.0f}s ago" \
                if self.age is not None else "its lease expired"  # fmt: skip
        return None

    def lease_text(self) -> str:
        if self.info.lease_seconds <= 0:
            return "it has no lease (an older reconciler wrote it): it never expires"
        if self.age is None:
            return f"lease {self.info.lease_seconds:g}s"
        left = self.info.lease_seconds - self.age
        if left < 0:
            return f"its {self.info.lease_seconds:g}s lease expired {-left:.0f}s ago"
        return f"its {self.info.lease_seconds:g}s lease was renewed {self.age:.0f}s ago and expires in {left:.0f}s"


def holder_name(uid: int | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Who takes the lock, for people: the login name as `getpass.getuser` finds it (LOGNAME, USER, LNAME,
    USERNAME, then the passwd entry of the uid), else "uid N". Containers run under any uid, usually one with
    no passwd entry (`docker run --user 1000:1000`, Kubernetes `runAsUser`), where getuser raises KeyError."""
    environ = os.environ if environ is None else environ
    for variable in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if environ.get(variable):
            return environ[variable]
    uid = os.getuid() if uid is None else uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def new_lock_info(operation: str) -> LockInfo:
    return LockInfo(
        id=uuid.uuid4().hex[:12],
        operation=operation,
        who=holder_name(),
        host=socket.gethostname(),
        pid=os.getpid(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        lease_seconds=lease_seconds(),
    )


def parse_lock(body: bytes) -> LockInfo:
    try:
        loaded = json.loads(body)
        return LockInfo(**{k: v for k, v in loaded.items() if k in LockInfo.__dataclass_fields__})
    except (ValueError, TypeError, AttributeError):
        return LockInfo("unknown", "unknown", "unknown", "unknown", 0, "unknown")
