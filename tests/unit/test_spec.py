"""The spec loader: the example loads into the model, interpolation, defaults, and every semantic rule."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.cron_cases import CASES as CRON_CASES
from tests.cron_cases import VALIDATION_NOW as CRON_NOW
from tests.cron_cases import CronCase
from tests.helpers import make_spec_project

from reconciler.errors import Problem, SpecError
from reconciler.spec import model
from reconciler.spec.load import format_path, interpolate, load_spec, validate_file
from reconciler.spec.rules import (
    bucket_name_problems,
    database_name_problems,
    glue_cron_problems,
    glue_name_problems,
    key_prefix_problems,
    kms_key_arn_problems,
    object_key_problems,
    pipeline_name_problems,
    region_problems,
    role_arn_problems,
    role_name_problems,
    s3_uri_problems,
    table_prefix_problems,
    tag_key_problems,
)
from reconciler.spec.schemas import load_schema

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_TEXT = (REPO / "pipeline.yaml").read_text(encoding="utf-8")

MINIMAL = """\
apiVersion: reconciler/v1
kind: Pipeline
metadata:
  name: tiny
  region: eu-west-1
spec:
  bucket:
    name: tiny-bucket
  role:
    arn: arn:aws:iam::123456789012:role/service/glue-runner
  database:
    name: tiny
