"""Crash matrix: SIGKILL `reconcile apply` (and `destroy`) right after its k-th mutating AWS call, for
every k of a full run, then run it again as a user would. Every case must converge with nothing
duplicated and nothing left behind.

The kill comes from the test hook `RECONCILER_TEST_CRASH_AFTER=k` (reconciler.aws.context.CrashAfter): the
process SIGKILLs itself after the k-th *successful* mutating call, so no `finally`, no lock release.

What a user sees after a crash that left the lock (any k after the lock put and before its delete):
the next apply takes the lock over at once, because its holder is provably dead on this host, and says
so ("Took over the pipeline lock: ... its process (pid N on HOST) is gone"); no person is needed. The
tests assert exactly that, and that no lock is left when the crash came before the lock was taken or
after it was released.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, ClassVar

import pytest

from reconciler.aws.context import CRASH_AFTER_ENV, AwsContext, CrashAfter
from reconciler.aws.lock import LOCK_KEY
from reconciler.cli import app as cli_module
from reconciler_local import reset

from .conftest import BUCKET, Project

pytestmark = pytest.mark.slow

TRIGGERS = ["car-brands-quarterly-after-crawl", "car-brands-quarterly-start"]
#: every crash point of destroy (test_crash_destroy.py); 2 would sample every other one if the matrix grows slow
DESTROY_STEP = 1


class CountingContext(AwsContext):
    """Counts successful mutating calls exactly as the crash hook does (it is the hook, never firing)."""

    instances: ClassVar[list[CountingContext]] = []
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def client(self, service: str) -> Any:
        # On each client itself: a client copies the session's hooks when it is made, so a hook added to
        # the session after the first client exists would miss that client's calls.
        with CountingContext._guard:
            known = service in self._clients
            client = super().client(service)
            if not known:
                if not hasattr(self, "mutations"):
                    self.mutations = CrashAfter(0)  # k=0 never fires, it only counts
                    CountingContext.instances.append(self)
                client.meta.events.register("after-call", self.mutations)
        return client


def count_mutations(project: Project, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    CountingContext.instances = []
    monkeypatch.setattr(cli_module, "context_factory", CountingContext)
    result = project.cli(*args)
    monkeypatch.setattr(cli_module, "context_factory", AwsContext)
    assert result.exit_code == 0, result.output
    return sum(c.mutations.count for c in CountingContext.instances)


def crash(project: Project, k: int, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint,
               "--no-color", *args]  # fmt: skip
    env = {**os.environ, CRASH_AFTER_ENV: str(k), "NO_COLOR": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def lock_left(aws: Any) -> dict[str, Any] | None:
    s3 = aws.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        return None
    if not s3.list_objects_v2(Bucket=BUCKET, Prefix=LOCK_KEY).get("Contents"):
        return None
    body: dict[str, Any] = json.loads(s3.get_object(Bucket=BUCKET, Key=LOCK_KEY)["Body"].read())
    return body


def again(project: Project, aws: Any, killed: subprocess.CompletedProcess[str], *args: str) -> str:
    """Run the command again as a user would: a lock the killed process left is taken over, no person."""
    left = lock_left(aws)
    result = project.cli(*args)
    if left is None:
        assert result.exit_code == 0, result.output
        return "no lock left"
    if result.exit_code == 0 and "No changes" in result.output:
        # Killed after its last change but before releasing the lock: nothing is left to do, and an
        # apply without changes takes no lock, so it succeeds; the lock stays, and `lock status` calls
        # it stale until the next command that takes the lock takes it over (or someone breaks it).
        status = " ".join(project.cli("lock", "status").output.split())
        assert "stale" in status and str(left["id"]) in status and "takes it over" in status, status
        broken = project.cli("lock", "break", str(left["id"]))  # a dead holder: no --force needed
        assert broken.exit_code == 0, broken.output
        return "nothing to do, stale lock broken"
    output = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert f"Took over the pipeline lock: lock {left['id']}" in output and "is gone" in output, output
    return "stale lock taken over"


def assert_converged(project: Project, aws: Any) -> None:
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
    s3, glue, iam = aws.client("s3"), aws.client("glue"), aws.client("iam")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    assert lock_left(aws) is None
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["car-brands-glue"]
    assert [d["Name"] for d in glue.get_databases()["DatabaseList"]] == ["car_brands"]
    assert glue.list_crawlers()["CrawlerNames"] == ["car-brands-raw"]
    assert glue.list_jobs()["JobNames"] == ["car-brands-prepare"]
    assert sorted(glue.list_triggers()["TriggerNames"]) == TRIGGERS
    assert glue.list_workflows()["Workflows"] == ["car-brands-quarterly"]
    assert not glue.get_job_runs(JobName="car-brands-prepare")["JobRuns"]


def assert_destroyed(aws: Any) -> None:
    s3, glue, iam = aws.client("s3"), aws.client("glue"), aws.client("iam")
    assert not s3.list_buckets().get("Buckets")
    assert not iam.list_roles()["Roles"]
    assert not glue.get_databases()["DatabaseList"]
    assert not glue.list_crawlers()["CrawlerNames"]
    assert not glue.list_jobs()["JobNames"]
    assert not glue.list_triggers()["TriggerNames"]
    assert not glue.list_workflows()["Workflows"]


def test_apply_killed_after_every_mutating_call_converges_on_the_next_apply(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = count_mutations(project, monkeypatch, "apply", "--auto-approve")
    assert total > 10
    outcomes: dict[int, str] = {}
    started = time.monotonic()
    for k in range(1, total + 1):
        reset(aws.url)
        case = time.monotonic()
        killed = crash(project, k, "apply", "--auto-approve")
        assert killed.returncode == -signal.SIGKILL, f"k={k}: {killed.returncode}\n{killed.stdout}{killed.stderr}"
        left = lock_left(aws)
        if left is not None:
            assert left["pid"] != os.getpid()  # the killed process's lock, not ours
        outcomes[k] = again(project, aws, killed, "apply", "--auto-approve")
        assert_converged(project, aws)
        print(f"k={k}: {outcomes[k]} ({time.monotonic() - case:.1f}s)")
    # Past the last mutating call nothing is killed: the count is exact.
    reset(aws.url)
    assert crash(project, total + 1, "apply", "--auto-approve").returncode == 0
    print(f"\napply crash matrix: {total} crash points in {time.monotonic() - started:.0f}s: "
          f"{sum(v != 'no lock left' for v in outcomes.values())} left a stale lock: {outcomes}")  # fmt: skip
