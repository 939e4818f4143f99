"""Secrets are masked by name and by value in every output, against the local endpoint:
the plan for people, `plan --json`, the saved plan, apply's output, `run --json` events, the run record in
S3, `history` and `show`. A literal secret in the spec is a validation warning naming the safer ways;
what reaches Glue is the value itself (masking is for outputs only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..reliability.test_faults import quick_run_project
from .conftest import BUCKET, JOB, Project

GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
ARGUMENTS = {
    "--pwd": "hunter2",
    "--auth": "Basic dXNlcjpodW50ZXIy",
    "--jdbc_url": "jdbc:postgresql://admin:s3cr3tpw@db.example.com:5432/cars",
    "--aws_key": "AKIAIOSFODNN7EXAMPLE",
    "--monkey_count": "12",
}
#: what must never appear in any output
SECRETS = ("hunter2", "dXNlcjpodW50ZXIy", "s3cr3tpw", "AKIAIOSFODNN7EXAMPLE", GITHUB_TOKEN)

#: a job (no Spark) that fails with an error quoting its connection string and a token
FAILING_JOB = f'''
import sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
raise RuntimeError("cannot connect to " + args["--jdbc_url"] + " with {GITHUB_TOKEN}")
'''


def with_secret_arguments(project: Project) -> None:
    lines = "".join(f"        {name}: \"{value}\"\n" for name, value in ARGUMENTS.items())
    project.edit('        --enable-metrics: "true"\n', '        --enable-metrics: "true"\n' + lines)


def assert_masked(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in {where}:\n{text}"


def test_validate_warns_about_literal_secrets_and_names_the_safer_ways(project: Project) -> None:
    with_secret_arguments(project)
    extra = "        --db_password_secret_id: prod/cars/db\n        --from_env: ${HOME}\n"
    project.edit("        --enable-metrics", extra + "        --enable-metrics")
    result = project.cli("validate")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    text = project.spec.read_text().splitlines()
    flagged = {name for name in ARGUMENTS if any(f"{name}:" in w for w in warnings)}
    assert flagged == {"--pwd", "--auth", "--jdbc_url", "--aws_key"}, warnings  # not --monkey_count
    for warning in warnings:
        where, _, _ = warning.partition(": spec.")
        line = int(where.split(":")[1])
        assert warning.startswith(f"{project.spec}:"), warning
        assert any(name in text[line - 1] for name in ARGUMENTS), (warning, text[line - 1])  # the value's line
        assert "${" in warning and "Secrets Manager" in warning and "_secret_id" in warning, warning
    assert not any("--db_password_secret_id" in w or "--from_env" in w for w in warnings), warnings
    assert "credentials in a URL" in next(w for w in warnings if "--jdbc_url" in w)
    assert "AWS access key id" in next(w for w in warnings if "--aws_key" in w)
    assert_masked(result.output, "validate")


def test_secrets_are_masked_in_plans_saved_plans_apply_runs_records_history_and_show(
    project: Project, aws: Any, tmp_path: Path
) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    with_secret_arguments(project)  # an update: the plan shows each argument, before and after
    saved = tmp_path / "plan.json"
    plan = project.cli("plan", "--out", str(saved))
    assert plan.exit_code == 0, plan.output
    assert_masked(plan.output, "plan")
    assert_masked(saved.read_text(), "the saved plan")
    assert "jdbc:postgresql://admin:****@db.example.com:5432/cars" in plan.output
    as_json = project.cli("plan", "--json")
    assert as_json.exit_code == 0
    assert_masked(as_json.output, "plan --json")
    job = next(c for c in json.loads(as_json.stdout)["changes"] if c["address"] == f"job.{JOB}")
    arguments = {a["path"].split(".", 1)[1]: a["after"] for a in job["attributes"] if a["before"] is None}
    assert arguments["--monkey_count"] == "12"  # a harmless name is not masked
    assert arguments["--pwd"] == arguments["--auth"] == "(sensitive)"
    assert arguments["--jdbc_url"] == "jdbc:postgresql://admin:****@db.example.com:5432/cars"
    assert arguments["--aws_key"] == "****"

    applied = project.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert_masked(applied.output, "apply")
    live = aws.client("glue").get_job(JobName=JOB)["Job"]["DefaultArguments"]
    assert {k: live[k] for k in ARGUMENTS} == ARGUMENTS  # Glue gets the values: masking is for outputs

    quick_run_project(project)
    (project.root / "glue_scripts" / "car_brands_job.py").write_text(FAILING_JOB)
    assert project.cli("apply", "--auto-approve").exit_code == 0
    run = project.cli("run", "--timeout", "120", "--json", "--arg", f"--token={GITHUB_TOKEN}")
    assert run.exit_code == 1, run.output
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    failed = events[-1]
    assert failed["event"] == "run_failed" and "admin:****@db.example.com" in failed["error"], failed
    assert_masked(run.output, "run --json")

    runs = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="prepared/runs/")["Contents"]
    record_key = next(o["Key"] for o in runs if o["Key"].endswith("/_run.json"))
    record = aws.client("s3").get_object(Bucket=BUCKET, Key=record_key)["Body"].read().decode()
    assert "admin:****@db.example.com" in record
    assert_masked(record, "the run record in S3")
    run_id = record_key.split("/")[2]
    for args in (("history",), ("history", "--json"), ("show", run_id), ("show", "--json", run_id)):
        shown = project.cli(*args)
        assert shown.exit_code == 0, shown.output
        assert_masked(shown.output, " ".join(args))