"""


def problems_of(spec: Path, env: dict[str, str] | None = None) -> list[Problem]:
    return validate_file(spec, env or {})


def messages(spec: Path, env: dict[str, str] | None = None) -> list[str]:
    return [f"{p.path}: {p.message}" for p in problems_of(spec, env)]


# --- the example ---------------------------------------------------------------------------------------


def test_example_loads_into_the_model(tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path)
    pipeline = load_spec(spec, env={})

    assert pipeline.name == "car-brands"
    assert pipeline.region == "eu-central-1"
    assert pipeline.tags == (("owner", "data-engineering"), ("project", "car-brands"))
    assert pipeline.bucket == model.Bucket(
        name="car-brands-pipeline-local", versioning=True, encryption=model.Encryption("SSE-S3"), force_destroy=False
    )
    data, script = pipeline.uploads
    assert data == model.Upload(
        source=(tmp_path / "Data" / "car_brands").resolve(),
        source_text="Data/car_brands",
        prefix="raw/car_brands/",
        is_dir=True,
    )
    assert script.source == (tmp_path / "glue_scripts" / "car_brands_job.py").resolve()
    assert (script.prefix, script.is_dir) == ("scripts/", False)
    assert pipeline.role == model.Role(managed_name="car-brands-glue")
    assert pipeline.database.name == "car_brands"
    (crawler,) = pipeline.crawlers
    assert crawler.targets == ("s3://car-brands-pipeline-local/raw/car_brands/",)
    assert (crawler.table_prefix, crawler.schedule, crawler.recrawl_policy) == ("raw_", None, "CRAWL_EVERYTHING")
    (job,) = pipeline.jobs
    assert job.script == "scripts/car_brands_job.py"
    assert (job.glue_version, job.worker_type, job.number_of_workers) == ("5.0", "G.1X", 2)
    assert (job.timeout_minutes, job.max_retries, job.max_concurrent_runs) == (60, 0, 1)
    assert job.arguments == (
        ("--enable-metrics", "true"),
        ("--input_path", "s3://car-brands-pipeline-local/raw/car_brands/"),
        ("--output_path", "s3://car-brands-pipeline-local/prepared/"),
    )
    assert pipeline.schedule == model.Schedule(
        workflow="car-brands-quarterly", cron="cron(0 0 1 */3 ? *)", crawler="car-brands-raw", job="car-brands-prepare"
    )
    manifest = pipeline.quicksight.manifest
    assert manifest is not None
    assert manifest.template == (tmp_path / "quicksight" / "manifest.template.json").resolve()
    assert (manifest.key, manifest.data_prefix, manifest.format, manifest.delimiter) == (
        "quicksight/manifest.json",
        "prepared/aggregated/csv/",
        "CSV",
        ",",
    )
    assert pipeline.spec_file == spec.resolve()
    assert len(pipeline.spec_sha256) == 64
    assert validate_file(spec, {}) == []


def test_example_reads_the_environment(tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.csv").write_text("x\n")
    env = {"PIPELINE_BUCKET": "acme-cars", "AWS_REGION": "us-east-1", "DATA_DIR": "elsewhere"}

    pipeline = load_spec(spec, env)

    assert pipeline.bucket.name == "acme-cars"
    assert pipeline.region == "us-east-1"
    assert pipeline.crawlers[0].targets == ("s3://acme-cars/raw/car_brands/",)
    assert dict(pipeline.jobs[0].arguments)["--output_path"] == "s3://acme-cars/prepared/"
    assert pipeline.uploads[0].source == (tmp_path / "elsewhere").resolve()


def test_spec_hash_follows_the_interpolated_document_not_the_formatting(tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path)
    first = load_spec(spec, {}).spec_sha256
    spec.write_text("# a new comment\n" + EXAMPLE_TEXT.replace("  name: car-brands\n", "  name:   car-brands\n"))
    assert load_spec(spec, {}).spec_sha256 == first
    assert load_spec(spec, {"PIPELINE_BUCKET": "acme-cars"}).spec_sha256 != first


def test_env_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = make_spec_project(tmp_path)
    monkeypatch.setenv("PIPELINE_BUCKET", "from-os-environ")
    assert load_spec(spec).bucket.name == "from-os-environ"


def test_defaults_are_the_ones_the_schema_documents(tmp_path: Path) -> None:
    """We own what we declare: every absent field becomes exactly the schema's documented default."""
    text = MINIMAL + (
        "  crawlers:\n    - name: c\n      targets: [s3://tiny-bucket/raw/]\n"
        "  uploads:\n    - source: job.py\n"
        "  jobs:\n    - name: j\n      script: job.py\n"
        "  schedule:\n    workflow: w\n    cron: cron(0 0 1 */3 ? *)\n    crawler: c\n    job: j\n"
        "  quicksight:\n    manifest:\n      template: t.json\n      output: out.json\n"
        "      key: m.json\n      data_prefix: csv/\n"
    )
    (tmp_path / "job.py").write_text("")
    (tmp_path / "t.json").write_text("{}")
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(text)
    pipeline = load_spec(spec, {})
    props = load_schema("pipeline.v1.json")["properties"]["spec"]["properties"]

    def default(section: dict[str, Any], *names: str) -> Any:
        for name in names[:-1]:
            section = section[name]["properties"]
        return section[names[-1]]["default"]

    crawler_props = props["crawlers"]["items"]["properties"]
    job_props = props["jobs"]["items"]["properties"]
    manifest_props = props["quicksight"]["properties"]["manifest"]["properties"]
    crawler, job = pipeline.crawlers[0], pipeline.jobs[0]
    manifest = pipeline.quicksight.manifest
    assert manifest is not None
    pairs = [
        (pipeline.tags, ()),
        (pipeline.bucket.versioning, default(props["bucket"]["properties"], "versioning")),
        (pipeline.bucket.force_destroy, default(props["bucket"]["properties"], "force_destroy")),
        (pipeline.bucket.encryption.type, default(props["bucket"]["properties"], "encryption", "type")),
        (pipeline.uploads[0].prefix, default(props["uploads"]["items"]["properties"], "prefix")),
        (pipeline.uploads[0].allow_outside_project, False),
        (pipeline.database.description, default(props["database"]["properties"], "description")),
        (crawler.table_prefix, default(crawler_props, "table_prefix")),
        (crawler.recrawl_policy, default(crawler_props, "recrawl_policy")),
        (crawler.description, default(crawler_props, "description")),
        (
            crawler.schema_change_policy.update_behavior,
            default(crawler_props, "schema_change_policy", "update_behavior"),
        ),
        (
            crawler.schema_change_policy.delete_behavior,
            default(crawler_props, "schema_change_policy", "delete_behavior"),
        ),
        (job.glue_version, default(job_props, "glue_version")),
        (job.worker_type, default(job_props, "worker_type")),
        (job.number_of_workers, default(job_props, "number_of_workers")),
        (job.timeout_minutes, None),  # no single default: AWS's depends on the Glue version (job FIELDS)
        (job.max_retries, default(job_props, "max_retries")),
        (job.max_concurrent_runs, default(job_props, "max_concurrent_runs")),
        (dict(job.arguments), default(job_props, "arguments")),
        (job.description, default(job_props, "description")),
        (pipeline.schedule and pipeline.schedule.enabled, True),
        (manifest.format, default(manifest_props, "format")),
        (manifest.contains_header, default(manifest_props, "contains_header")),
        (manifest.delimiter, ","),
    ]
    for actual, documented in pairs:
        assert actual == documented
    assert crawler.schedule is None


