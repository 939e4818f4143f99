"""Shared fixtures: one real local endpoint process per pytest worker, reset before every test.

- `local_endpoint` (session): `python -m reconciler_local serve --port 0 --state-file <tmp>` as a
  subprocess; has `.url`, `.pid`, `.log_path`. One per xdist worker (session scope is per worker).
- `aws` (function): resets the endpoint, then yields `.url`, `.region` and `.client(service_name)`
  (a boto3 client pointed at the endpoint with dummy credentials).
- Every test runs with dummy AWS credentials and region eu-central-1 in the environment, so nothing
  can reach a real AWS account by accident.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from reconciler.invocation import set_global_args
from reconciler_local import reset
from tests.helpers import (
    IAM_PROPAGATION_SECONDS,
    SUITE_GLUE_ROLE,
    SUITE_GLUE_ROLE_PATH,
    SUITE_GLUE_ROLE_POLICY,
    glue_role,
)

REGION = "eu-central-1"
ENDPOINT_START_TIMEOUT = 60.0
NEW_BUCKET_WAIT_LIMIT = 30.0  # seconds a test's own CreateBucket waits for its new bucket at most

TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@pytest.fixture(scope="session", autouse=True)
def _aws_test_environment() -> Iterator[None]:
    """Dummy credentials and our region for the whole session; no profile, no config file. Not for the
    opt-in real-account lane (`RECONCILER_LANE=aws`, set only by scripts/test-aws.sh, tests/lane)."""
    if os.environ.get("RECONCILER_LANE") == "aws":
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        for name, value in TEST_ENVIRONMENT.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        yield


@pytest.fixture(autouse=True)
def _no_global_options_left_over() -> Iterator[None]:
    """Suggested commands repeat the global options of the CLI call in force (reconciler.invocation); a CLI test
    leaves its `-f ... --endpoint-url ...` behind in the process. Every test starts without them."""
    set_global_args(())
    yield
    set_global_args(())


@dataclass
class RunningEndpoint:
    url: str
    pid: int
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)


# Shorter crawl phases than the endpoint's defaults (0.5 s RUNNING at least, 0.2 s STOPPING): tests that
# need a running crawler set `crawl_min_seconds` themselves through the settings admin route.
ENDPOINT_ENVIRONMENT = {
    "RECONCILER_LOCAL_CRAWL_MIN_SECONDS": "0.2",
    "RECONCILER_LOCAL_CRAWL_STOPPING_SECONDS": "0.05",
    # What AWS enforces (src/reconciler_local/README.md "Strict settings"), on for the whole suite:
    # role resolution (a crawler's or job's Role must exist and trust Glue: tests that give Glue a role use the
    # `glue_role_arn` fixture or create one), IAM propagation (2 s), the Glue role's policies and the new-bucket
    # window (0.5 s of NoSuchBucket for configuration calls after CreateBucket; the tests' own CreateBucket calls
    # wait it out, see Aws.client). Off suite-wide: enforce_iam (the suite's dummy keys are no IAM user; the
    # operator test turns it on with a real user's keys).
    "RECONCILER_LOCAL_ROLE_RESOLUTION": "true",
    "RECONCILER_LOCAL_NEW_BUCKET_SECONDS": "0.5",
    "RECONCILER_LOCAL_IAM_PROPAGATION_SECONDS": str(IAM_PROPAGATION_SECONDS),
    "RECONCILER_LOCAL_ENFORCE_ROLE_POLICIES": "true",
}


def _start_endpoint(state_file: Path, log_path: Path) -> RunningEndpoint:
    environment = {**os.environ, **TEST_ENVIRONMENT, **ENDPOINT_ENVIRONMENT}
    with open(log_path, "wb") as log_handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler_local", "serve", "--port", "0", "--state-file", str(state_file)],
            stdin=subprocess.DEVNULL,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    deadline = time.monotonic() + ENDPOINT_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"local endpoint exited with {process.returncode}:\n{log_path.read_text(errors='replace')}"
            )
        if state_file.exists():
            state: dict[str, Any] = json.loads(state_file.read_text())
            return RunningEndpoint(url=state["url"], pid=state["pid"], log_path=log_path, process=process)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"local endpoint did not start within {ENDPOINT_START_TIMEOUT}s")


@pytest.fixture(scope="session")
def local_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEndpoint]:
    directory = tmp_path_factory.mktemp("local-endpoint")
    endpoint = _start_endpoint(directory / "state.json", directory / "endpoint.log")
    try:
        yield endpoint
    finally:
        endpoint.process.send_signal(signal.SIGTERM)
        try:
            endpoint.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            endpoint.process.kill()
            endpoint.process.wait()


@dataclass
class Aws:
    """What a test needs to talk to the endpoint: plain boto3, pointed at it."""

    url: str
    region: str = REGION
    _session: Any = field(init=False, repr=False)  # a boto3 Session; Any: clients of any service name

    def __post_init__(self) -> None:
        self._session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )

    def client(self, service_name: str, *, wait_for_new_buckets: bool = True) -> Any:
        """A boto3 client for the endpoint. An S3 client waits, after each CreateBucket it sends, until the new
        bucket answers configuration calls (the endpoint's new-bucket window, `new_bucket_seconds`), as a person
        setting up a bucket by hand would; `wait_for_new_buckets=False` for tests of the window itself."""
        made = self._session.client(
            service_name,
            endpoint_url=self.url,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        if service_name == "s3" and wait_for_new_buckets:
            create_bucket = made.create_bucket

            def create_and_wait(**kwargs: Any) -> Any:
                answer = create_bucket(**kwargs)
                _wait_for_new_bucket(made, kwargs["Bucket"])
                return answer

            made.create_bucket = create_and_wait
        return made


def _wait_for_new_bucket(s3: Any, bucket: str) -> None:
    """Poll a configuration read of a bucket just created until it stops answering NoSuchBucket (any other answer,
    an AccessDenied included, ends the wait: it is the test's business)."""
    deadline = time.monotonic() + NEW_BUCKET_WAIT_LIMIT
    while True:
        try:
            s3.get_bucket_versioning(Bucket=bucket)
            return
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchBucket":
                return
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def aws(local_endpoint: RunningEndpoint, request: pytest.FixtureRequest) -> Iterator[Aws]:
    # A test that uses `glue_role_arn` keeps the suite's Glue role across the reset (created and propagated once,
    # not once per test); for every other test the reset forgets it like everything else.
    keep = (SUITE_GLUE_ROLE,) if "glue_role_arn" in request.fixturenames else ()
    reset(local_endpoint.url, keep_roles=keep)
    yield Aws(url=local_endpoint.url)


@pytest.fixture
def glue_role_arn(aws: Aws) -> str:
    """The ARN of a real role Glue may assume (tests.helpers.SUITE_GLUE_ROLE, path /service-role/, allowed s3:*,
    glue:*, logs:*), for tests that give a crawler or job a role. Created (and IAM propagation waited out) only when
    the previous test did not use it; `aws` keeps it across resets otherwise."""
    return glue_role(aws.client("iam"), SUITE_GLUE_ROLE, path=SUITE_GLUE_ROLE_PATH, policy=SUITE_GLUE_ROLE_POLICY)
