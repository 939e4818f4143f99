"""Broken specs: each must give exactly the expected located problems, all at once, and never a traceback.

Most cases are mutations of bad_specs/base.yaml (a frozen copy of the example). The expected line is the line
where `needle` appears in the mutated text, so the tests state the line without hard-coding numbers that an
edit to the base would shift. Cases the mutations cannot express are small files in bad_specs/.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import make_spec_project

from reconciler.errors import Problem, SpecError
from reconciler.spec.load import INTERNAL_ERROR, format_path, load_spec, validate_file

BAD_SPECS = Path(__file__).parent / "bad_specs"
BASE = (BAD_SPECS / "base.yaml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Expect:
    needle: str  # the expected line is where this text starts in the mutated spec
    path: str
    fragment: str  # part of the message
    occurrence: int = 1  # which occurrence of the needle


@dataclass(frozen=True)
class Case:
    name: str
    replace: tuple[tuple[str, str], ...]
    expect: tuple[Expect, ...]
    env: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        text = BASE
        for old, new in self.replace:
            assert text.count(old) == 1, f"{self.name}: {old!r} must occur exactly once in base.yaml"
            text = text.replace(old, new)
        return text


MANAGED_ROLE = (
    "    managed:                # or `arn: arn:aws:iam::123456789012:role/existing-glue-role`\n"
    "      name: car-brands-glue"
)
NEW_CRAWLER = "\n    - name: car-brands-raw\n      targets: [s3://car-brands-pipeline-local/other/]\n"
NEW_JOB = "\n    - name: car-brands-prepare\n      script: scripts/car_brands_job.py\n"

CASES = [
    # unknown keys, wrong types, enums, required fields
    Case(
        "unknown top-level key",
        (("kind: Pipeline", "kind: Pipeline\nstatus: ready"),),
        (Expect("status: ready", "status", "unknown key 'status' (allowed here: apiVersion, kind, metadata, spec)"),),
    ),
    Case(
        "typo in a section name",
        (("  schedule:\n", "  shedule:\n"),),
        (Expect("  shedule:", "spec.shedule", "unknown key 'shedule' (did you mean 'schedule'?)"),),
    ),
    Case(
        "typo in a crawler key",
        (("table_prefix: raw_", "tabel_prefix: raw_"),),
        (Expect("tabel_prefix", "spec.crawlers[0].tabel_prefix", "did you mean 'table_prefix'?"),),
    ),
    Case(
        "text where true/false is expected",
        (("versioning: true", "versioning: sometimes"),),
        (Expect("versioning:", "spec.bucket.versioning", "must be true or false (got 'sometimes')"),),
    ),
    Case(
        "a single target instead of a list",
        (
            (
                "targets:\n        - s3://${PIPELINE_BUCKET:-car-brands-pipeline-local}/raw/car_brands/",
                "targets: s3://car-brands-pipeline-local/raw/car_brands/",
            ),
        ),
        (Expect("targets:", "spec.crawlers[0].targets", "must be a list (got 's3://car-brands"),),
    ),
    Case(
        "unquoted glue version",
        (('glue_version: "5.0"', "glue_version: 5.0"),),
        (Expect("glue_version", "spec.jobs[0].glue_version", 'must be text (got 5.0); put it in quotes: "5.0"'),),
    ),
    Case(
        "quoted number",
        (("number_of_workers: 2", 'number_of_workers: "2"'),),
        (Expect("number_of_workers", "spec.jobs[0].number_of_workers", "write the number without quotes"),),
    ),
    Case(
        "a word where a number is expected, unquoted (no 'without quotes' hint)",
        (("number_of_workers: 2", "number_of_workers: two"),),
        (Expect("number_of_workers", "spec.jobs[0].number_of_workers", "(got 'two'); write a number such as 2"),),
    ),
    Case(
        "words where a number is expected",
        (("timeout_minutes: 60", "timeout_minutes: an hour"),),
        (Expect("timeout_minutes", "spec.jobs[0].timeout_minutes", "must be a whole number (got 'an hour')"),),
    ),
    Case(
        "empty value",
        (("    name: car_brands\n", "    name:\n"),),
        (Expect("    name:\n    description", "spec.database.name", "must be text (got an empty value)"),),
    ),
    Case(
        "bad worker type",
        (("worker_type: G.1X", "worker_type: G.9X"),),
        (
            Expect(
                "worker_type",
                "spec.jobs[0].worker_type",
                "must be one of Standard, G.025X, G.1X, G.2X, G.4X, G.8X, Z.2X (got 'G.9X') (did you mean 'G.8X'?)",
            ),
        ),
    ),
    Case(
        "bad recrawl policy",
        (("recrawl_policy: CRAWL_EVERYTHING", "recrawl_policy: CRAWL_ALL"),),
        (Expect("recrawl_policy", "spec.crawlers[0].recrawl_policy", "must be one of CRAWL_EVERYTHING"),),
    ),
    Case(
        "wrong kind",
        (("kind: Pipeline", "kind: pipeline"),),
        (Expect("kind:", "kind", "must be 'Pipeline' (got 'pipeline')"),),
    ),
    Case(
        "misspelt required key",
        (("    name: car_brands\n", "    nmae: car_brands\n"),),
        (
            Expect("  database:", "spec.database.name", "is required"),
            Expect("nmae", "spec.database.nmae", "unknown key 'nmae' (did you mean 'name'?)"),
        ),
    ),
    Case(
        "missing required section",
        (("  bucket:\n", "  buckets:\n"),),
        (
            Expect("spec:", "spec.bucket", "is required"),
            Expect("buckets:", "spec.buckets", "did you mean 'bucket'?"),
        ),
    ),
    Case(
        "out of range",
        (("timeout_minutes: 60", "timeout_minutes: 20000"), ("max_retries: 0", "max_retries: -1")),
        (
            Expect("timeout_minutes", "spec.jobs[0].timeout_minutes", "must be at most 10080 (got 20000)"),
            Expect("max_retries", "spec.jobs[0].max_retries", "must be at least 0 (got -1)"),
        ),
    ),
    Case(
        "unknown apiVersion stops before the schema",
        (("apiVersion: reconciler/v1", "apiVersion: reconciler/v2"), ("  schedule:\n", "  shedule:\n")),
        (Expect("apiVersion", "apiVersion", "unsupported version 'reconciler/v2'; supported: reconciler/v1"),),
    ),
    # environment variables
    Case(
        "unset variable without default",
        (("name: ${PIPELINE_BUCKET:-car-brands-pipeline-local}", "name: ${PIPELINE_BUCKET}"),),
        (Expect("name: ${PIPELINE_BUCKET}", "spec.bucket.name", "environment variable PIPELINE_BUCKET is not set"),),
    ),
    Case(
        "malformed variable reference",
        (("name: car-brands-glue", "name: ${ROLE_NAME"),),
        (Expect("${ROLE_NAME", "spec.role.managed.name", "malformed variable reference '${ROLE_NAME'"),),
    ),
    # uploads and paths
    Case(
        "missing upload source",
        (("source: glue_scripts/car_brands_job.py", "source: glue_scripts/missing_job.py"),),
        (Expect("missing_job.py", "spec.uploads[1].source", "'glue_scripts/missing_job.py' does not exist"),),
    ),
    Case(
        "bad upload prefix",
        (("prefix: scripts/", "prefix: /scripts"),),
        (
            Expect("prefix: /scripts", "spec.uploads[1].prefix", "must be empty or end with '/'"),
            Expect("prefix: /scripts", "spec.uploads[1].prefix", "must not start with '/'"),
        ),
    ),
    Case(
        "upload escaping the project",
        (("source: ${DATA_DIR:-Data/car_brands}", "source: ../../etc"),),
        (Expect("../../etc", "spec.uploads[0].source", "points outside the project directory"),),
    ),
    Case(
        "absolute upload path elsewhere",
        (("source: ${DATA_DIR:-Data/car_brands}", "source: /etc"),),
        (Expect("source: /etc", "spec.uploads[0].source", "set allow_outside_project: true"),),
    ),
    Case(
        "missing manifest template",
        (("template: quicksight/manifest.template.json", "template: quicksight/nope.json"),),
        (Expect("nope.json", "spec.quicksight.manifest.template", "'quicksight/nope.json' is not a file"),),
    ),
    # names and S3
    Case(
        "bad bucket name",
        (),
        (
            Expect("name: ${PIPELINE_BUCKET", "spec.bucket.name", "found 'B', 'C', '_'"),
            Expect("name: ${PIPELINE_BUCKET", "spec.bucket.name", "must not contain '..'"),
            Expect("name: ${PIPELINE_BUCKET", "spec.bucket.name", "must start with a lowercase letter or a digit"),
        ),
        env={"PIPELINE_BUCKET": "Car_Brands..x"},
    ),
    Case(
        "IP-shaped bucket name",
        (),
        (Expect("name: ${PIPELINE_BUCKET", "spec.bucket.name", "must not be shaped like an IP address"),),
        env={"PIPELINE_BUCKET": "192.168.1.1"},
    ),
    Case(
        "database name with capitals",
        (("name: car_brands", "name: CarBrands"),),
        (Expect("name: CarBrands", "spec.database.name", "may only contain lowercase letters, digits and '_'"),),
    ),
    Case(
        "table prefix with a dash",
        (("table_prefix: raw_", "table_prefix: raw-"),),
        (Expect("table_prefix", "spec.crawlers[0].table_prefix", "found '-'"),),
    ),
    Case(
        "crawler name on two lines",
        (("- name: car-brands-raw", '- name: "car-brands\\nraw"'),),
        (Expect("car-brands\\nraw", "spec.crawlers[0].name", "must be a single line"),),
    ),
    Case(
        "reserved tag key",
        (("    owner: data-engineering", "    aws:owner: data-engineering"),),
        (Expect("aws:owner", "metadata.tags['aws:owner']", "reserved by AWS"),),
    ),
    Case(
        "region that is not a region",
        (("${AWS_REGION:-eu-central-1}", "Frankfurt"),),
        (Expect("region:", "metadata.region", "must look like an AWS region"),),
    ),
    Case(
        "a misspelt region (botocore's partition data)",
        (("${AWS_REGION:-eu-central-1}", "eu-centrl-1"),),
        (Expect("region:", "metadata.region", "'eu-centrl-1' is not an AWS region (did you mean 'eu-central-1'?)"),),
    ),
    # cron
    Case(
        "cron with five fields",
        (("cron(0 0 1 */3 ? *)", "cron(0 0 1 */3 ?)"),),
        (Expect("cron:", "spec.schedule.cron", "must have six fields"),),
    ),
    Case(
        "cron with both days '?'",
        (("cron(0 0 1 */3 ? *)", "cron(0 0 ? */3 ? *)"),),
        (Expect("cron:", "spec.schedule.cron", "exactly one of day-of-month and day-of-week must be '?' (both are)"),),
    ),
    Case(
        "cron with neither day '?'",
        (("cron(0 0 1 */3 ? *)", "cron(0 0 1 */3 MON *)"),),
        (Expect("cron:", "spec.schedule.cron", "(neither is)"),),
    ),
    Case(
        "cron hour out of range",
        (("cron(0 0 1 */3 ? *)", "cron(0 25 1 */3 ? *)"),),
        (Expect("cron:", "spec.schedule.cron", "hours value 25 is outside 0-23"),),
    ),
    Case(
        "crawler schedule too frequent",
        (("table_prefix: raw_", "table_prefix: raw_\n      schedule: cron(* * * * ? *)"),),
        (Expect("schedule: cron(*", "spec.crawlers[0].schedule", "more often than every 5 minutes"),),
    ),
    # IAM and KMS
    Case(
        "bad role ARN",
        ((MANAGED_ROLE, "    arn: arn:aws:iam::12345:role/glue"),),
        (Expect("arn: arn", "spec.role.arn", "account must be 12 digits (got '12345')"),),
    ),
    Case(
        "role with both arn and managed",
        ((MANAGED_ROLE, "    arn: arn:aws:iam::123456789012:role/glue\n" + MANAGED_ROLE),),
        (Expect("  role:", "spec.role", "needs exactly one of 'arn' or 'managed' (got 'arn'; 'managed')"),),
    ),
    Case(
        "SSE-KMS without a key",
        (("type: SSE-S3          # or SSE-KMS with kms_key_arn", "type: SSE-KMS"),),
        (Expect("encryption:", "spec.bucket.encryption.kms_key_arn", "is required with type SSE-KMS"),),
    ),
    Case(
        "security configuration with a KMS mode and no key",
        (("  schedule:\n", "  security_configuration:\n    name: encrypted\n    s3_encryption: SSE-KMS\n\n"
                          "  schedule:\n"),),
        (Expect("  security_configuration:", "spec.security_configuration.kms_key_arn",
                "is required when a mode is SSE-KMS or CSE-KMS"),),
    ),
    Case(
        "security configuration with a key and no KMS mode",
        (("  schedule:\n", "  security_configuration:\n    name: encrypted\n"
                          "    kms_key_arn: arn:aws:kms:eu-central-1:123456789012:key/1111-2222\n\n  schedule:\n"),),
        (Expect("    kms_key_arn: arn:aws:kms", "spec.security_configuration.kms_key_arn",
                "is only allowed when a mode is SSE-KMS or CSE-KMS"),),
    ),
    # cross references
    Case(
        "crawler target in another bucket",
        (
            (
                "- s3://${PIPELINE_BUCKET:-car-brands-pipeline-local}/raw/car_brands/",
                "- s3://someone-elses-bucket/raw/",
            ),
        ),
        (
            Expect(
                "someone-elses-bucket",
                "spec.crawlers[0].targets[0]",
                "must lie inside the declared bucket 'car-brands-pipeline-local' (got bucket 'someone-elses-bucket')",
            ),
        ),
    ),
    Case(
        "job script not uploaded",
        (("script: scripts/car_brands_job.py", "script: scripts/car_brands.py"),),
        (
            Expect(
                "script:",
                "spec.jobs[0].script",
                "'scripts/car_brands.py' is not uploaded: no entry in spec.uploads produces this key "
                "(did you mean 'scripts/car_brands_job.py'?)",
            ),
        ),
    ),
    Case(
        "duplicate crawler names",
        (("      recrawl_policy: CRAWL_EVERYTHING\n", "      recrawl_policy: CRAWL_EVERYTHING" + NEW_CRAWLER),),
        (Expect("- name: car-brands-raw", "spec.crawlers[1].name", "already used by spec.crawlers[0]", 2),),
    ),
    Case(
        "duplicate job names",
        (('        --enable-metrics: "true"\n', '        --enable-metrics: "true"' + NEW_JOB),),
        (
            Expect(
                "- name: car-brands-prepare", "spec.jobs[1].name", "job name 'car-brands-prepare' is already used", 2
            ),
        ),
    ),
    Case(
        "schedule naming an unknown crawler",
        (("crawler: car-brands-raw", "crawler: car-brands-rwa"),),
        (Expect("crawler: car-brands-rwa", "spec.schedule.crawler", "did you mean 'car-brands-raw'?"),),
    ),
    Case(
        "schedule naming an unknown job",
        (("job: car-brands-prepare", "job: nightly"),),
        (Expect("job: nightly", "spec.schedule.job", "declared: 'car-brands-prepare'"),),
    ),
    # AWS rules
    Case(
        "Parquet manifest",
        (("format: CSV", "format: PARQUET"),),
        (Expect("format:", "spec.quicksight.manifest.format", "QuickSight cannot read Parquet"),),
    ),
    Case(
        "argument name without dashes",
        (('--enable-metrics: "true"', 'enable-metrics: "true"'),),
        (
            Expect(
                "enable-metrics",
                "spec.jobs[0].arguments.enable-metrics",
                "argument names must start with '--' (did you mean '--enable-metrics'?)",
            ),
        ),
    ),
    Case(
        "one worker",
        (("number_of_workers: 2", "number_of_workers: 1"),),
        (Expect("number_of_workers", "spec.jobs[0].number_of_workers", "must be at least 2 (the AWS minimum"),),
    ),
    Case(
        "Ray worker type",
        (("worker_type: G.1X", "worker_type: Z.2X"),),
        (Expect("worker_type", "spec.jobs[0].worker_type", "Z.2X is only for Glue Ray jobs"),),
    ),
    Case(
        "new-folders-only crawl that updates the catalog",
        (("recrawl_policy: CRAWL_EVERYTHING", "recrawl_policy: CRAWL_NEW_FOLDERS_ONLY"),),
        (Expect("recrawl_policy", "spec.crawlers[0].recrawl_policy", "needs schema_change_policy"),),
    ),
    # several problems at once, from every stage
    Case(
        "several problems at once",
        (
            ("  schedule:\n", "  shedule:\n"),
            ("worker_type: G.1X", "worker_type: G.9X"),
            ("name: car-brands-glue", "name: ${ROLE}"),
            ("source: glue_scripts/car_brands_job.py", "source: nowhere.py"),
            ("    owner: data-engineering", "    owner: data-engineering\n    owner: twice"),
        ),
        (
            Expect("owner: twice", "metadata.tags.owner", "duplicate key 'owner' (first at line 10)"),
            Expect("source: nowhere.py", "spec.uploads[1].source", "'nowhere.py' does not exist"),
            Expect("${ROLE}", "spec.role.managed.name", "environment variable ROLE is not set"),
            Expect("worker_type", "spec.jobs[0].worker_type", "got 'G.9X'"),
            Expect("shedule:", "spec.shedule", "did you mean 'schedule'?"),
            Expect("name: ${PIPELINE_BUCKET", "spec.bucket.name", "must be 3-63 characters long (got 2)"),
        ),
        env={"PIPELINE_BUCKET": "ab"},
    ),
]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    return text.count("\n", 0, index) + 1


def assert_problems(problems: list[Problem], expected: list[tuple[int, str, str]]) -> None:
    shown = "\n".join(str(p) for p in problems)
    assert len(problems) == len(expected), f"expected {len(expected)} problems, got:\n{shown}"
    for line, path, fragment in expected:
        assert any(p.line == line and p.path == path and fragment in p.message for p in problems), (
            f"no problem at line {line}, {path!r}, containing {fragment!r}; got:\n{shown}"
        )
    assert problems == sorted(problems, key=lambda p: (p.line, p.column, p.path, p.message))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_spec(case: Case, tmp_path: Path) -> None:
    text = case.text()
    spec = make_spec_project(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_spec(spec, case.env)
    expected = [(line_of(text, e.needle, e.occurrence), e.path, e.fragment) for e in case.expect]
    assert_problems(caught.value.problems, expected)
    assert all(p.file == str(spec) for p in caught.value.problems)


FILE_CASES = {
    "syntax_tab.yaml": [(4, "", "found character '\\t' that cannot start any token")],
    "syntax_unclosed_flow.yaml": [(5, "", "expected ',' or ']', but got '}'")],
    "syntax_bad_indent.yaml": [(6, "", "mapping values are not allowed here")],
    "syntax_unterminated_quote.yaml": [(5, "", "found unexpected end of stream (see line 4)")],
    "two_documents.yaml": [(3, "", "expected a single document in the stream")],
    "duplicate_keys.yaml": [
        (6, "metadata.name", "duplicate key 'name' (first at line 4)"),
        (11, "spec.bucket.versioning", "duplicate key 'versioning' (first at line 10)"),
    ],
    "alias_bomb.yaml": [(8, "e[1][5][2][2][7]", "the document expands to more than 20000 values")],
    "recursive_alias.yaml": [(5, "metadata.again", "a YAML alias refers to a value that contains it")],
    "not_a_mapping.yaml": [(1, "", "the document must be a mapping with apiVersion, kind, metadata and spec")],
    "empty.yaml": [(1, "", "the file is empty")],
    "custom_tag.yaml": [
        (1, "spec", "is required"),
        (5, "metadata.region", "unsupported YAML tag '!Ref'"),
    ],
    "unknown_api_version.yaml": [(1, "apiVersion", "unsupported version 'reconciler/v2'; supported: reconciler/v1")],
}


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_broken_spec_file(name: str) -> None:
    assert_problems(validate_file(BAD_SPECS / name, {}), FILE_CASES[name])


def test_every_fixture_file_is_used() -> None:
    on_disk = {p.name for p in BAD_SPECS.glob("*.yaml")} - {"base.yaml"}
    assert on_disk == set(FILE_CASES)


def test_deep_nesting_is_refused_quickly(tmp_path: Path) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    started = time.monotonic()
    (problem,) = validate_file(spec, {})
    assert time.monotonic() - started < 2
    assert (problem.line, problem.message) == (1, "nesting is deeper than 64 levels")


def test_many_nodes_are_refused(tmp_path: Path) -> None:
    spec = tmp_path / "wide.yaml"
    spec.write_text("a: [" + ", ".join(["1"] * 30_000) + "]\n")
    (problem,) = validate_file(spec, {})
    assert "more than 20000 values" in problem.message


def test_base_fixture_is_valid(tmp_path: Path) -> None:
    assert validate_file(make_spec_project(tmp_path, BASE), {}) == []


# --- fuzzing: whatever the input, a list of located problems (or none), quickly ----------------------------

FUZZ = settings(
    max_examples=150,
    deadline=None,  # timed by hand below, so a slow first schema load does not flake
    database=None,  # no .hypothesis directory in the tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HEAVY_FUZZ = settings(FUZZ, max_examples=100)  # each of these examples parses a whole spec
MAX_SECONDS = 2.0


def check_survives(spec: Path) -> list[Problem]:
    started = time.monotonic()
    try:
        problems = validate_file(spec, {})
    except SpecError as exc:  # validate_file returns problems; a SpecError escaping would also be acceptable
        problems = exc.problems
    assert time.monotonic() - started < MAX_SECONDS
    lines = spec.read_bytes().count(b"\n") + 2
    for problem in problems:
        assert 1 <= problem.line <= lines and problem.column >= 1, problem
        assert problem.message and INTERNAL_ERROR not in problem.message, problem
    return problems


@FUZZ
@given(text=st.text(max_size=400))
def test_fuzz_random_text(text: str, tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(text, encoding="utf-8")
    check_survives(spec)


@FUZZ
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes, tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_bytes(data)
    check_survives(spec)


#: values that reach the tool's own keys (spec/reserved.py) or load code from elsewhere, wherever they land
RESERVED_VALUES = [
    ".reconciler/", ".reconciler/lock.json", "prepared/_published.json", "prepared/runs/", "quicksight/manifest.json",
    "s3://car-brands-pipeline-local/.reconciler/", "s3://car-brands-pipeline-local/", "s3://attacker/lib.py",
    "s3://car-brands-pipeline-local/prepared/runs/x/", "s3://car-brands-pipeline-local/../evil/",
]
#: names and schedules that look like others or never fire
CONFUSABLE_VALUES = [
    "car-brands-prepar\u0435", "\uff43\uff41\uff52", "car\u200bbrands", "car-brands-gl\u043ee",
    "cron(\u0660 0 1 * ? *)", "cron(0 0 31 2 ? *)", "cron(0 0 1 1 ? 2020)",
]

_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["${X}", "${X:-1}", "$${", "*", "?", "s3://", "cron(", "G.1X", "../..", "\u202e", "🚀"])
    | st.sampled_from(RESERVED_VALUES + CONFUSABLE_VALUES)
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


BASE_DOC = yaml.safe_load(BASE)
BASE_PATHS = _paths(BASE_DOC)[1:]


@HEAVY_FUZZ
@given(path=st.sampled_from(BASE_PATHS), action=st.sampled_from(["replace", "delete", "add"]), value=_VALUES)
def test_fuzz_mutated_example(path: tuple[Any, ...], action: str, value: Any, tmp_path: Path) -> None:
    doc = yaml.safe_load(BASE)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if action == "replace":
        parent[path[-1]] = value
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent["extra_key"] = value
    else:
        parent.append(value)
    spec = make_spec_project(tmp_path, yaml.safe_dump(doc, allow_unicode=True))
    problems = check_survives(spec)
    if action == "add" and isinstance(parent, dict):
        assert problems, "an unknown key must always be reported"


#: where a reserved key or a confusable name must always be refused (the document path, the values)
HOSTILE_TARGETS: list[tuple[tuple[Any, ...], list[str]]] = [
    # (values that do not depend on another value the fuzzer may change too: the run prefixes hang off the
    # output path, so they are in the corpus of tests/integration/test_hostile_specs.py instead)
    (("spec", "uploads", 1, "prefix"), [".reconciler/", ".reconciler/uploads/", ".reconciler/x/"]),
    (("spec", "jobs", 0, "arguments", "--output_path"),
     ["s3://car-brands-pipeline-local/.reconciler/", "s3://car-brands-pipeline-local/", "s3://attacker/prepared/",
      "s3://car-brands-pipeline-local/raw/", "s3://car-brands-pipeline-local/scripts/",
      "s3://car-brands-pipeline-local/../evil/", "s3://car-brands-pipeline-local/a//b/",
      "s3://car-brands-pipeline-local/quicksight/"]),
    (("spec", "jobs", 0, "arguments", "--extra-py-files"), ["s3://attacker/lib.py", "https://example.com/x.py"]),
    (("spec", "jobs", 0, "arguments", "--input_path"), ["s3://attacker/raw/"]),
    (("spec", "crawlers", 0, "targets", 0),
     ["s3://car-brands-pipeline-local/.reconciler/", "s3://car-brands-pipeline-local/quicksight/manifest.json"]),
    (("spec", "jobs", 0, "name"), CONFUSABLE_VALUES[:4]),
    (("spec", "crawlers", 0, "name"), CONFUSABLE_VALUES[:4]),
    (("spec", "schedule", "workflow"), CONFUSABLE_VALUES[:4]),
    (("spec", "role", "managed", "name"), CONFUSABLE_VALUES[:4]),
    (("spec", "bucket", "name"), ["car-brands-pipeline-loc\u0430l", "\uff43\uff41\uff52"]),
    (("spec", "schedule", "cron"), CONFUSABLE_VALUES[4:]),
]


@HEAVY_FUZZ
@given(data=st.data())
def test_fuzz_hostile_values_are_always_refused_where_they_land(data: st.DataObject, tmp_path: Path) -> None:
    """A reserved key or a confusable name at a path that must refuse it is a located problem at that path,
    whatever else the fuzzer changed (a second hostile value elsewhere, an unknown key)."""
    doc = yaml.safe_load(BASE)
    chosen = data.draw(st.lists(st.sampled_from(range(len(HOSTILE_TARGETS))), min_size=1, max_size=3, unique=True))
    expected = []
    for index in chosen:
        path, values = HOSTILE_TARGETS[index]
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = data.draw(st.sampled_from(values))
        expected.append(format_path(path))
    if data.draw(st.booleans()):
        doc["spec"]["database"]["extra_key"] = data.draw(_VALUES)
    spec = make_spec_project(tmp_path, yaml.safe_dump(doc, allow_unicode=True))
    problems = check_survives(spec)
    where = {p.path for p in problems}
    for text in expected:
        assert text in where, (text, [str(p) for p in problems])


@HEAVY_FUZZ
@given(position=st.integers(min_value=0, max_value=len(BASE)), cut=st.integers(0, 20), insert=st.text(max_size=20))
def test_fuzz_edited_example_text(position: int, cut: int, insert: str, tmp_path: Path) -> None:
    text = BASE[:position] + insert + BASE[position + cut :]
    check_survives(make_spec_project(tmp_path, text))


@HEAVY_FUZZ
@given(
    text=st.text(alphabet="${}:-_ AXB1x\\", max_size=40),
    env=st.dictionaries(st.sampled_from(["A", "X", "B", "A_1"]), st.text(max_size=8)),
)
def test_fuzz_interpolation(text: str, env: dict[str, str], tmp_path: Path) -> None:
    spec = make_spec_project(tmp_path, BASE.replace("name: car-brands-glue", "name: " + json.dumps(text)))
    started = time.monotonic()
    problems = validate_file(spec, env)
    assert time.monotonic() - started < MAX_SECONDS
    assert all(p.line >= 1 and INTERNAL_ERROR not in p.message for p in problems)


def test_a_yaml_syntax_error_shows_its_lines_with_a_caret(tmp_path: Path) -> None:
    """An unclosed bracket is reported where YAML noticed it (line 6) and where it starts (line 5)."""
    spec = tmp_path / "pipeline.yaml"
    spec.write_text("apiVersion: reconciler/v1\nkind: Pipeline\nmetadata:\n  name: x\n  region: [eu-central-1\n"
                    "spec:\n  bucket: {name: b}\n")  # fmt: skip
    with pytest.raises(SpecError) as raised:
        load_spec(spec)
    (problem,) = raised.value.problems
    assert (problem.line, problem.column) == (6, 5)
    assert "    5 |   region: [eu-central-1\n      |           ^ it starts here\n" in problem.message, problem.message
    assert problem.message.endswith("    6 | spec:\n      |     ^"), problem.message
