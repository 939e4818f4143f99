"""What AWS does, against a plain `python -m moto.server` (no project code in the server): the whole lifecycle
over plain http, and ownership under moto's OR semantics of Glue's List* Tags filter."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from click.testing import CliRunner, Result

from reconciler.cli.main import cli
from reconciler.spec.model import MANAGED_TAG, OWNER_TAG

from .conftest import BUCKET, Project, make_project

REGION = "eu-central-1"
ROLE = "arn:aws:iam::123456789012:role/theirs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto.server did not start:\n{log.read_text(errors='replace')}") from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def moto(moto_server: str) -> str:
    """A fresh plain moto server: everything it held is forgotten (moto's own reset route)."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=30).close()
    return moto_server


def client(url: str, service: str) -> Any:
    # boto3-stubs types client() per literal service name; this helper takes any name (as conftest's Aws.client)
    session: Any = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client(service, endpoint_url=url, config=Config(s3={"addressing_style": "path"}))


@pytest.fixture
def plain(tmp_path: Path, moto: str, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("PIPELINE_BUCKET", BUCKET)
    monkeypatch.delenv("DATA_DIR", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    return make_project(tmp_path / "project", moto)


def test_the_whole_lifecycle_on_a_plain_moto_server(plain: Project, moto: str) -> None:
    """No TLS-only statement on a plain-http endpoint that is not ours, and the plan says so."""
    plan = plain.plan_json()
    assert any("plain http://" in w for w in plan["warnings"])
    assert "Warning:" in plain.cli("plan").output
    result = plain.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    s3 = client(moto, "s3")
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=BUCKET)
    assert client(moto, "glue").get_crawler(Name="car-brands-raw")["Crawler"]["Name"] == "car-brands-raw"
    assert plain.cli("plan", "--detailed-exitcode").exit_code == 0
    result = plain.cli("destroy", "--auto-approve", "--force")
    assert result.exit_code == 0, result.output
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert client(moto, "glue").get_crawlers()["Crawlers"] == []


def test_ownership_holds_under_or_semantics_of_the_tags_filter(plain: Project, moto: str) -> None:
    """moto ORs the List* Tags filter. A crawler carrying only one of our two ownership tags is
    listed by it, and must still be neither deleted nor treated as ours."""
    glue = client(moto, "glue")
    target = {"S3Targets": [{"Path": "s3://elsewhere/"}]}
    glue.create_crawler(Name="theirs-managed", Role=ROLE, DatabaseName="d", Targets=target,
                        Tags={OWNER_TAG: "another-pipeline", MANAGED_TAG: "true"})  # fmt: skip
    glue.create_crawler(Name="theirs-unmanaged", Role=ROLE, DatabaseName="d", Targets=target,
                        Tags={OWNER_TAG: "car-brands", MANAGED_TAG: "false"})  # fmt: skip
    glue.create_job(Name="theirs-job", Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"},
                    Tags={MANAGED_TAG: "true", "project": "car-brands"})  # fmt: skip
    changes = plain.changes()
    assert not {a for a in changes if "theirs" in a}, changes
    assert plain.cli("apply", "--auto-approve").exit_code == 0
    assert plain.cli("destroy", "--auto-approve", "--force").exit_code == 0
    assert {c["Name"] for c in glue.get_crawlers()["Crawlers"]} == {"theirs-managed", "theirs-unmanaged"}
    assert glue.get_job(JobName="theirs-job")["Job"]["Name"] == "theirs-job"


# --- the boto3 endpoint chain ----------------------------------------------------------

#: every service the tool calls (AwsContext.call's first argument anywhere in src/reconciler)
SERVICES = ("s3", "glue", "iam", "sts", "logs", "cloudwatch", "quicksight", "sns", "events", "resourcegroupstaggingapi")


def service_ids() -> dict[str, str]:
    """Client name -> botocore's service id ("CloudWatch Logs"), which names its variable and config key."""
    session: Any = boto3.session.Session(region_name=REGION)
    return {name: str(session.client(name).meta.service_model.service_id) for name in SERVICES}


def chain_settings(form: str, url: str, home: Path) -> dict[str, str]:
    """The environment that reaches `url` through one form of boto3's endpoint chain, without --endpoint-url."""
    if form == "AWS_ENDPOINT_URL":
        return {"AWS_ENDPOINT_URL": url}
    if form == "AWS_ENDPOINT_URL_<SERVICE>":
        return {f"AWS_ENDPOINT_URL_{sid.upper().replace(' ', '_')}": url for sid in service_ids().values()}
    config = home / "config"
    if form == "profile endpoint_url":
        config.write_text(f"[profile chain]\nregion = {REGION}\nendpoint_url = {url}\n")
    else:  # the profile's `services` section, one entry per service
        keys = [sid.lower().replace(" ", "_") for sid in service_ids().values()]
        entries = "".join(f"{key} =\n  endpoint_url = {url}\n" for key in keys)
        config.write_text(f"[profile chain]\nregion = {REGION}\nservices = moto\n\n[services moto]\n{entries}")
    return {"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "chain"}


def chain_cli(project: Project, *args: str) -> Result:
    """The CLI without --endpoint-url: the endpoint comes from the environment or the profile alone."""
    return CliRunner().invoke(cli, ["-f", str(project.spec), "--no-color", *args], catch_exceptions=False)


@pytest.mark.parametrize(
    "form",
    ["--endpoint-url", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_<SERVICE>", "profile endpoint_url", "profile services"],
)
def test_the_whole_lifecycle_through_every_form_of_the_endpoint_chain(
    plain: Project, moto: str, form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TLS-only decision follows the endpoint botocore resolved, however it was configured: on a plain
    moto server (no TLS, bucket policies without Conditions) the Deny would refuse every later PutObject."""
    if form == "--endpoint-url":
        run = plain.cli
    else:
        for name, value in chain_settings(form, moto, tmp_path).items():
            monkeypatch.setenv(name, value)

        def run(*args: str, input: str | None = None) -> Result:
            return chain_cli(plain, *args)

    assert run("validate").exit_code == 0
    plan = run("plan", "--json")
    assert plan.exit_code == 0, plan.output
    assert any(f"the endpoint {moto} is plain http://" in w for w in json.loads(plan.stdout)["warnings"])
    applied = run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    s3 = client(moto, "s3")
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=BUCKET)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="raw/")["KeyCount"] > 0  # the uploads were let in
    assert client(moto, "glue").get_crawler(Name="car-brands-raw")["Crawler"]["Name"] == "car-brands-raw"
    assert run("plan", "--detailed-exitcode").exit_code == 0
    destroyed = run("destroy", "--auto-approve", "--force")
    assert destroyed.exit_code == 0, destroyed.output
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