def test_absent_optional_sections(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(MINIMAL)
    pipeline = load_spec(spec, {})
    assert (pipeline.uploads, pipeline.crawlers, pipeline.jobs, pipeline.schedule) == ((), (), (), None)
    assert pipeline.quicksight == model.QuickSight(manifest=None)
    assert pipeline.role == model.Role(arn="arn:aws:iam::123456789012:role/service/glue-runner")


def test_tsv_manifest_defaults_to_a_tab(tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path, EXAMPLE_TEXT.replace("format: CSV", "format: TSV"))
    manifest = load_spec(spec, {}).quicksight.manifest
    assert manifest is not None and manifest.delimiter == "\t"


def test_kms_encryption_loads(tmp_path: Path) -> None:
    text = EXAMPLE_TEXT.replace(
        "type: SSE-S3          # or SSE-KMS with kms_key_arn",
        "type: SSE-KMS\n      kms_key_arn: arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab",
    )
    spec = make_spec_project(tmp_path, text)
    assert load_spec(spec, {}).bucket.encryption == model.Encryption(
        "SSE-KMS", "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab"
    )


def test_schema_documents_every_field_and_refuses_unknown_keys() -> None:
    def walk(node: dict[str, Any], where: str) -> None:
        if "$ref" not in node:
            assert node.get("description"), f"{where} has no description"
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, f"{where} accepts unknown keys"
        for name, child in node.get("properties", {}).items():
            walk(child, f"{where}.{name}")
        if isinstance(node.get("items"), dict):
            walk({"description": "item", **node["items"]}, f"{where}[]")

    schema = load_schema("pipeline.v1.json")
    walk(schema, "$")
    for name, definition in schema["$defs"].items():
        walk(definition, f"$defs.{name}")


# --- problems: format and location ---------------------------------------------------------------------


def test_problem_format_and_location_of_an_unknown_key(tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path, EXAMPLE_TEXT.replace("      table_prefix: raw_", "      tabel_prefix: raw_"))
    (problem,) = problems_of(spec)
    line = EXAMPLE_TEXT.splitlines().index("      table_prefix: raw_") + 1
    assert (problem.line, problem.column, problem.path) == (line, 7, "spec.crawlers[0].tabel_prefix")
    assert problem.message == "unknown key 'tabel_prefix' (did you mean 'table_prefix'?)"
    assert str(problem) == f"{spec}:{line}:7: spec.crawlers[0].tabel_prefix: {problem.message}"


def test_spec_error_carries_every_problem(tmp_path: Path) -> None:
    text = EXAMPLE_TEXT.replace("worker_type: G.1X", "worker_type: G.9X").replace(
        "cron(0 0 1 */3 ? *)", "cron(0 0 1 *)"
    )
    spec = make_spec_project(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_spec(spec, {})
    assert [p.path for p in caught.value.problems] == ["spec.jobs[0].worker_type", "spec.schedule.cron"]
    assert "2 problems in the spec" in caught.value.message


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("spec", "crawlers", 0, "schedule"), "spec.crawlers[0].schedule"),
        (("spec", "jobs", 0, "arguments", "--input_path"), "spec.jobs[0].arguments['--input_path']"),
        (("metadata", "tags", "cost center"), "metadata.tags['cost center']"),
        ((), ""),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


def test_unreadable_inputs_are_located_problems(tmp_path: Path) -> None:
    assert messages(tmp_path / "missing.yaml") == [": file not found"]
    assert messages(tmp_path) == [": is a directory, not a pipeline.yaml file"]
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"apiVersion: reconciler/v1\nkind: \xff\n")
    (problem,) = problems_of(binary)
    assert (problem.line, problem.column) == (2, 7)
    assert "not UTF-8" in problem.message
    huge = tmp_path / "huge.yaml"
    huge.write_text("# " + "x" * 1_000_001)
    assert "larger than" in problems_of(huge)[0].message
    control = tmp_path / "control.yaml"
    control.write_text("apiVersion: reconciler/v1\nkind: Pipe\x07line\n")
    (problem,) = problems_of(control)
    assert (problem.line, problem.column) == (2, 11)
    assert "U+0007" in problem.message


