"""`up` / `status` / `down` / `reset` of the background endpoint, and the in-process `LocalEndpoint`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3

from reconciler_local import LocalEndpoint, call_admin, down, ensure_running, reset, status, up


def test_up_status_down(tmp_path: Path) -> None:
    state_dir = tmp_path / ".reconciler"
    assert status(state_dir) is None

    started = up(state_dir)
    try:
        assert status(state_dir) == started
        assert up(state_dir) == started  # already running: the same endpoint
        assert ensure_running(state_dir) == started.url
        state = json.loads((state_dir / "local-endpoint.json").read_text())
        assert set(state) == {"url", "port", "pid", "started_at"}
        assert started.url == f"http://127.0.0.1:{started.port}"
        s3 = boto3.client("s3", endpoint_url=started.url, region_name="eu-central-1")
        s3.create_bucket(Bucket="bucket-one", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["bucket-one"]
        assert (state_dir / "local-endpoint.log").exists()
    finally:
        assert down(state_dir) is True

    assert status(state_dir) is None
    assert not (state_dir / "local-endpoint.json").exists()
    assert down(state_dir) is False


def test_status_removes_a_stale_state_file(tmp_path: Path) -> None:
    state_dir = tmp_path / ".reconciler"
    state_dir.mkdir()
    dead_pid = 2**22 - 1
    while True:
        try:
            os.kill(dead_pid, 0)
            dead_pid -= 1
        except ProcessLookupError:
            break
    stale = {"url": "http://127.0.0.1:1", "port": 1, "pid": dead_pid, "started_at": "2026-01-01T00:00:00+00:00"}
    (state_dir / "local-endpoint.json").write_text(json.dumps(stale))

    assert status(state_dir) is None
    assert not (state_dir / "local-endpoint.json").exists()


def test_reset_forgets_moto_state(aws: Any) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="bucket-one", CreateBucketConfiguration={"LocationConstraint": aws.region})

    reset(aws.url)

    assert s3.list_buckets()["Buckets"] == []


def test_clock_admin_route(aws: Any) -> None:
    answer = call_admin(aws.url, "clock", {"now": "2026-10-01T00:00:00Z"})
    assert answer["now"].startswith("2026-10-01T00:00")

    reset(aws.url)

    assert abs(call_admin(aws.url, "clock")["offset_seconds"]) < 1


def test_in_process_endpoint() -> None:
    with LocalEndpoint.start() as endpoint:
        glue = boto3.client("glue", endpoint_url=endpoint.url, region_name="eu-central-1")
        glue.create_database(DatabaseInput={"Name": "db"})
        assert glue.get_databases()["DatabaseList"][0]["Name"] == "db"
        assert endpoint.port > 0
        reset(endpoint.url)
