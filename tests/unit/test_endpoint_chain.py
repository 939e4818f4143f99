"""AwsContext resolves each service's endpoint as botocore does (no request is sent: clients only).

Precedence (AWS SDKs and Tools Reference Guide, "Service-specific endpoints"): the client's endpoint_url
(--endpoint-url), AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's services section and
endpoint_url; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns the configured ones off."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.aws.context import AwsContext

LOCAL = "http://127.0.0.1:5999"
OTHER = "http://127.0.0.1:5998"


@pytest.fixture(autouse=True)
def _no_configured_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_GLUE",
                 "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_without_configuration_the_endpoint_is_aws_own() -> None:
    ctx = AwsContext(region="eu-central-1")
    assert ctx.custom_endpoint("s3") is None
    assert ctx.resolved_endpoint("s3").startswith("https://s3.eu-central-1.amazonaws.com")


def test_aws_endpoint_url_applies_to_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", LOCAL)
    ctx = AwsContext(region="eu-central-1")
    assert ctx.custom_endpoint("s3") == LOCAL and ctx.custom_endpoint("glue") == LOCAL
    # S3 on a custom endpoint is path-style: a bucket cannot be a subdomain of 127.0.0.1
    assert ctx.client("s3").meta.config.s3["addressing_style"] == "path"


def test_the_service_variable_wins_and_is_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", OTHER)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", LOCAL)
    ctx = AwsContext(region="eu-central-1")
    assert ctx.custom_endpoint("s3") == LOCAL
    assert ctx.custom_endpoint("glue") == OTHER


def test_the_profile_endpoint_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    config.write_text(f"[profile chain]\nendpoint_url = {LOCAL}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    ctx = AwsContext(region="eu-central-1", profile="chain")
    assert ctx.custom_endpoint("glue") == LOCAL
    assert ctx.resolved_endpoint("glue") == LOCAL


def test_ignoring_configured_endpoints_leaves_aws_but_not_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", LOCAL)
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert AwsContext(region="eu-central-1").custom_endpoint("s3") is None
    assert AwsContext(region="eu-central-1", endpoint_url=OTHER).custom_endpoint("s3") == OTHER
