"""Hostile specs: a spec that would let an upload, a job argument or a crawler reach the tool's own
keys, widen the role, load code from elsewhere, or name things that look like other things is refused by
`validate`, `plan` and `apply --auto-approve` alike: exit 1, file:line of the offending value, the reason, and
not one request reaches the endpoint (its request counter, `GET /_reconciler/faults` `aws_requests`, does not
move)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import pytest

from reconciler_local.lifecycle import call_admin

from .conftest import BUCKET, Project

OUTPUT = "--output_path: s3://${PIPELINE_BUCKET:-car-brands-pipeline-local}/prepared/"
INPUT = "--input_path: s3://${PIPELINE_BUCKET:-car-brands-pipeline-local}/raw/car_brands/"
METRICS = '--enable-metrics: "true"'
SCRIPT_UPLOAD = "      prefix: scripts/\n"
CRAWLER_TARGET = "        - s3://${PIPELINE_BUCKET:-car-brands-pipeline-local}/raw/car_brands/\n"
CRON = "cron: cron(0 0 1 */3 ? *)"


@dataclass(frozen=True)
class Hostile:
    id: str
    old: str
    new: str
    field: str  # the document path the message names
    words: str  # what the message must say (the reason)
    line_of: str | None = None  # text on the reported line (default: the first line of `new`)
    files: dict[str, str] = dataclass_field(default_factory=dict)  # files to create in the project first


def _upload(source: str, prefix: str) -> str:
    return f"{SCRIPT_UPLOAD}    - source: {source}\n      prefix: {prefix}\n"


def _argument(text: str) -> str:
    return f"{METRICS}\n        {text}"


CASES = [
    # --- 1. reserved keys ------------------------------------------------------------------------------------
    Hostile("upload-into-internal-prefix", SCRIPT_UPLOAD, _upload("evil/lock.json", ".reconciler/"),
            "spec.uploads[2].prefix", "no upload may write there", line_of="      prefix: .reconciler/",
            files={"evil/lock.json": '{"id": "x", "holder": "y"}'}),
    Hostile("upload-writes-the-pointer", SCRIPT_UPLOAD, _upload("evil/_published.json", "prepared/"),
            "spec.uploads[2].source", "the publish pointer", line_of="    - source: evil/_published.json",
            files={"evil/_published.json": '{"run_id": "evil", "prefix": "s3://attacker/data/"}'}),
    Hostile("upload-writes-the-manifest", SCRIPT_UPLOAD, _upload("evil/manifest.json", "quicksight/"),
            "spec.uploads[2].source", "the QuickSight manifest", line_of="    - source: evil/manifest.json",
            files={"evil/manifest.json": '{"fileLocations": [{"URIPrefixes": ["s3://attacker/"]}]}'}),
    Hostile("upload-into-a-run-prefix", SCRIPT_UPLOAD, _upload("evil/", "prepared/runs/20260101T000000Z-abcdef/"),
            "spec.uploads[2].prefix", "the run prefixes", line_of="      prefix: prepared/runs/",
            files={"evil/_gate.json": '{"passed": true}'}),
    Hostile("manifest-over-the-pointer", "      key: quicksight/manifest.json", "      key: prepared/_published.json",
            "spec.quicksight.manifest.key", "the publish pointer"),
    Hostile("manifest-in-the-internal-prefix", "      key: quicksight/manifest.json",
            "      key: .reconciler/lock.json", "spec.quicksight.manifest.key", "the tool's internal prefix"),
    Hostile("crawler-reads-internal-keys", CRAWLER_TARGET, f"        - s3://{BUCKET}/.reconciler/\n",
            "spec.crawlers[0].targets[0]", "the tool's own objects"),
    Hostile("crawler-reads-the-pointer", CRAWLER_TARGET, f"        - s3://{BUCKET}/prepared/\n",
            "spec.crawlers[0].targets[0]", "the publish pointer"),
    # --- 2. job arguments by role ----------------------------------------------------------------------------
    Hostile("output-in-another-bucket", OUTPUT, "--output_path: s3://someone-elses-bucket/prepared/",
            "spec.jobs[0].arguments['--output_path']", "must lie inside the pipeline's bucket"),
    Hostile("output-is-the-raw-prefix", OUTPUT, f"--output_path: s3://{BUCKET}/raw/car_brands/",
            "spec.jobs[0].arguments['--output_path']", "overlaps the upload spec.uploads[0]"),
    Hostile("output-above-the-raw-prefix", OUTPUT, f"--output_path: s3://{BUCKET}/raw/",
            "spec.jobs[0].arguments['--output_path']", "could overwrite or delete the uploaded data"),
    Hostile("output-is-the-internal-prefix", OUTPUT, f"--output_path: s3://{BUCKET}/.reconciler/",
            "spec.jobs[0].arguments['--output_path']", "overlaps '.reconciler/'"),
    Hostile("output-is-the-script-prefix", OUTPUT, f"--output_path: s3://{BUCKET}/scripts/",
            "spec.jobs[0].arguments['--output_path']", "could rewrite its own code"),
    Hostile("output-is-the-bucket-root", OUTPUT, f"--output_path: s3://{BUCKET}/",
            "spec.jobs[0].arguments['--output_path']", "not the bucket root"),
    Hostile("output-with-dot-dot", OUTPUT, f"--output_path: s3://{BUCKET}/../evil/",
            "spec.jobs[0].arguments['--output_path']", "'..' segments"),
    Hostile("output-with-double-slash", OUTPUT, f"--output_path: s3://{BUCKET}/prepared//x/",
            "spec.jobs[0].arguments['--output_path']", "empty segment ('//')"),
    Hostile("output-without-trailing-slash", OUTPUT, f"--output_path: s3://{BUCKET}/prepared",
            "spec.jobs[0].arguments['--output_path']", "end with '/'"),
    Hostile("second-output-in-the-manifest", METRICS, _argument(f"--report_output: s3://{BUCKET}/quicksight/"),
            "spec.jobs[0].arguments['--report_output']", "the QuickSight manifest", line_of="        --report_output"),
    Hostile("input-in-another-bucket", INPUT, "--input_path: s3://someone-elses-bucket/raw/",
            "spec.jobs[0].arguments['--input_path']", "the job's role must be able to read it"),
    *[
        Hostile(f"code-from-another-bucket{name}", METRICS, _argument(f"{name}: s3://attacker-bucket/lib/x.py"),
                f"spec.jobs[0].arguments['{name}']", "spec.allow.external_code", line_of=f"        {name}:")
        for name in ("--extra-py-files", "--extra-jars", "--extra-files", "--scriptLocation")
    ],
    Hostile("code-in-a-list-from-another-bucket", METRICS,
            _argument(f"--extra-py-files: s3://{BUCKET}/scripts/a.py,s3://attacker-bucket/b.py"),
            "spec.jobs[0].arguments['--extra-py-files']", "loads code from 's3://attacker-bucket/b.py'",
            line_of="        --extra-py-files:"),
    Hostile("python-module-wheel-from-another-bucket", METRICS,
            _argument("--additional-python-modules: pandas==2.2.2,s3://attacker-bucket/evil-1.0-py3-none-any.whl"),
            "spec.jobs[0].arguments['--additional-python-modules']", "outside the pipeline's bucket",
            line_of="        --additional-python-modules:"),
    Hostile("code-under-the-job-output", METRICS, _argument(f"--extra-py-files: s3://{BUCKET}/prepared/lib.py"),
            "spec.jobs[0].arguments['--extra-py-files']", "could write the code it then loads",
            line_of="        --extra-py-files:"),
    Hostile("allow-entry-not-s3", "  publish:\n", "  allow:\n    external_code: [https://example.com/]\n  publish:\n",
            "spec.allow.external_code[0]", "must be an S3 prefix", line_of="    external_code:"),
    # --- 3. names a person can tell apart --------------------------------------------------------------------
    Hostile("cyrillic-e-in-a-job-name", "    - name: car-brands-prepare", "    - name: car-brands-prepar\u0435",
            "spec.jobs[0].name", "CYRILLIC SMALL LETTER IE"),
    Hostile("fullwidth-crawler-name", "    - name: car-brands-raw", "    - name: car-brands-\uff52\uff41\uff57",
            "spec.crawlers[0].name", "FULLWIDTH LATIN SMALL LETTER R"),
    Hostile("cyrillic-o-in-the-role-name", "name: car-brands-glue", "name: car-brands-gl\u043ee",
            "spec.role.managed.name", "CYRILLIC SMALL LETTER O"),
    Hostile("greek-in-the-workflow-name", "workflow: car-brands-quarterly", "workflow: car-brands-quarterl\u03bd",
            "spec.schedule.workflow", "GREEK SMALL LETTER NU"),
    Hostile("tab-in-a-crawler-name", "    - name: car-brands-raw", '    - name: "car-brands\\traw"',
            "spec.crawlers[0].name", "tab"),
    Hostile("arabic-indic-digit-in-cron", CRON, "cron: cron(\u0660 0 1 * ? *)", "spec.schedule.cron", "minutes"),
    Hostile("cron-on-31-february", CRON, "cron: cron(0 0 31 2 ? *)", "spec.schedule.cron", "can never fire"),
    Hostile("cron-on-30-february", CRON, "cron: cron(0 0 30 2 ? *)", "spec.schedule.cron", "30 February"),
    Hostile("cron-in-a-past-year", CRON, "cron: cron(0 0 1 1 ? 2020-2024)", "spec.schedule.cron",
            "every time it names is in the past"),
]  # fmt: skip


def aws_requests(url: str) -> int:
    return int(call_admin(url, "faults")["aws_requests"])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_spec_is_refused_with_location_and_no_request(case: Hostile, project: Project, aws: Any) -> None:
    for relative, content in case.files.items():
        path = project.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    project.edit(case.old, case.new)
    text = project.spec.read_text()
    marker = case.line_of or case.new.splitlines()[0]
    expected_line = text[: text.index(marker)].count("\n") + 1

    before = aws_requests(aws.url)
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"]):
        result = project.cli(*command)
        assert result.exit_code == 1, (command, result.output)
        output = " ".join(result.output.split())  # rich may wrap long lines
        assert f"pipeline.yaml:{expected_line}:" in output, output
        assert f"{case.field}:" in output, output
        assert case.words in output, output
        assert "Traceback" not in output
    assert aws_requests(aws.url) == before, "an invalid spec made a request to the endpoint"


def test_the_request_counter_counts(project: Project, aws: Any) -> None:
    """The counter the corpus relies on moves when a command does reach the endpoint."""
    before = aws_requests(aws.url)
    result = project.cli("plan")
    assert result.exit_code == 0, result.output
    assert aws_requests(aws.url) > before


def test_allowed_external_code_and_inputs_are_accepted_granted_and_shown(project: Project, aws: Any) -> None:
    """The allow-list is the explicit way out: the spec validates, the managed role may read exactly there, and
    the code-loading argument is listed in the plan's security section."""
    project.edit(INPUT, "--input_path: s3://shared-data-bucket/cars/raw/")
    project.edit(METRICS, _argument("--extra-py-files: s3://shared-code-bucket/libs/helpers.zip"))
    project.edit("  publish:\n", "  allow:\n    external_code: [s3://shared-code-bucket/libs/]\n"
                                 "    external_inputs: [s3://shared-data-bucket/cars/]\n  publish:\n")  # fmt: skip
    assert project.cli("validate").exit_code == 0
    plan = project.plan_json()
    role = next(c for c in plan["changes"] if c["address"] == "role.car-brands-glue")
    policy = next(a["after"] for a in role["attributes"] if a["path"] == "access_policy")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadAllowedExternal"]["Resource"] == [
        "arn:aws:s3:::shared-code-bucket/libs/helpers.zip*",
        "arn:aws:s3:::shared-data-bucket/cars/raw/*",
    ]
    assert by_sid["ListAllowedExternal1"]["Resource"] == ["arn:aws:s3:::shared-data-bucket"]
    assert by_sid["ListAllowedExternal1"]["Condition"] == {"StringLike": {"s3:prefix": ["cars/raw/*"]}}
    assert by_sid["WriteJobOutputs"]["Resource"] == [f"arn:aws:s3:::{BUCKET}/prepared/runs/*"]
    human = " ".join(project.cli("plan").output.split())
    security = human[human.index("Security-relevant changes") :]
    assert "! job.car-brands-prepare default_arguments.--extra-py-files: loads code" in security, security


