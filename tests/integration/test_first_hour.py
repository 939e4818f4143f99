"""What a new user meets in the first hour: hints that name commands which work when pasted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any

import pytest

from reconciler.cli.plan_header import endpoint_words
from reconciler_local import call_admin
from reconciler_local.datagen import generate

from ..reliability.test_faults import quick_run_project
from .conftest import BUCKET, JOB, Project
from .test_attach import sleepy_project, wait_running


def test_validate_without_the_raw_data_says_how_to_generate_it(project: Project) -> None:
    shutil.rmtree(project.root / "Data" / "car_brands")
    result = project.cli("validate")
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "'Data/car_brands' does not exist" in text
    found = re.search(r"to generate the example's raw data there: (\S+ -m reconciler_local\.datagen --out \S+)", text)
    assert found, text
    pasted = subprocess.run(found.group(1) + " --rows 2000", shell=True, capture_output=True, text=True, timeout=120)
    assert pasted.returncode == 0, pasted.stderr
    assert (project.root / "Data" / "car_brands" / "ingest_quarter=2026-Q3").is_dir()
    assert project.cli("validate").exit_code == 0


def test_the_plan_names_region_endpoint_and_account(project: Project, aws: Any) -> None:
    planned = project.cli("plan")
    assert planned.exit_code == 0, planned.output
    first = planned.output.splitlines()[0]
    assert first == f"Plan for region {aws.region} on endpoint {aws.url}, account 123456789012.", first


def test_aws_is_named_aws() -> None:
    assert endpoint_words("https://sts.eu-central-1.amazonaws.com", local=False) == "AWS"
    assert endpoint_words("http://127.0.0.1:4566", local=True) == "http://127.0.0.1:4566 (the local endpoint)"


def test_an_unused_cron_is_named_by_validate_and_plan(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("cron: cron(0 0 1 */3 ? *)", "cron: cron(0 6 1 */3 ? *)")
    note = "Note: spec.schedule.cron (cron(0 6 1 */3 ? *)) is unused while spec.schedule.in_aws is false"
    validated = project.cli("validate")
    assert validated.exit_code == 0 and note in validated.output, validated.output
    planned = project.cli("plan", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output  # editing it changes nothing ...
    assert note in planned.output and "No changes" in planned.output  # ... and the plan says why
    project.edit("in_aws: false", "in_aws: true")
    assert "is unused" not in project.cli("validate").output


def test_import_beside_a_spec_takes_its_region(project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    out = project.root / "imported" / "pipeline.yaml"
    result = project.cli("import", "--bucket", BUCKET, "--crawler", "car-brands-raw", "--job", JOB,
                         "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output  # the spec beside it declares eu-central-1
    assert "no region" not in result.output and out.is_file()
    assert "region: \"eu-central-1\"" in out.read_text()
    text = " ".join(result.output.split())  # the bucket is the applied pipeline's: import says so
    assert f"Warning: bucket '{BUCKET}' already belongs to pipeline 'car-brands'" in text, text
    assert f"--adopt bucket.{BUCKET}" in text


def test_terraforms_one_dash_spelling_gets_a_did_you_mean(project: Project) -> None:
    result = project.cli("apply", "-auto-approve")
    assert result.exit_code == 64, result.output
    assert "No such option: -auto-approve. Did you mean --auto-approve?" in result.output


def test_the_stop_command_works_as_pasted_on_the_local_endpoint(project: Project, aws: Any, tmp_path: Any) -> None:
    """With no AWS credentials in the shell (a new user's): the hint carries the dummy ones the endpoint takes."""
    sleepy_project(project, aws, seconds=120)
    glue = aws.client("glue")
    run_id = glue.start_job_run(JobName=JOB)["JobRunId"]
    wait_running(aws)
    refused = project.cli("destroy", "--auto-approve", "--force")
    assert refused.exit_code == 1, refused.output
    (line,) = [x for x in refused.output.splitlines() if "batch-stop-job-run" in x]
    pasted = line.split("stop it with: ", 1)[1]
    assert pasted.startswith("AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws glue"), pasted
    shell = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"HOME": str(tmp_path)}
    done = subprocess.run(pasted, shell=True, env=shell, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    state = glue.get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["JobRunState"]
    assert state in {"STOPPING", "STOPPED"}, state


def test_a_run_of_a_quarter_that_is_not_over_warns(project: Project, aws: Any) -> None:
    quick_run_project(project)
    generate(project.root / "Data" / "car_brands", rows=200, quarter="2026-Q4",
             truth_path=project.root / "truth.json")  # fmt: skip
    call_admin(aws.url, "clock", {"now": "2026-11-15T06:00:00Z"})  # halfway through 2026-Q4
    result = project.cli("run", "--quarter", "2026-Q4", "--timeout", "120")
    text = " ".join(result.output.split())
    assert "quarter 2026-Q4 is not over yet (it ends 2026-12-31)" in text, result.output
    over = project.cli("run", "--quarter", "2026-Q3", "--timeout", "120")
    assert "is not over yet" not in over.output, over.output


def test_adopt_all_leaves_another_pipelines_resources_alone(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("  name: car-brands\n", "  name: car-brands-copy\n")  # the same names, another pipeline
    changes = project.changes("--adopt", "all")
    crawler = changes["crawler.car-brands-raw"]
    assert crawler["action"] == "conflict", crawler
    assert "owned by pipeline 'car-brands'" in crawler["reason"] and "--adopt all leaves" in crawler["reason"]
    taken = project.changes("--adopt", "crawler.car-brands-raw")["crawler.car-brands-raw"]
    assert taken["action"] == "adopt" and taken["reason"] == "taken over from pipeline 'car-brands' on request"
