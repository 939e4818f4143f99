"""The lock is a lease (docs/reliability.md, "The lock is a lease"): taken over without a person once
it expires, or at once when its holder is provably dead on this host; never while it is renewed; `lock
break` refuses a holder alive on this host unless --force; a holder that lost its lease stops."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.aws import lock
from reconciler.aws.context import CRASH_AFTER_ENV, AwsContext
from reconciler.errors import LockError
from reconciler_local.lifecycle import call_admin

from .conftest import BUCKET, JOB, Project

LEASE = 2.0


def lock_body(aws: Any) -> dict[str, Any] | None:
    s3 = aws.client("s3")
    if not s3.list_objects_v2(Bucket=BUCKET, Prefix=lock.LOCK_KEY).get("Contents"):
        return None
    body: dict[str, Any] = json.loads(s3.get_object(Bucket=BUCKET, Key=lock.LOCK_KEY)["Body"].read())
    return body


def put_lock(aws: Any, **fields: Any) -> dict[str, Any]:
    holder = {"id": "c1runner0007", "operation": "run", "who": "runner", "host": "ci-runner-7", "pid": 4242,
              "created_at": "2026-11-28T03:00:00+00:00", "lease_seconds": LEASE, **fields}  # fmt: skip
    aws.client("s3").put_object(Bucket=BUCKET, Key=lock.LOCK_KEY, Body=json.dumps(holder).encode())
    return holder


def workers(aws: Any) -> int:
    return int(aws.client("glue").get_job(JobName=JOB)["Job"]["NumberOfWorkers"])


def test_a_lease_held_on_another_host_is_taken_over_only_once_it_expires(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    put_lock(aws)
    written = time.monotonic()
    project.edit("number_of_workers: 2", "number_of_workers: 3")
    blocked = project.cli("apply", "--auto-approve")
    output = " ".join(blocked.output.split())
    assert blocked.exit_code == 3, blocked.output  # EXIT_LOCKED: another host, lease still running
    assert "runner on ci-runner-7 (pid 4242)" in output and "lease was renewed" in output and "expires in" in output
    assert workers(aws) == 2

    taken = project.cli("apply", "--auto-approve", "--lock-timeout", "30")
    took = time.monotonic() - written
    output = " ".join(taken.output.split())
    assert taken.exit_code == 0, taken.output
    assert "Took over the pipeline lock: lock c1runner0007" in output and "lease expired" in output
    assert workers(aws) == 3 and lock_body(aws) is None
    print(f"\nlease {LEASE:g}s on another host: taken over {took:.1f}s after its last renewal")
    assert LEASE <= took < LEASE + 10  # S3's clock counts whole seconds


def test_a_lease_without_a_lease_duration_is_never_taken_over_from_another_host(project: Project, aws: Any) -> None:
    """A lock written before leases existed records no duration: only its own host can free it."""
    assert project.cli("apply", "--auto-approve").exit_code == 0
    put_lock(aws, lease_seconds=0)
    time.sleep(1.1)
    project.edit("number_of_workers: 2", "number_of_workers: 3")  # an apply with nothing to do takes no lock
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 3 and "it has no lease" in " ".join(result.output.split())


def crash_apply(project: Project, k: int) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint,
               "--no-color", "apply", "--auto-approve"]  # fmt: skip
    env = {**os.environ, CRASH_AFTER_ENV: str(k), "NO_COLOR": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_apply_killed_holding_the_lock_is_taken_over_at_once_by_the_next_apply(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("number_of_workers: 2", "number_of_workers: 3")
    killed = crash_apply(project, 2)  # 1: the lock, 2: the lock serial; killed before changing the job
    assert killed.returncode == -9, killed.stderr
    left = lock_body(aws)
    assert left is not None and left["host"] == socket.gethostname()
    started = time.monotonic()
    again = project.cli("apply", "--auto-approve")
    took = time.monotonic() - started
    output = " ".join(again.output.split())
    assert again.exit_code == 0, again.output
    assert f"Took over the pipeline lock: lock {left['id']}" in output and f"(pid {left['pid']} on" in output
    assert "is gone" in output
    assert workers(aws) == 3 and lock_body(aws) is None
    print(f"\ndead holder on this host: the next apply took over and finished in {took:.1f}s")


def test_lock_break_refuses_a_holder_alive_on_this_host_unless_forced(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = put_lock(aws, host=socket.gethostname(), pid=alive.pid, lease_seconds=300)
        status = " ".join(project.cli("lock", "status").output.split())
        refused = project.cli("lock", "break", holder["id"])
    finally:
        alive.kill()
        alive.wait()
    assert "lease was renewed" in status and "stale" not in status
    assert refused.exit_code == 3 and "its process is alive on this host" in " ".join(refused.output.split())
    assert f"lock break --force {holder['id']}" in " ".join(refused.output.split())
    assert lock_body(aws) is not None
    forced = project.cli("lock", "break", "--force", holder["id"])
    assert forced.exit_code == 0, forced.output
    assert lock_body(aws) is None


def test_a_holder_renews_its_lease_and_stops_once_it_lost_it(project: Project, aws: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    assert project.cli("apply", "--auto-approve").exit_code == 0
    monkeypatch.setenv(lock.LEASE_ENV, "1")
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    with lock.held(ctx, BUCKET, "run") as held:
        first = aws.client("s3").head_object(Bucket=BUCKET, Key=lock.LOCK_KEY)["ETag"]
        time.sleep(0.7)  # renewed every fifth of the lease (at least every 0.2 s)
        assert held.lease is not None and held.lease.renewals >= 1
        assert aws.client("s3").head_object(Bucket=BUCKET, Key=lock.LOCK_KEY)["ETag"] != first
        held.check("the crawl")  # still ours: renews
        theirs = put_lock(aws, id="0the0taker00", lease_seconds=300)  # someone took it over
        with pytest.raises(LockError) as lost:
            held.check("publishing")
        assert "taken over" in lost.value.message and "stopped before publishing" in lost.value.message
    assert lock_body(aws) == theirs  # releasing never removes somebody else's lock


# S3 API reference, PutBucketVersioning: "While this change is propagating, you might encounter intermittent HTTP
# 404 NoSuchKey errors for requests to objects created or updated after enabling versioning. We recommend that you
# wait for 15 minutes after enabling versioning before issuing write operations (PUT or DELETE) on objects in the
# bucket." The endpoint models it with `versioning_propagation_seconds` (src/reconciler_local/s3_fixes.py).
VERSIONING_WINDOW = 600.0


def listed_lock(aws: Any) -> str | None:
    """The lock's ETag as ListObjectsV2 shows it (listings are not affected by the window), or None."""
    listed = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=lock.LOCK_KEY).get("Contents", [])
    return next((str(o["ETag"]) for o in listed if o["Key"] == lock.LOCK_KEY), None)