# --- interpolation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("s3://${A}/raw/", {"A": "b"}, "s3://b/raw/"),
        ("${A:-fallback}", {}, "fallback"),
        ("${A:-fallback}", {"A": ""}, "fallback"),  # like the shell: empty counts as unset for :-
        ("${A:-}", {}, ""),
        ("${A}", {"A": ""}, ""),
        ("${A:-x y:z/w}", {}, "x y:z/w"),
        ("$${A}", {"A": "x"}, "${A}"),
        ("cost: $5 and $$", {}, "cost: $5 and $$"),
        ("${A}${B}", {"A": "1", "B": "2"}, "12"),
        ("${A}", {"A": "${B}"}, "${B}"),  # values from the environment are never interpolated again
    ],
)
def test_interpolate(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env) == (expected, [])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("${MISSING}", "environment variable MISSING is not set and has no default"),
        ("${}", "malformed variable reference '${}'"),
        ("${1ABC}", "malformed variable reference"),
        ("${UNCLOSED", "malformed variable reference"),
        ("${A:+x}", "malformed variable reference"),
    ],
)
def test_interpolation_issues(text: str, fragment: str) -> None:
    _, (issue,) = interpolate(text, {})
    assert fragment in issue.message


def test_missing_variable_is_located_at_the_reference_and_silences_cascades(tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path, EXAMPLE_TEXT.replace("${AWS_REGION:-eu-central-1}", "${AWS_REGION}"))
    (problem,) = problems_of(spec)
    line = EXAMPLE_TEXT.splitlines().index("  region: ${AWS_REGION:-eu-central-1}") + 1
    assert (problem.line, problem.column, problem.path) == (line, 11, "metadata.region")
    assert problem.message.startswith("environment variable AWS_REGION is not set")


def test_interpolated_numbers_and_booleans_follow_the_schema(tmp_path: Path) -> None:
    text = (
        EXAMPLE_TEXT.replace("number_of_workers: 2", "number_of_workers: ${WORKERS:-4}")
        .replace("versioning: true", 'versioning: "${VERSIONING}"')
        .replace('--enable-metrics: "true"', "--enable-metrics: ${METRICS:-true}")
        .replace("name: car_brands", "name: car_${DB_SUFFIX}")
    )
    spec = make_spec_project(tmp_path, text)
    pipeline = load_spec(spec, {"VERSIONING": "False", "DB_SUFFIX": "2024"})
    assert pipeline.jobs[0].number_of_workers == 4
    assert pipeline.bucket.versioning is False
    assert dict(pipeline.jobs[0].arguments)["--enable-metrics"] == "true"  # a string field stays a string
    assert pipeline.database.name == "car_2024"
    assert messages(spec, {"WORKERS": "many", "VERSIONING": "true", "DB_SUFFIX": "x"}) == [
        "spec.jobs[0].number_of_workers: must be a whole number (got 'many') after reading the environment"
    ]


