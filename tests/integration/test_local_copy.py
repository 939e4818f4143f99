"""Local convenience copies never block the real work: when the local copy of the
QuickSight manifest (`spec.quicksight.manifest.output`) cannot be written, publishing still happens (the
pointer and the manifest in S3) and the command says so in one warning, never a traceback or an abort."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..reliability.test_faults import quick_run_project
from .conftest import BUCKET, Project
from .test_quarters import MANIFEST, POINTER, expected_prefixes, fake_run, manifest_prefixes

RUN = "20261001T060000Z-aaaaaa"


@contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """`directory` read-only for this process: mode 0555, and, for root (whom modes do not stop), a
    read-only bind mount of the directory over itself (Linux mount(8): `--bind`, `remount,ro,bind`)."""
    mode = directory.stat().st_mode
    directory.chmod(0o555)
    mounted = False
    try:
        if os.geteuid() == 0:
            subprocess.run(["mount", "--bind", str(directory), str(directory)], check=True)
            mounted = True
            subprocess.run(["mount", "-o", "remount,ro,bind", str(directory)], check=True)
        probe = directory / ".probe"
        try:
            probe.write_text("x")
        except OSError:
            pass
        else:
            probe.unlink()
            raise AssertionError(f"{directory} is still writable")
        yield
    finally:
        if mounted:
            subprocess.run(["umount", str(directory)], check=True)
        directory.chmod(mode)


def test_promote_publishes_when_the_local_manifest_copy_cannot_be_written(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    fake_run(aws, RUN, "2026-Q3", "2026-10-01T06:00:00Z")
    local_copy = project.root / "quicksight" / "manifest.json"
    assert not local_copy.exists()
    with read_only(project.root / "quicksight"):
        result = project.cli("promote", RUN, "--auto-approve", "--allow-failed-gate")
    output = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "Traceback" not in output
    assert f"Published {RUN} for 2026-Q3" in output
    assert "Warning:" in output and "local copy" in output and str(local_copy) in output
    pointer = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=POINTER)["Body"].read())
    assert pointer["quarters"]["2026-Q3"]["run_id"] == RUN
    assert manifest_prefixes(aws) == expected_prefixes(aws) == [f"s3://{BUCKET}/prepared/runs/{RUN}/aggregated/csv/"]
    assert not local_copy.exists()

    # Writable again: the same promote (nothing left to publish) writes the copy.
    assert project.cli("promote", RUN, "--auto-approve", "--allow-failed-gate").exit_code == 0
    assert local_copy.read_bytes() == aws.client("s3").get_object(Bucket=BUCKET, Key=MANIFEST)["Body"].read()


def test_run_publishes_and_warns_when_the_local_manifest_copy_cannot_be_written(project: Project, aws: Any) -> None:
    quick_run_project(project)
    local_copy = project.root / "quicksight" / "manifest.json"
    with read_only(project.root / "quicksight"):
        result = project.cli("run", "--timeout", "120", "--json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    warnings = [e for e in events if e["event"] == "warning"]
    assert len(warnings) == 1 and str(local_copy) in warnings[0]["message"], warnings
    finished = events[-1]
    assert finished["event"] == "run_finished" and finished["published"] is True, finished
    assert finished["manifest"] == f"s3://{BUCKET}/{MANIFEST}"
    pointer = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=POINTER)["Body"].read())
    assert pointer["quarters"]["2026-Q3"]["run_id"] == finished["run_id"]
    assert manifest_prefixes(aws) == expected_prefixes(aws)
    assert not local_copy.exists()
