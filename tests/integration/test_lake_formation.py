"""In an account where Lake Formation governs new databases (its data lake settings no longer give
IAM_ALLOWED_PRINCIPALS access to them: Lake Formation Developer Guide, "Changing the default settings for your data
lake"), the database the operator creates is not usable by the crawler's role through IAM alone, and the crawl
fails with "Insufficient Lake Formation permission(s) on <db>". The run names that cause and the grant that fixes
it (AWS Glue Developer Guide, "Crawler errors when the crawler is using Lake Formation permissions": grant the
crawler role Create, Describe and Alter on the database); the grant, pasted, lets the next run crawl."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest

from .conftest import Project

FAILING_JOB = "raise ValueError('boom: the job broke')\n"  # fast: the test is about the crawl before the job


def grant_as_pasted(aws: Any, command: str) -> None:
    """Run `aws lakeformation grant-permissions ...` as the AWS CLI would, with boto3."""
    words = shlex.split(command)
    while "=" in words[0]:  # the dummy credentials a hint for the local endpoint puts in front
        words.pop(0)
    assert words[:3] == ["aws", "lakeformation", "grant-permissions"], words
    options: dict[str, list[str]] = {}
    current = ""
    for word in words[3:]:
        if word.startswith("--"):
            current = word
            options[current] = []
        else:
            options[current].append(word)
    assert set(options) - {"--endpoint-url"} == {"--region", "--principal", "--permissions", "--resource"}, options
    key, _, value = options["--principal"][0].partition("=")
    assert key == "DataLakePrincipalIdentifier", options
    assert options["--region"] == [aws.region]
    aws.client("lakeformation").grant_permissions(
        Principal={key: value}, Permissions=options["--permissions"], Resource=json.loads(options["--resource"][0])
    )


def test_a_crawl_lake_formation_refuses_names_the_cause_and_the_grant_that_fixes_it(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_ROLE_SETTLE_SECONDS", "0")  # the one retry after a role change: at once
    aws.client("lakeformation").put_data_lake_settings(DataLakeSettings={
        "DataLakeAdmins": [], "CreateDatabaseDefaultPermissions": [], "CreateTableDefaultPermissions": [],
    })  # fmt: skip
    (project.root / "glue_scripts" / "car_brands_job.py").write_text(FAILING_JOB)

    refused = project.cli("run", "--timeout", "300")
    output = " ".join(refused.output.split())
    assert refused.exit_code == 1, refused.output
    assert "Insufficient Lake Formation permission(s) on car_brands" in output, output
    assert "Lake Formation governs database 'car_brands'" in output, output
    found = re.search(r"(\S+=\S+ )*aws lakeformation grant-permissions .*$", output)  # the hint ends the output
    assert found is not None, output
    grant = found.group(0)
    assert "DataLakePrincipalIdentifier=arn:aws:iam::123456789012:role/reconciler/car-brands/car-brands-glue" in grant
    assert "--permissions CREATE_TABLE DESCRIBE ALTER" in grant
    # What AWS returns for a database created under these settings; the plan does not see it as drift.
    database = aws.client("glue").get_database(Name="car_brands")["Database"]
    assert database["CreateTableDefaultPermissions"] == []
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0

    grant_as_pasted(aws, grant)
    again = project.cli("run", "--timeout", "300")
    output = " ".join(again.output.split())
    assert "Lake Formation" not in output, output
    assert again.exit_code == 1 and "boom: the job broke" in output, output  # crawled; then the job's own failure


def test_without_lake_formation_governance_a_new_database_keeps_iam_only_access(project: Project, aws: Any) -> None:
    """The initial data lake settings: GetDatabase shows IAM_ALLOWED_PRINCIPALS with ALL as the tables' default."""
    assert project.cli("apply", "--auto-approve").exit_code == 0
    database = aws.client("glue").get_database(Name="car_brands")["Database"]
    assert database["CreateTableDefaultPermissions"] == [
        {"Principal": {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}, "Permissions": ["ALL"]}
    ]
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