# --- YAML features -------------------------------------------------------------------------------------


def test_merge_keys_and_anchors_work(tmp_path: Path) -> None:
    text = EXAMPLE_TEXT.replace(
        "  jobs:\n    - name: car-brands-prepare\n",
        "  jobs:\n    - &job\n      name: car-brands-prepare\n",
    ).replace(
        "  schedule:\n",
        "    - <<: *job\n      name: car-brands-second\n      number_of_workers: 5\n  schedule:\n",
    )
    spec = make_spec_project(tmp_path, text)
    first, second = load_spec(spec, {}).jobs
    assert second.name == "car-brands-second"
    assert (second.script, second.number_of_workers, second.arguments) == (first.script, 5, first.arguments)


def test_plain_equals_sign_is_text(tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path, EXAMPLE_TEXT.replace("format: CSV", "format: CSV\n      delimiter: ="))
    manifest = load_spec(spec, {}).quicksight.manifest
    assert manifest is not None and manifest.delimiter == "="


def test_an_unexpected_failure_is_a_located_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> list[object]:
        raise KeyError("boom")

    monkeypatch.setattr("reconciler.spec.load.semantic_findings", broken)
    (problem,) = problems_of(make_spec_project(tmp_path))
    assert (problem.line, problem.column) == (1, 1)
    assert problem.message.startswith("internal error while checking the spec: KeyError")


def test_yaml_dates_stay_text(tmp_path: Path) -> None:
    spec = make_spec_project(
        tmp_path, EXAMPLE_TEXT.replace("description: Raw and prepared", "description: 2024-01-01\n    x: ")
    )
    # the date is kept as text: only the unknown key 'x' is a problem, not the description's type
    assert messages(spec) == ["spec.database.x: unknown key 'x' (allowed here: description, name)"]


# --- uploads and paths ---------------------------------------------------------------------------------