def test_a_code_argument_added_to_a_live_job_is_in_the_security_section(project: Project, aws: Any) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit(METRICS, _argument(f"--extra-py-files: s3://{BUCKET}/scripts/car_brands_job.py"))
    human = " ".join(project.cli("plan").output.split())
    security = human[human.index("Security-relevant changes") :]
    assert "! job.car-brands-prepare default_arguments.--extra-py-files: loads code" in security, security
    assert "--enable-metrics" not in security, security  # only the code-loading entry


@pytest.mark.parametrize(
    ("argument", "words"),
    [
        ("--extra-py-files=s3://attacker-bucket/x.py", "spec.allow.external_code"),
        ("--input_path=s3://attacker-bucket/raw/", "the job's role must be able to read it"),
        (f"--report_output=s3://{BUCKET}/.reconciler/", "outputs are declared in the spec"),
    ],
)
def test_run_arguments_follow_the_same_roles(argument: str, words: str, project: Project, aws: Any) -> None:
    """`run --arg` cannot do what the spec may not: refused (exit 64) before any request."""
    before = aws_requests(aws.url)
    result = project.cli("run", "--arg", argument)
    assert result.exit_code == 64, result.output
    output = " ".join(result.output.split())
    assert f"--arg {argument.split('=')[0]}:" in output and words in output, output
    assert "Traceback" not in output
    assert aws_requests(aws.url) == before
