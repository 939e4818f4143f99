"""The masking rule (reconciler/masking.py): by name and by value, with the values that must stay readable."""

from __future__ import annotations

import pytest

from reconciler.engine.plan import MASK, mask
from reconciler.masking import MASKED, findings, mask_text, mask_value, secret_name
from reconciler.spec.literal_secrets import as_written, literal_secret_findings

SECRET_NAMES = ["--pwd", "--auth", "--token", "--secret", "--password", "--api_key", "--credentials", "--db_password",
                "--dbPassword", "--api_token", "--secret_key", "--client_secret", "--authToken", "--access_key"]
HARMLESS_NAMES = ["--monkey_count", "--author", "--s3_key", "--keyboard", "--kms_key_arn", "--input_path",
                  "--enable-metrics", "--TempDir", "--job-bookmark-option", "--extra-py-files", "--passenger_count",
                  "--tokenizer_model", "--db_password_secret_id"]  # fmt: skip


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_are_masked(name: str) -> None:
    assert secret_name(name)
    assert mask("job", ("default_arguments", name), "x") == MASK


@pytest.mark.parametrize("name", HARMLESS_NAMES)
def test_harmless_names_are_not(name: str) -> None:
    assert not secret_name(name)
    assert mask("job", ("default_arguments", name), "12") == "12"


GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("jdbc:postgresql://admin:pw@host/db", "jdbc:postgresql://admin:****@host/db"),
        ("https://user:p@ss@host:5432/db?x=1", "https://user:****@host:5432/db?x=1"),
        ("key AKIAIOSFODNN7EXAMPLE here", "key **** here"),
        ("ASIAIOSFODNN7EXAMPLE", MASKED),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=****"),
        ('"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"', '"SecretAccessKey": "****"'),
        (f"token {GITHUB}", "token ****"),
        ("xoxb-123456789012-abcdefghijkl", MASKED),
        ("xoxp-123456789012-abcdefghijkl", MASKED),
        (PEM, "-----BEGIN RSA PRIVATE KEY-----****-----END RSA PRIVATE KEY-----"),
        (f"Bearer {JWT}", "Bearer ****"),
        ("seed Xk9mP2qL7vR4tY8wZ1nB5cD3fG6hJ0sA", "seed ****"),
    ],
)
def test_secret_shapes_are_masked_in_any_string(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert findings(text)
    assert mask("job", ("description",), text) == masked  # the plan's masking includes the value rule


READABLE = [
    "s3://car-brands-pipeline-local/prepared/aggregated/csv/",
    "https://host:8080/path",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # a sha256
    "jr_e9a69bef09de4b998096d9a9576aa6fd51e38f2a69d54eb0954b209aad04ed61",  # a job run id
    "20261128T045900Z-1a2b3c",  # a run id
    "arn:aws:iam::123456789012:role/car-brands-glue",
    "AWSGlueServiceRoleForCarBrandsPipeline2026",
    "ingest_quarter=2026-Q3/part-00000-4f1e2d3c-aaaa-bbbb-cccc-0123456789ab.csv",
    "com.amazonaws:aws-java-sdk-bundle:1.12.262",
    "AROA1234567890EXAMPLE",  # a role's unique id is not a secret
]


@pytest.mark.parametrize("text", READABLE)
def test_what_is_not_secret_stays_readable(text: str) -> None:
    assert mask_text(text) == text
    assert findings(text) == []


def test_mask_value_masks_every_string_and_secret_argument_names_whole() -> None:
    doc = {"error": "cannot reach jdbc:mysql://u:pw@h/db", "arguments": {"--pwd": "hunter2", "--n": "3"},
           "list": [GITHUB], "count": 3}  # fmt: skip
    assert mask_value(doc) == {"error": "cannot reach jdbc:mysql://u:****@h/db",
                               "arguments": {"--pwd": MASK, "--n": "3"}, "list": [MASKED], "count": 3}  # fmt: skip


def test_a_literal_secret_is_found_as_written_and_an_environment_reference_is_not() -> None:
    assert as_written("${DB_PASSWORD}") == ""
    assert as_written("${DB_PASSWORD:-hunter2}") == "hunter2"  # a default is written in the file
    doc = {"spec": {"jobs": [{"arguments": {"--pwd": "from-env", "--db_url": "jdbc:pg://a:b@h/d", "--n": "1",
                                            "--pwd2": "x"}}]}}  # fmt: skip
    raw: dict[tuple[str | int, ...], str] = {("spec", "jobs", 0, "arguments", "--pwd"): "${PWD_FROM_ENV}"}
    found = dict(literal_secret_findings(doc, raw))
    assert set(found) == {("spec", "jobs", 0, "arguments", "--db_url"), ("spec", "jobs", 0, "arguments", "--pwd2")}
    assert "credentials in a URL" in found[("spec", "jobs", 0, "arguments", "--db_url")]
    assert "--pwd2_secret_id" in found[("spec", "jobs", 0, "arguments", "--pwd2")]