def test_data_dir_outside_the_project_needs_an_explicit_allow(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    spec = make_spec_project(project)
    outside = tmp_path / "shared-data"
    outside.mkdir()
    (outside / "a.csv").write_text("x\n")
    env = {"DATA_DIR": str(outside)}
    (problem,) = problems_of(spec, env)
    assert problem.path == "spec.uploads[0].source"
    assert "points outside the project directory" in problem.message
    assert "allow_outside_project: true" in problem.message

    spec.write_text(
        EXAMPLE_TEXT.replace("prefix: raw/car_brands/", "prefix: raw/car_brands/\n      allow_outside_project: true")
    )
    upload = load_spec(spec, env).uploads[0]
    assert (upload.source, upload.allow_outside_project) == (outside.resolve(), True)


def test_symlinks_out_of_the_project_are_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    spec = make_spec_project(project)
    secret = tmp_path / "secret.txt"
    secret.write_text("password\n")
    (project / "Data" / "car_brands" / "leak.csv").symlink_to(secret)
    (project / "Data" / "car_brands" / "dangling.csv").symlink_to(tmp_path / "nowhere")
    found = messages(spec)
    assert len(found) == 2
    assert any("broken symlink" in m and "dangling.csv" in m for m in found)
    assert any("pointing outside the project directory" in m and "leak.csv" in m for m in found)

    (project / "link.py").symlink_to(secret)
    spec.write_text(EXAMPLE_TEXT.replace("source: glue_scripts/car_brands_job.py", "source: link.py"))
    (project / "Data" / "car_brands" / "leak.csv").unlink()
    (project / "Data" / "car_brands" / "dangling.csv").unlink()
    found = messages(spec)
    assert any(m.startswith("spec.uploads[1].source: points outside the project directory") for m in found)


def test_script_may_come_from_a_directory_upload(tmp_path: Path) -> None:
    text = EXAMPLE_TEXT.replace("source: glue_scripts/car_brands_job.py", "source: glue_scripts").replace(
        "script: scripts/car_brands_job.py", "script: scripts/lib/helpers.py"
    )
    spec = make_spec_project(tmp_path, text)
    (tmp_path / "glue_scripts" / "lib").mkdir()
    (tmp_path / "glue_scripts" / "lib" / "helpers.py").write_text("")
    assert load_spec(spec, {}).jobs[0].script == "scripts/lib/helpers.py"
    (tmp_path / "glue_scripts" / "lib" / "helpers.py").unlink()
    assert messages(spec) == [
        "spec.jobs[0].script: 'scripts/lib/helpers.py' is not uploaded: no entry in spec.uploads produces this key"
    ]


def test_two_uploads_producing_one_key(tmp_path: Path) -> None:
    text = EXAMPLE_TEXT.replace(
        "  role:\n", "    - source: glue_scripts/car_brands_job.py\n      prefix: scripts/\n  role:\n", 1
    )
    spec = make_spec_project(tmp_path, text)
    assert messages(spec) == [
        "spec.uploads[2].source: produces the key 'scripts/car_brands_job.py', which spec.uploads[1] also produces"
    ]


def test_upload_source_kinds(tmp_path: Path) -> None:
    spec = make_spec_project(
        tmp_path, EXAMPLE_TEXT.replace("glue_scripts/car_brands_job.py  #", "glue_scripts/car_brands_job.py/  #")
    )
    assert messages(spec) == ["spec.uploads[1].source: ends with '/' but 'glue_scripts/car_brands_job.py/' is a file"]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        spec.write_text(EXAMPLE_TEXT.replace("source: glue_scripts/car_brands_job.py", "source: pipe"))
        assert "spec.uploads[1].source: 'pipe' is neither a regular file nor a directory" in messages(spec)


def test_manifest_paths(tmp_path: Path) -> None:
    text = EXAMPLE_TEXT.replace("output: quicksight/manifest.json", "output: ../manifest.json").replace(
        "template: quicksight/manifest.template.json", "template: quicksight"
    )
    spec = make_spec_project(tmp_path, text)
    found = messages(spec)
    assert found[0].startswith("spec.quicksight.manifest.template: 'quicksight' is not a file")
    assert found[1].startswith("spec.quicksight.manifest.output: points outside the project directory")


# --- the rules one by one ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["car-brands-pipeline-local", "abc", "a.b-c.1", "1" * 63, "192.168.5"])
def test_good_bucket_names(name: str) -> None:
    assert bucket_name_problems(name) == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("ab", "3-63 characters"),
        ("a" * 64, "3-63 characters"),
        ("Car-Brands", "found 'B', 'C'"),
        ("car_brands", "found '_'"),
        ("-cars", "must start with"),
        ("cars-", "must end with"),
        ("car..brands", "'..'"),
        ("192.168.5.4", "IP address"),
        ("xn--cars", "'xn--'"),
        ("cars-s3alias", "'-s3alias'"),
        ("cars--ol-s3", "'--ol-s3'"),
        ("sthree-cars", "'sthree-'"),
    ],
)
def test_bad_bucket_names(name: str, fragment: str) -> None:
    assert any(fragment in p for p in bucket_name_problems(name))


