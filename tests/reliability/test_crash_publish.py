"""Crash matrix of publication: SIGKILL `reconcile promote` right after each of its mutating AWS calls
(the lock, the gate's verdict, the pointer PUT, the manifest PUT, the release), then let the next
commands run as cron would. The pointer is the truth and the manifest is converged from it, so after any
crash: the next `apply` (which has nothing else to do) makes the manifest match whatever the pointer
says, the repeated `promote` publishes the run, the other quarter is never touched, and no lock is left
(a lock whose holder is dead on this host is taken over at once: aws/lock.py).

Runs are written with plain boto3 as a finished job run leaves them (tests/integration/test_quarters.py),
so the matrix needs no Spark.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest

from ..integration.test_quarters import MANIFEST, POINTER, expected_prefixes, fake_run, manifest_prefixes
from .conftest import BUCKET, Project
from .test_crash import count_mutations, crash, lock_left

pytestmark = pytest.mark.slow

Q3_RUN, Q4_RUN = "20261001T060000Z-aaaaaa", "20270101T060000Z-bbbbbb"


def test_promote_killed_after_every_mutating_call_converges_on_the_next_commands(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    s3 = aws.client("s3")
    fake_run(aws, Q3_RUN, "2026-Q3", "2026-10-01T06:00:00Z")
    fake_run(aws, Q4_RUN, "2026-Q4", "2027-01-01T06:00:00Z")
    assert project.cli("promote", Q3_RUN, "--auto-approve", "--allow-failed-gate").exit_code == 0
    before = {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in (POINTER, MANIFEST)}
    q3_entry = json.loads(before[POINTER])["quarters"]["2026-Q3"]

    def restore() -> None:  # Q3 published, Q4 not, Q4's run never gated
        for key, body in before.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        s3.delete_object(Bucket=BUCKET, Key=f"prepared/runs/{Q4_RUN}/_gate.json")

    total = count_mutations(project, monkeypatch, "promote", Q4_RUN, "--auto-approve", "--allow-failed-gate")
    assert total >= 5  # lock, gate verdict, pointer, manifest, release (and the serial)
    outcomes: dict[int, str] = {}
    for k in range(1, total + 1):
        restore()
        started = time.monotonic()
        killed = crash(project, k, "promote", Q4_RUN, "--auto-approve", "--allow-failed-gate")
        assert killed.returncode == -signal.SIGKILL, f"k={k}: {killed.returncode}\n{killed.stdout}{killed.stderr}"
        left = lock_left(aws) is not None
        published = json.loads(s3.get_object(Bucket=BUCKET, Key=POINTER)["Body"].read())["quarters"]
        half = "2026-Q4" in published and manifest_prefixes(aws) != expected_prefixes(aws)

        # The next command, whatever it is, repairs what the crash left: here an apply with no changes.
        applied = project.cli("apply", "--auto-approve")
        assert applied.exit_code == 0, f"k={k}: {applied.output}"
        assert manifest_prefixes(aws) == expected_prefixes(aws), f"k={k}"
        assert ("Converged" in applied.output) == half, f"k={k}: {applied.output}"

        # And the promote, run again, publishes Q4 with Q3 untouched.
        again = project.cli("promote", Q4_RUN, "--auto-approve", "--allow-failed-gate")
        assert again.exit_code == 0, f"k={k}: {again.output}"
        quarters = json.loads(s3.get_object(Bucket=BUCKET, Key=POINTER)["Body"].read())["quarters"]
        assert quarters["2026-Q3"] == q3_entry and quarters["2026-Q4"]["run_id"] == Q4_RUN, f"k={k}"
        assert manifest_prefixes(aws) == expected_prefixes(aws) and len(expected_prefixes(aws)) == 2
        assert lock_left(aws) is None, f"k={k}"
        outcomes[k] = ("lock left, taken over; " if left else "") + ("manifest behind, converged" if half else "ok")
        print(f"k={k}: {outcomes[k]} ({time.monotonic() - started:.1f}s)")
    assert any("converged" in o for o in outcomes.values()), outcomes  # the window between the two PUTs was hit
    print(f"\npromote crash matrix: {total} crash points: {outcomes}")
