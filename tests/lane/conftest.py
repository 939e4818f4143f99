"""The lane that runs the same lifecycle against the local endpoint (always) or a real account (opt-in).

`RECONCILER_LANE=aws` (set only by scripts/test-aws.sh) points these tests at the account of the standard
credential chain instead of the local endpoint; nothing else differs, so what runs in `.ci/run` is what runs
in the account. In that mode tests/conftest.py leaves the real credentials alone (it replaces them with
dummy ones for every other test, so that nothing reaches an account by accident).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from reconciler.cli.main import cli
from reconciler_local.lifecycle import call_admin
from tests.integration.conftest import CRON_TIME, make_project

REAL = os.environ.get("RECONCILER_LANE") == "aws"

#: the names of the example spec that a run in a shared account must not collide on, and their lane form
NAMES = ("car-brands-glue", "car-brands-raw", "car-brands-prepare", "car-brands-quarterly")


@dataclass
class Lane:
    root: Path
    suffix: str
    bucket: str
    endpoint: str | None  # None: the real account
    region: str

    @property
    def spec(self) -> Path:
        return self.root / "pipeline.yaml"

    def name(self, name: str) -> str:
        return f"{name}-{self.suffix}"

    def cli(self, *args: str) -> Result:
        target = ["--endpoint-url", self.endpoint] if self.endpoint else []
        return CliRunner().invoke(cli, ["-f", str(self.spec), *target, "--no-color", *args], catch_exceptions=False)

    def client(self, service: str) -> Any:
        session: Any = boto3.session.Session(region_name=self.region)  # any service name: Any, not the overloads
        return session.client(service, endpoint_url=self.endpoint)


def lane_spec(text: str, suffix: str) -> str:
    """The example spec under a random suffix, with the lane's cost bounds: 2 G.1X workers, 10 minutes."""
    for name in NAMES:
        text = text.replace(name, f"{name}-{suffix}")
    text = re.sub(r"(?m)^  name: car-brands$", f"  name: car-brands-{suffix}", text)
    text = re.sub(r"(?m)^    name: car_brands$", f"    name: car_brands_{suffix}", text)
    text = re.sub(r"(?m)^(\s+)timeout_minutes: \d+", r"\g<1>timeout_minutes: 10", text)
    text = re.sub(r"(?m)^(\s+)number_of_workers: \d+", r"\g<1>number_of_workers: 2", text)
    return re.sub(r"(?m)^(\s+)worker_type: \S+", r"\g<1>worker_type: G.1X", text)


@pytest.fixture
def lane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Lane]:
    suffix = os.environ.get("LANE_SUFFIX") or secrets.token_hex(3)
    root = Path(os.environ["LANE_DIR"]) if REAL and os.environ.get("LANE_DIR") else tmp_path / "lane"
    if REAL:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1"
        endpoint = None
    else:
        aws = request.getfixturevalue("aws")
        region, endpoint = aws.region, aws.url
        call_admin(aws.url, "clock", {"now": CRON_TIME})  # the sample's quarter is the due one
        call_admin(aws.url, "settings", {"role_resolution": True})  # as AWS resolves a crawler's Role
    bucket = f"reconciler-lane-{suffix}"
    monkeypatch.setenv("PIPELINE_BUCKET", bucket)
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.delenv("DATA_DIR", raising=False)
    make_project(root, endpoint or "")
    (root / "pipeline.yaml").write_text(lane_spec((root / "pipeline.yaml").read_text(), suffix))
    yield Lane(root=root, suffix=suffix, bucket=bucket, endpoint=endpoint, region=region)