@pytest.mark.parametrize("case", CRON_CASES, ids=str)
def test_glue_cron_validation_follows_the_shared_table(case: CronCase) -> None:
    now = datetime.strptime(CRON_NOW, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    problems = glue_cron_problems(case.expression, now)
    expected = case.problem or case.never
    if expected is None:
        assert problems == []
    else:
        assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("rule", "value", "fragment"),
    [
        (glue_name_problems, "car brands raw", None),
        (glue_name_problems, "", "1-255 characters"),
        (glue_name_problems, "a" * 256, "1-255 characters"),
        (glue_name_problems, "two\nlines", "single line"),
        (database_name_problems, "car_brands_2024", None),
        (database_name_problems, "Car-Brands", "found '-', 'B', 'C'"),
        (database_name_problems, "d" * 256, "1-255"),
        (table_prefix_problems, "", None),
        (table_prefix_problems, "raw-", "found '-'"),
        (role_name_problems, "car-brands-glue+=,.@_", None),
        (role_name_problems, "r" * 65, "1-64"),
        (role_name_problems, "glue role", "found ' '"),
        (region_problems, "eu-central-1", None),
        (region_problems, "us-gov-west-1", None),
        (region_problems, "Frankfurt", "must look like an AWS region"),
        (region_problems, "cn-northwest-1", None),
        (region_problems, "eu-centrl-1", "did you mean 'eu-central-1'?"),
        (region_problems, "xx-nowhere-1", "is not an AWS region; the regions are those of botocore"),
        (pipeline_name_problems, "car-brands", None),
        (pipeline_name_problems, "-car", "starting with a letter or a digit"),
        (tag_key_problems, "cost center", None),
        (tag_key_problems, "aws:createdBy", "reserved by AWS"),
        (tag_key_problems, "reconciler:pipeline", "reconciler sets them itself"),
        (tag_key_problems, "a{b}", "found '{', '}'"),
        (key_prefix_problems, "", None),
        (key_prefix_problems, "raw/car_brands/", None),
        (key_prefix_problems, "raw", "did you mean 'raw/'"),
        (key_prefix_problems, "/raw/", "leading slash"),
        (key_prefix_problems, "raw/../x/", "'..' segments"),
        (key_prefix_problems, "raw//x/", "empty segment"),
        (key_prefix_problems, "raw\n/", "control characters"),
        (key_prefix_problems, "/", "bucket root"),
        (key_prefix_problems, "k" * 1030 + "/", "1024 bytes"),
        (object_key_problems, "scripts/job.py", None),
        (object_key_problems, "scripts/", "not a prefix"),
        (object_key_problems, "", "must not be empty"),
        (object_key_problems, "./job.py", "'.' or '..'"),
    ],
)
def test_value_rules(rule: Any, value: str, fragment: str | None) -> None:
    found = rule(value)
    if fragment is None:
        assert found == []
    else:
        assert any(fragment in p for p in found), found


@pytest.mark.parametrize(
    ("arn", "region", "fragment"),
    [
        ("arn:aws:iam::123456789012:role/glue", None, None),
        ("arn:aws:iam::123456789012:role/service-role/team/glue", "eu-central-1", None),
        ("arn:aws-cn:iam::123456789012:role/glue", "cn-north-1", None),
        ("arn:aws-us-gov:iam::123456789012:role/glue", "us-gov-west-1", None),
        ("arn:aws:iam::123456789012:role/glue", "cn-north-1", "does not match region"),
        ("car-brands-glue", None, "must be an IAM role ARN"),
        ("arn:aws:iam::1234:role/glue", None, "12 digits"),
        ("arn:aws:iam::123456789012:user/glue", None, "must name a role"),
        ("arn:aws:s3::123456789012:role/glue", None, "must be a iam ARN"),
        ("arn:aws:iam:eu-central-1:123456789012:role/glue", None, "IAM ARNs have no region"),
        ("arn:azure:iam::123456789012:role/glue", None, "partition must be one of"),
        ("arn:aws:iam::123456789012:role/", None, "role name must be 1-64"),
    ],
)
def test_role_arns(arn: str, region: str | None, fragment: str | None) -> None:
    found = role_arn_problems(arn, region)
    assert found == [] if fragment is None else any(fragment in p for p in found), found


