"""What a user reads and scripts against: the plan's wording
against the endpoint, plan --json for creates, --detailed-exitcode with a conflict, saved destroy and targeted
plans, --region, --no-color / NO_COLOR under a terminal, and validate's editor-friendly lines."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from typing import Any

from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, EXIT_USAGE
from reconciler.resources.role import INLINE_POLICY
from reconciler_local.lifecycle import call_admin

from .conftest import BUCKET, JOB, Project

ROLE = "car-brands-glue"


def test_plan_json_lists_what_each_create_will_make(project: Project) -> None:
    changes = project.changes()
    bucket = {a["path"]: a for a in changes[f"bucket.{BUCKET}"]["attributes"]}
    assert bucket["region"] == {"path": "region", "before": None, "after": "eu-central-1"}
    assert bucket["versioning"]["after"] is True and bucket["tags.reconciler:pipeline"]["after"] == "car-brands"
    role = {a["path"]: a["after"] for a in changes[f"role.{ROLE}"]["attributes"]}
    assert {s["Sid"] for s in role["access_policy"]["Statement"]} >= {"ListPipelineBucket", "WriteJobOutputs"}
    job = {a["path"]: a["after"] for a in changes[f"job.{JOB}"]["attributes"]}
    assert job["number_of_workers"] == 2
    upload = {a["path"]: a["after"] for a in changes["upload.scripts/car_brands_job.py"]["attributes"]}
    assert set(upload["objects"]) == {"scripts/car_brands_job.py"}


def test_a_conflict_is_no_change_for_detailed_exitcode_and_fails_it_like_apply(project: Project, aws: Any) -> None:
    aws.client("glue").create_database(DatabaseInput={"Name": "car_brands"})  # someone else's, untagged
    plain = project.cli("plan")
    assert plain.exit_code == EXIT_OK, plain.output
    detailed = project.cli("plan", "--detailed-exitcode")
    assert detailed.exit_code == EXIT_ERROR, detailed.output  # not 2: apply would refuse it
    assert "database.car_brands: exists but is owned by no pipeline" in detailed.output
    assert "--adopt" in detailed.output
    adopted = project.cli("plan", "--detailed-exitcode", "--adopt", "database.car_brands")
    assert adopted.exit_code == EXIT_CHANGES, adopted.output


def test_a_saved_destroy_plan_applies(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    planfile = project.root / "destroy.json"
    made = project.cli("plan", "--destroy", "--force", "--out", str(planfile))
    assert made.exit_code == 0, made.output
    assert json.loads(planfile.read_text())["options"] == {"destroy": True, "targets": [], "adopt": [], "force": True}
    applied = project.cli("apply", str(planfile))
    assert applied.exit_code == 0, applied.output
    assert "Destroy complete" in applied.output
    assert aws.client("glue").get_jobs()["Jobs"] == []
    assert BUCKET not in {b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]}


def test_a_saved_plan_is_applied_as_made_and_refuses_target_adopt_force(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("number_of_workers: 2", "number_of_workers: 4")
    project.edit("table_prefix: raw_", "table_prefix: new_")
    planfile = project.root / "targeted.json"
    assert project.cli("plan", "--target", f"job.{JOB}", "--out", str(planfile)).exit_code == 0
    refused = project.cli("apply", str(planfile), "--target", "crawler.car-brands-raw")
    assert refused.exit_code == EXIT_USAGE, refused.output
    assert "--target crawler.car-brands-raw cannot be combined with the saved plan" in refused.output
    assert "plan --target crawler.car-brands-raw --out" in refused.output  # the hint makes the plan instead
    glue = aws.client("glue")
    assert glue.get_job(JobName=JOB)["Job"]["NumberOfWorkers"] == 2  # nothing was applied
    applied = project.cli("apply", str(planfile))  # made with --target: applied with it (not "live state changed")
    assert applied.exit_code == 0, applied.output
    assert glue.get_job(JobName=JOB)["Job"]["NumberOfWorkers"] == 4
    assert glue.get_crawler(Name="car-brands-raw")["Crawler"]["TablePrefix"] == "raw_"  # not targeted


def test_the_human_plan_shows_policy_statements_uploads_and_what_tightens(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    iam = aws.client("iam")
    policy = json.loads(json.dumps(iam.get_role_policy(RoleName=ROLE, PolicyName=INLINE_POLICY)["PolicyDocument"]))
    policy["Statement"].append({"Sid": "Everything", "Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    iam.put_role_policy(RoleName=ROLE, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(policy))
    new_file = project.root / "Data" / "car_brands" / "ingest_quarter=2026-Q3" / "part-new.csv"
    new_file.write_text("BMW,2026-07-03,10:00:00\n")
    script = project.root / "glue_scripts" / "car_brands_job.py"
    old_size = script.stat().st_size
    script.write_text(script.read_text() + "\n# changed\n")

    text = project.cli("plan").output
    header, _note, text = text.split("\n", 2)  # the region, endpoint and account; the unused cron
    assert header.startswith("Plan for region ") and _note.startswith("Note: spec.schedule.cron")
    assert text.startswith("Symbols: ~ update in place")
    assert '- statement "Everything" (Allow)' in text and "actions       s3:*" in text
    assert f"+ raw/car_brands/ingest_quarter=2026-Q3/part-new.csv ({new_file.stat().st_size} bytes)" in text
    assert f"~ scripts/car_brands_job.py ({old_size:,} bytes -> {script.stat().st_size:,} bytes)" in text
    assert 'objects["' not in text and "…" not in text
    security = text.split("Security-relevant changes", 1)[1]
    assert f"role.{ROLE} access_policy.Statement: tightens" in security
    assert "tightens: no longer allows s3:* on *" in security


def test_region_option_must_repeat_the_specs_region(project: Project, aws: Any) -> None:
    refused = project.cli("plan", "--region", "eu-west-1")
    assert refused.exit_code == EXIT_USAGE, refused.output
    assert "--region eu-west-1 differs from metadata.region 'eu-central-1'" in refused.output
    assert "AWS_REGION=eu-west-1" in refused.output
    assert aws.client("s3").list_buckets()["Buckets"] == []
    assert project.cli("plan", "--region", "eu-central-1").exit_code == 0


def test_a_misspelt_region_fails_validate_in_quickfix_format(project: Project, aws: Any) -> None:
    project.edit("${AWS_REGION:-eu-central-1}", "eu-centrl-1")
    requests = int(call_admin(aws.url, "faults")["aws_requests"])
    planned = project.cli("plan")  # once a 500 with raw HTML from the endpoint; now refused before any request
    assert planned.exit_code == EXIT_ERROR and "did you mean 'eu-central-1'?" in planned.output
    assert int(call_admin(aws.url, "faults")["aws_requests"]) == requests
    result = project.cli("validate")
    assert result.exit_code == EXIT_ERROR
    lines = result.output.strip().splitlines()
    line_no = next(i for i, text in enumerate(project.spec.read_text().splitlines(), 1) if "eu-centrl-1" in text)
    assert lines[0].startswith(f"{project.spec}:{line_no}:11: metadata.region: 'eu-centrl-1' is not an AWS region")
    assert "did you mean 'eu-central-1'?" in lines[0]
    assert re.match(r"^.+:\d+:\d+: ", lines[0])  # file:line:col: (vim's errorformat, VS Code problem matchers)
    assert lines[-1] == f"1 problem in {project.spec}: the spec is not valid."
    assert "nothing was changed" not in result.output


def _read_pty(command: list[str], env: dict[str, str], timeout: float = 120.0) -> tuple[int, bytes]:
    """Run `command` with stdout and stderr on a pseudo-terminal; its exit code and everything it wrote."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the follower closed: the process is done
                break
            if not chunk:
                break
            out += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=30), out


def test_no_color_and_NO_COLOR_emit_no_escape_at_all_on_a_terminal(project: Project) -> None:
    aws_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env = {**aws_env, "TERM": "xterm-256color", "COLUMNS": "100"}
    plan = [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint, "plan"]
    code, coloured = _read_pty(plan, env)
    assert code == 0 and b"\x1b[" in coloured, coloured  # the check can fail: a terminal gets styles by default
    for command, environment in (([*plan, "--no-color"], env), (plan, {**env, "NO_COLOR": "1"})):
        code, out = _read_pty(command, environment)
        assert code == 0, out
        assert b"\x1b" not in out, out
        assert b"Plan: 10 to add" in out
