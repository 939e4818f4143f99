"""The QuickSight manifest: the committed template, the renderer, the validator and the prefix check."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.errors import ManifestError
from reconciler.spec.load import load_spec
from reconciler.spec.manifest import PLACEHOLDERS, manifest_for, manifest_text, render_manifest, write_manifest
from reconciler.spec.manifest_checks import SCHEMA_FILE, validate_manifest
from reconciler.spec.manifest_data import check_prefix_objects
from reconciler.spec.model import Pipeline
from reconciler.spec.schemas import load_schema

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "quicksight" / "manifest.template.json"
BUCKET = "car-brands-pipeline-local"
CSV_PREFIX = "prepared/aggregated/csv/"


def valid_manifest() -> dict[str, Any]:
    return {
        "fileLocations": [{"URIPrefixes": [f"s3://{BUCKET}/{CSV_PREFIX}"]}],
        "globalUploadSettings": {"format": "CSV", "delimiter": ",", "textqualifier": '"', "containsHeader": "true"},
    }


def render(template_text: str | None = None, **overrides: Any) -> dict[str, Any]:
    text = TEMPLATE.read_text(encoding="utf-8") if template_text is None else template_text
    arguments: dict[str, Any] = {"bucket": BUCKET, "data_prefix": CSV_PREFIX, **overrides}
    doc: dict[str, Any] = render_manifest(text, template_file="quicksight/test.template.json", **arguments)
    return doc


@pytest.fixture
def example_pipeline(tmp_path: Path) -> Pipeline:
    """The committed pipeline.yaml and template, in a scratch project holding the files its uploads name."""
    shutil.copy(REPO / "pipeline.yaml", tmp_path / "pipeline.yaml")
    (tmp_path / "quicksight").mkdir()
    shutil.copy(TEMPLATE, tmp_path / "quicksight" / "manifest.template.json")
    (tmp_path / "glue_scripts").mkdir()
    (tmp_path / "glue_scripts" / "car_brands_job.py").write_text("print('job')\n", encoding="utf-8")
    data = tmp_path / "Data" / "car_brands" / "ingest_quarter=2026-Q3"
    data.mkdir(parents=True)
    (data / "part-00000.csv").write_text("BMW,2026-07-01,12:00:00\n", encoding="utf-8")
    return load_spec(tmp_path / "pipeline.yaml", env={})


# --- the committed files -----------------------------------------------------------------------------------


def test_schema_is_a_valid_2020_12_schema() -> None:
    schema = load_schema(SCHEMA_FILE)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_committed_template_is_json_and_uses_every_placeholder() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    json.loads(text)  # placeholders sit inside JSON strings, so the template itself is JSON
    for name in PLACEHOLDERS:
        assert f"${{{name}}}" in text


def test_example_pipeline_renders_the_committed_template(example_pipeline: Pipeline) -> None:
    doc = manifest_for(example_pipeline)
    assert doc == valid_manifest()
    assert validate_manifest(doc) == []


def test_example_pipeline_takes_the_bucket_from_the_environment(tmp_path: Path, example_pipeline: Pipeline) -> None:
    pipeline = load_spec(tmp_path / "pipeline.yaml", env={"PIPELINE_BUCKET": "acme-car-brands"})
    assert manifest_for(pipeline)["fileLocations"] == [
        {"URIPrefixes": ["s3://acme-car-brands/prepared/aggregated/csv/"]}
    ]


def test_manifest_for_rejects_a_parquet_format(example_pipeline: Pipeline) -> None:
    assert example_pipeline.quicksight.manifest is not None
    parquet = dataclasses.replace(example_pipeline.quicksight.manifest, format="PARQUET")
    pipeline = dataclasses.replace(
        example_pipeline, quicksight=dataclasses.replace(example_pipeline.quicksight, manifest=parquet)
    )
    with pytest.raises(ManifestError) as raised:
        manifest_for(pipeline)
    assert "manifest.template.json" in raised.value.message
    assert "globalUploadSettings.format: 'PARQUET': QuickSight cannot read Parquet" in raised.value.message


def test_manifest_for_needs_a_json_key(example_pipeline: Pipeline) -> None:
    assert example_pipeline.quicksight.manifest is not None
    settings = dataclasses.replace(example_pipeline.quicksight.manifest, key="quicksight/manifest.txt")
    pipeline = dataclasses.replace(
        example_pipeline, quicksight=dataclasses.replace(example_pipeline.quicksight, manifest=settings)
    )
    with pytest.raises(ManifestError, match=r"must end in '\.json'"):
        manifest_for(pipeline)


def test_manifest_for_names_a_missing_template(example_pipeline: Pipeline) -> None:
    assert example_pipeline.quicksight.manifest is not None
    (example_pipeline.quicksight.manifest.template).unlink()
    with pytest.raises(ManifestError, match=r"cannot read the manifest template .*manifest\.template\.json"):
        manifest_for(example_pipeline)


def test_manifest_for_without_a_manifest_section(example_pipeline: Pipeline) -> None:
    pipeline = dataclasses.replace(
        example_pipeline, quicksight=dataclasses.replace(example_pipeline.quicksight, manifest=None)
    )
    with pytest.raises(ManifestError, match=r"spec\.quicksight\.manifest is not declared"):
        manifest_for(pipeline)


def test_manifest_for_ignores_a_byte_order_mark_in_the_template(example_pipeline: Pipeline) -> None:
    assert example_pipeline.quicksight.manifest is not None
    template = example_pipeline.quicksight.manifest.template
    template.write_text(TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8-sig")
    assert manifest_for(example_pipeline) == valid_manifest()


# --- rendering ---------------------------------------------------------------------------------------------


def test_render_tsv_escapes_the_tab_delimiter() -> None:
    doc = render(format="TSV", delimiter="\t")
    assert doc["globalUploadSettings"]["delimiter"] == "\t"
    assert doc["globalUploadSettings"]["format"] == "TSV"
    assert validate_manifest(doc) == []


def test_render_without_header() -> None:
    assert render(contains_header=False)["globalUploadSettings"]["containsHeader"] == "false"


def test_render_json_leaves_out_settings_json_files_must_not_have() -> None:
    doc = render(format="JSON")
    assert doc["globalUploadSettings"] == {"format": "JSON"}
    assert validate_manifest(doc) == []


def test_render_with_uris_lists_the_files_instead_of_the_prefix() -> None:
    uris = [f"s3://{BUCKET}/{CSV_PREFIX}part-00000.csv", f"s3://{BUCKET}/{CSV_PREFIX}part-00001.csv"]
    doc = render(uris=uris)
    assert doc["fileLocations"] == [{"URIs": uris}]
    assert validate_manifest(doc) == []


def test_render_missing_placeholder_names_the_template() -> None:
    template = '{"fileLocations": [{"URIPrefixes": ["s3://fixed-bucket/data/"]}]}'
    with pytest.raises(ManifestError) as raised:
        render(template)
    assert raised.value.message.startswith("quicksight/test.template.json: the placeholder ${uri_prefix} is missing")


def test_render_unknown_placeholder_suggests_the_right_one() -> None:
    template = (
        '{"fileLocations": [{"URIPrefixes": ["${uri_prefix}"]}], "globalUploadSettings": {"format": "${fromat}"}}'
    )
    with pytest.raises(
        ManifestError, match=r"test\.template\.json: unknown placeholder \$\{fromat\} \(did you mean \$\{format\}\?\)"
    ):
        render(template)


def test_render_malformed_placeholder_names_line_and_column() -> None:
    template = '{\n  "fileLocations": [{"URIPrefixes": ["${uri_prefix}"]}],\n  "note": "costs $5"\n}'
    with pytest.raises(ManifestError, match=r"test\.template\.json: Invalid placeholder in string: line 3") as raised:
        render(template)
    assert raised.value.hint is not None and "'$$'" in raised.value.hint


def test_render_broken_json_names_the_template_and_position() -> None:
    template = '{\n  "fileLocations": [{"URIPrefixes": ["${uri_prefix}"]}]\n  "globalUploadSettings": {}\n}'
    with pytest.raises(ManifestError, match=r"test\.template\.json: not valid JSON .*line 3, column 3"):
        render(template)


def test_render_rejects_a_template_that_is_not_an_object() -> None:
    with pytest.raises(ManifestError, match="must hold a JSON object"):
        render('["${uri_prefix}"]')


def test_render_rejects_a_template_that_hardcodes_another_format() -> None:
    template = '{"fileLocations": [{"URIPrefixes": ["${uri_prefix}"]}], "globalUploadSettings": {"format": "TSV"}}'
    with pytest.raises(
        ManifestError, match=r"sets globalUploadSettings\.format to 'TSV' but the pipeline asks for 'CSV'"
    ):
        render(template)


def test_render_rejects_a_template_without_format_for_another_format() -> None:
    template = '{"fileLocations": [{"URIPrefixes": ["${uri_prefix}"]}]}'
    assert render(template) == {"fileLocations": [{"URIPrefixes": [f"s3://{BUCKET}/{CSV_PREFIX}"]}]}
    with pytest.raises(
        ManifestError, match=r"gives no format \(QuickSight then reads CSV\) but the pipeline asks for 'TSV'"
    ):
        render(template, format="TSV", delimiter="\t")


# --- validation: valid shapes --------------------------------------------------------------------------------


def test_minimal_manifest_is_valid() -> None:
    assert validate_manifest({"fileLocations": [{"URIs": ["s3://my-bucket/data.csv"]}]}) == []


@pytest.mark.parametrize(
    "uri",
    [
        "s3://my-bucket/data.csv",
        "https://s3.amazonaws.com/my-bucket/data.csv",
        "https://my-bucket.s3.amazonaws.com/data.csv",
        "https://s3-us-east-1.amazonaws.com/my-bucket/data.csv",
        "https://my-bucket.s3-us-east-1.amazonaws.com/data.csv",
        "https://my.dotted.bucket.s3.eu-central-1.amazonaws.com/folder/data.csv",
    ],
)
def test_documented_uri_forms_are_valid(uri: str) -> None:
    assert validate_manifest({"fileLocations": [{"URIs": [uri]}]}) == []


@pytest.mark.parametrize(
    "prefix",
    [
        "s3://my-bucket",
        "s3://my-bucket/",
        "s3://my-bucket/folder1/folder2/",
        "https://s3.amazonaws.com/my-bucket/",
        "https://my-bucket.s3.amazonaws.com",
        "https://s3-us-east-2.amazonaws.com/my-bucket/folder1/",
        "https://my-bucket.s3-us-east-1.amazonaws.com",
    ],
)
def test_documented_prefix_forms_are_valid(prefix: str) -> None:
    assert validate_manifest({"fileLocations": [{"URIPrefixes": [prefix]}]}) == []


def test_uris_and_prefixes_in_separate_entries_are_valid() -> None:
    doc = {
        "fileLocations": [{"URIs": ["s3://my-bucket/a.csv"]}, {"URIPrefixes": ["s3://my-bucket/more/"]}],
        "globalUploadSettings": {"format": "CSV", "textqualifier": "'", "containsHeader": "false"},
    }
    assert validate_manifest(doc) == []


# --- validation: each invalid case -------------------------------------------------------------------------


def with_locations(*entries: Any) -> dict[str, Any]:
    return {"fileLocations": list(entries)}


def with_settings(**settings: Any) -> dict[str, Any]:
    doc = valid_manifest()
    doc["globalUploadSettings"] = settings
    return doc


INVALID_CASES: list[tuple[str, Any, str]] = [  # Any: one case is deliberately not a dict
    ("no fileLocations", {"globalUploadSettings": {"format": "CSV"}}, 'manifest: "fileLocations" is missing'),
    ("empty fileLocations", with_locations(), "fileLocations: is empty"),
    ("fileLocations not a list", {"fileLocations": "s3://my-bucket/"}, "fileLocations: must be a JSON list"),
    (
        "neither URIs nor URIPrefixes",
        with_locations({}),
        'fileLocations[0]: needs "URIs" (single files) or "URIPrefixes"',
    ),
    (
        "both URIs and URIPrefixes",
        with_locations({"URIs": ["s3://my-bucket/a.csv"], "URIPrefixes": ["s3://my-bucket/b/"]}),
        'fileLocations[0]: has both "URIs" and "URIPrefixes"; put each in its own fileLocations entry',
    ),
    ("empty URIs", with_locations({"URIs": []}), "fileLocations[0].URIs: is empty: list at least one URI"),
    ("misspelt URIs", with_locations({"Uris": ["s3://my-bucket/a.csv"]}), "unknown field 'Uris' (did you mean 'URIs'?"),
    ("unknown top-level field", {**valid_manifest(), "entries": []}, "manifest: unknown field 'entries'"),
    (
        "non-s3 URI",
        with_locations({"URIs": ["http://example.com/a.csv"]}),
        "fileLocations[0].URIs[0]: must be an S3 location",
    ),
    ("local path", with_locations({"URIs": ["/data/a.csv"]}), "fileLocations[0].URIs[0]: must be an S3 location"),
    (
        "https not an S3 host",
        with_locations({"URIs": ["https://example.com/my-bucket/a.csv"]}),
        "'example.com' is not an S3 endpoint",
    ),
    ("URI naming a bucket", with_locations({"URIs": ["s3://my-bucket/"]}), "names a bucket, not an object"),
    ("URI naming a folder", with_locations({"URIs": ["s3://my-bucket/csv/"]}), "names a folder (it ends with '/')"),
    (
        "invalid bucket name",
        with_locations({"URIs": ["s3://My_Bucket/a.csv"]}),
        "bucket name 'My_Bucket' may only contain",
    ),
    (
        "Parquet file",
        with_locations({"URIs": ["s3://my-bucket/prepared/aggregated/part-0.snappy.parquet"]}),
        "is a Parquet file: QuickSight cannot read Parquet through a manifest",
    ),
    (
        "prefix without trailing slash",
        with_locations({"URIPrefixes": ["s3://my-bucket/prepared/aggregated/csv"]}),
        "fileLocations[0].URIPrefixes[0]: must end with '/'",
    ),
    ("empty folder name", with_locations({"URIPrefixes": ["s3://my-bucket//csv/"]}), "has an empty folder name ('//')"),
    (
        "Parquet format",
        with_settings(format="PARQUET"),
        "globalUploadSettings.format: 'PARQUET': QuickSight cannot read Parquet through a manifest (it reads CSV, TSV, "
        "CLF, ELF or JSON); point the manifest at the job's CSV copy",
    ),
    (
        "unknown format",
        with_settings(format="XLSX"),
        "globalUploadSettings.format: must be one of CSV, TSV, CLF, ELF, JSON",
    ),
    ("lower-case format", with_settings(format="csv"), "globalUploadSettings.format: must be upper case: 'CSV'"),
    (
        "two-character delimiter",
        with_settings(delimiter=";;"),
        "globalUploadSettings.delimiter: must be exactly one character",
    ),
    ("empty delimiter", with_settings(delimiter=""), "globalUploadSettings.delimiter: must not be empty"),
    (
        "delimiter not matching CSV",
        with_settings(format="CSV", delimiter="\t"),
        "'\\t' does not go with format CSV: QuickSight reads CSV files with the delimiter ','",
    ),
    ("delimiter not matching TSV", with_settings(format="TSV", delimiter=","), "does not go with format TSV"),
    (
        "bad textqualifier",
        with_settings(textqualifier="`"),
        "globalUploadSettings.textqualifier: must be a single quote",
    ),
    (
        "containsHeader as a boolean",
        with_settings(containsHeader=True),
        'globalUploadSettings.containsHeader: must be the string "true" in quotes, not the JSON boolean true',
    ),
    ("containsHeader yes", with_settings(containsHeader="yes"), 'must be the string "true" or "false"'),
    ("containsHeader upper case", with_settings(containsHeader="TRUE"), 'must be "true" in lower case'),
    (
        "JSON with a delimiter",
        with_settings(format="JSON", delimiter=","),
        "globalUploadSettings.delimiter: must be left out for JSON files",
    ),
    ("misspelt setting", with_settings(Format="CSV"), "unknown field 'Format' (did you mean 'format'?"),
    ("not an object", [], "manifest: must be a JSON object"),
]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [(doc, expected) for _, doc, expected in INVALID_CASES],
    ids=[name for name, _, _ in INVALID_CASES],
)
def test_invalid_manifest_is_reported_in_plain_words(doc: dict[str, Any], expected: str) -> None:
    problems = validate_manifest(doc)
    assert any(expected in problem for problem in problems), problems


def test_a_wrong_type_is_reported_once() -> None:
    problems = validate_manifest(with_settings(containsHeader=False))
    assert problems == [
        'globalUploadSettings.containsHeader: must be the string "false" in quotes, not the JSON boolean false'
    ]


def test_every_problem_is_reported_not_just_the_first() -> None:
    doc = {
        "fileLocations": [{"URIPrefixes": ["s3://my-bucket/csv"]}, {"URIs": ["ftp://x/a.csv"]}],
        "globalUploadSettings": {"format": "PARQUET", "containsHeader": True},
    }
    assert len(validate_manifest(doc)) == 4


# --- the objects behind the prefix ---------------------------------------------------------------------------


def test_prefix_with_part_files_only_is_fine() -> None:
    keys = [f"{CSV_PREFIX}part-00000-abc-c000.csv", f"{CSV_PREFIX}part-00001-abc-c000.csv"]
    assert check_prefix_objects(keys, CSV_PREFIX) == []


def test_prefix_folder_object_itself_is_ignored() -> None:
    assert check_prefix_objects([CSV_PREFIX, f"{CSV_PREFIX}part-00000.csv"], CSV_PREFIX) == []


def test_empty_prefix_points_at_nothing() -> None:
    assert check_prefix_objects([], CSV_PREFIX) == [
        f"nothing is stored under {CSV_PREFIX!r}: the manifest would point at no data (did the job write its CSV "
        "copy there?)"
    ]


def test_success_marker_is_reported() -> None:
    problems = check_prefix_objects([f"{CSV_PREFIX}part-00000.csv", f"{CSV_PREFIX}_SUCCESS"], CSV_PREFIX)
    assert len(problems) == 1
    assert f"'{CSV_PREFIX}_SUCCESS': is a job marker" in problems[0]
    assert "marksuccessfuljobs=false" in problems[0]


def test_checksum_files_are_reported() -> None:
    keys = [f"{CSV_PREFIX}part-00000.csv", f"{CSV_PREFIX}.part-00000.csv.crc"]
    problems = check_prefix_objects(keys, CSV_PREFIX)
    assert len(problems) == 1
    assert "Hadoop checksum file" in problems[0]


def test_parquet_and_folder_markers_are_reported() -> None:
    keys = [f"{CSV_PREFIX}part-00000.csv", f"{CSV_PREFIX}part-00000.snappy.parquet", f"{CSV_PREFIX}old_$folder$"]
    problems = check_prefix_objects(keys, CSV_PREFIX)
    assert len(problems) == 2
    assert any("part-00000.snappy.parquet': is a Parquet file, which QuickSight cannot read" in p for p in problems)
    assert any("old_$folder$': is a folder marker object" in p for p in problems)


def test_subfolders_are_reported_because_quicksight_recurses() -> None:
    keys = [f"{CSV_PREFIX}part-00000.csv", f"{CSV_PREFIX}_temporary/0/part-00001.csv"]
    problems = check_prefix_objects(keys, CSV_PREFIX)
    assert len(problems) == 1
    assert f"has subfolders ('{CSV_PREFIX}_temporary/')" in problems[0]
    assert "reads a prefix recursively" in problems[0]


def test_subfolders_only_means_no_data_directly_under_the_prefix() -> None:
    problems = check_prefix_objects([f"{CSV_PREFIX}year=2026/part-00000.csv"], CSV_PREFIX)
    assert len(problems) == 2
    assert "has subfolders" in problems[0]
    assert problems[1] == f"no data file sits directly under {CSV_PREFIX!r}: the manifest would point at no data"


def test_only_markers_means_no_data() -> None:
    problems = check_prefix_objects([f"{CSV_PREFIX}_SUCCESS"], CSV_PREFIX)
    assert problems[-1] == f"no data file sits directly under {CSV_PREFIX!r}: the manifest would point at no data"


def test_keys_outside_the_prefix_are_reported() -> None:
    problems = check_prefix_objects([f"{CSV_PREFIX}part-0.csv", "prepared/other.csv"], CSV_PREFIX)
    assert problems == [f"the listing holds keys that are not under {CSV_PREFIX!r}: 'prepared/other.csv'"]


def test_prefix_without_trailing_slash_is_reported() -> None:
    assert check_prefix_objects(["prepared/aggregated/csv/part-0.csv"], "prepared/aggregated/csv") == [
        "the prefix 'prepared/aggregated/csv' must end with '/' (a folder), e.g. 'prepared/aggregated/csv/'"
    ]


def test_long_lists_are_shortened() -> None:
    keys = [f"{CSV_PREFIX}part-0.csv"] + [f"{CSV_PREFIX}_marker{i}" for i in range(12)]
    (problem,) = check_prefix_objects(keys, CSV_PREFIX)
    assert "and 7 more" in problem


# --- writing -----------------------------------------------------------------------------------------------


def test_write_manifest_writes_pretty_json(tmp_path: Path) -> None:
    output = tmp_path / "out" / "manifest.json"
    doc = render(format="TSV", delimiter="\t")
    write_manifest(doc, output)
    raw = output.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8") == manifest_text(doc)
    assert raw.endswith(b"}\n")
    assert b'\n  "fileLocations": [\n' in raw
    assert json.loads(raw) == doc
    assert [p.name for p in output.parent.iterdir()] == ["manifest.json"]


def test_write_manifest_replaces_an_older_manifest(tmp_path: Path) -> None:
    output = tmp_path / "manifest.json"
    output.write_text("old", encoding="utf-8")
    write_manifest(valid_manifest(), output)
    assert json.loads(output.read_text(encoding="utf-8")) == valid_manifest()