@pytest.mark.parametrize(
    ("arn", "fragment"),
    [
        ("arn:aws:kms:eu-central-1:123456789012:key/1234abcd", None),
        ("arn:aws:kms:eu-central-1:123456789012:alias/pipeline", None),
        ("arn:aws:kms:us-east-1:123456789012:key/1234abcd", "pipeline's region 'eu-central-1'"),
        ("arn:aws:kms:eu-central-1:123456789012:secret/x", "key/<id> or alias/<name>"),
        ("1234abcd", "must be a KMS key ARN"),
    ],
)
def test_kms_key_arns(arn: str, fragment: str | None) -> None:
    found = kms_key_arn_problems(arn, "eu-central-1")
    assert found == [] if fragment is None else any(fragment in p for p in found), found


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("s3://cars/raw/", None),
        ("s3://cars", None),
        ("s3://other/raw/", "inside the declared bucket 'cars'"),
        ("cars/raw/", "must be an S3 URI"),
        ("s3:///raw/", "names no bucket"),
        ("s3://cars/raw/../x/", "'..' segments"),
    ],
)
def test_crawler_targets(uri: str, fragment: str | None) -> None:
    found = s3_uri_problems(uri, "cars")
    assert found == [] if fragment is None else any(fragment in p for p in found), found


@pytest.mark.parametrize(
    ("rule", "name", "fragment"),
    [
        (glue_name_problems, "hostil\u0435-prepare", "'\u0435' (U+0435 CYRILLIC SMALL LETTER IE)"),
        (glue_name_problems, "\uff4a\uff4f\uff42", "U+FF4A FULLWIDTH LATIN SMALL LETTER J"),
        (glue_name_problems, "car\u200bbrands", "U+200B ZERO WIDTH SPACE"),
        (glue_name_problems, " job", "must not start or end with a space"),
        (glue_name_problems, "a\tb", "tab"),
        (role_name_problems, "gl\u043ee", "U+043E CYRILLIC SMALL LETTER O"),
        (bucket_name_problems, "b\u0435cket", "U+0435 CYRILLIC SMALL LETTER IE"),
        (database_name_problems, "c\u0430rs", "U+0430 CYRILLIC SMALL LETTER A"),
    ],
)
def test_names_are_ascii_and_the_message_names_the_character(rule: Any, name: str, fragment: str) -> None:
    found = rule(name)
    assert any(fragment in p for p in found), found
    assert len([p for p in found if "U+" in p]) <= 1, found  # one message, not one per rule


def test_ascii_names_are_still_accepted() -> None:
    assert glue_name_problems("car-brands-prepare v2 (test)") == []
    assert role_name_problems("car-brands+glue=1,a.b@c_d") == []


def test_argument_roles_follow_name_and_value() -> None:
    from reconciler.spec.arguments import CODE, INPUT, OTHER, OUTPUT, locations, role_of

    assert role_of("--output_path", "s3://b/prepared/") == OUTPUT
    assert role_of("--output_format", "csv") == OTHER  # a setting, not a location
    assert role_of("--input_path", "s3://b/raw/") == INPUT
    assert role_of("--extra-py-files", "anything") == CODE
    assert role_of("--enable-metrics", "true") == OTHER
    assert locations("--additional-python-modules", "pandas==2.2, s3://b/w.whl") == ["s3://b/w.whl"]
    assert locations("--extra-jars", "s3://b/a.jar,s3://c/b.jar") == ["s3://b/a.jar", "s3://c/b.jar"]


def test_a_setting_named_like_an_output_is_no_output(tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path)
    metrics = '--enable-metrics: "true"'
    spec.write_text(spec.read_text().replace(metrics, metrics + "\n        --output_format: csv"))
    assert problems_of(spec) == []