def test_a_run_straight_after_the_bucket_was_created_keeps_its_lease_in_versionings_404_window(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_admin(aws.url, "settings", {"versioning_propagation_seconds": VERSIONING_WINDOW})
    monkeypatch.setenv(lock.LEASE_ENV, "1")  # renewed every 0.2 s: many renewals inside the window
    (project.root / "glue_scripts" / "car_brands_job.py").write_text(
        "import time\ntime.sleep(3)\nraise ValueError('boom: the job broke')\n"
    )
    result = project.cli("run", "--timeout", "300")  # creates the bucket and enables versioning first
    output = " ".join(result.output.split())
    # The job's own failure, not a lease given up because S3 answered 404 for the lock it had just written.
    assert "lost the pipeline lock" not in output, output
    assert result.exit_code == 1 and "boom: the job broke" in output, output
    assert listed_lock(aws) is None  # released, although its conditional delete met the 404s too


def test_a_lock_removed_or_taken_over_in_versionings_404_window_is_still_detected(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    call_admin(aws.url, "settings", {"versioning_propagation_seconds": VERSIONING_WINDOW})
    assert project.cli("apply", "--auto-approve").exit_code == 0  # versioning enabled a moment ago
    monkeypatch.setenv(lock.LEASE_ENV, "300")  # no renewal from the thread: only check() renews
    ctx = AwsContext(region=aws.region, endpoint_url=aws.url)
    s3 = aws.client("s3")
    with lock.held(ctx, BUCKET, "run") as held:
        for _ in range(6):
            held.check("the crawl")  # each renewal meets 404s for the lock it wrote a moment ago: still ours
        while listed_lock(aws) is not None:  # `lock break` by hand: DeleteObject meets the 404s too
            with contextlib.suppress(ClientError):
                s3.delete_object(Bucket=BUCKET, Key=lock.LOCK_KEY)
        with pytest.raises(LockError) as removed:
            held.check("publishing")
        assert "it was removed" in removed.value.message, removed.value.message

    with lock.held(ctx, BUCKET, "run") as held:
        held.check("the crawl")
        put_lock(aws, id="0the0taker00", lease_seconds=300)  # someone took it over
        with pytest.raises(LockError) as taken:
            held.check("publishing")
        assert "taken over" in taken.value.message, taken.value.message
    assert listed_lock(aws) is not None  # releasing never removes somebody else's lock
