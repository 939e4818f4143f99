"""spec.quicksight.dataset: the schema, the semantic checks (file, line and field) and the model."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_spec import MINIMAL

from reconciler.spec import model
from reconciler.spec.load import load_spec, validate_file
from reconciler.spec.quicksight_checks import DEFAULT_COLUMNS

MANIFEST = (
    "  quicksight:\n    manifest:\n      template: t.json\n      output: out.json\n"
    "      key: m.json\n      data_prefix: csv/\n"
)
USER = "arn:aws:quicksight:eu-west-1:123456789012:user/default/alice"


def write(tmp_path: Path, dataset: str, manifest: bool = True) -> Path:
    (tmp_path / "t.json").write_text("{}")
    spec = tmp_path / "pipeline.yaml"
    head = MANIFEST if manifest else "  quicksight:\n"
    spec.write_text(MINIMAL + head + "    dataset:\n" + dataset)
    return spec


def located(spec: Path) -> list[str]:
    return [f"{p.line}:{p.path}: {p.message}" for p in validate_file(spec, {})]


def test_a_dataset_loads_with_the_jobs_csv_header_as_its_default_columns(tmp_path: Path) -> None:
    spec = write(tmp_path, f"      data_source: car-brands-src\n      data_set: car-brands\n"
                           f"      principals:\n        - arn: {USER}\n          access: owner\n")  # fmt: skip
    dataset = load_spec(spec, {}).quicksight.dataset
    assert dataset == model.QuickSightDataset("car-brands-src", "car-brands", DEFAULT_COLUMNS, ((USER, "owner"),))
    assert ("event_date", "DATETIME") in dataset.columns and ("events", "INTEGER") in dataset.columns
    columns = "      columns:\n        - {name: brand, type: STRING}\n"
    typed = load_spec(write(tmp_path, "      data_source: s\n      data_set: d\n" + columns), {}).quicksight.dataset
    assert typed is not None and typed.columns == (("brand", "STRING"),) and typed.principals == ()


def test_dataset_mistakes_name_the_file_line_and_field(tmp_path: Path) -> None:
    no_manifest = write(tmp_path, "      data_source: s\n      data_set: d\n", manifest=False)
    assert any("spec.quicksight.dataset: needs spec.quicksight.manifest" in m for m in located(no_manifest))
    columns = "        - {name: brand, type: STRING}\n        - {name: brand, type: INTEGER}\n"
    twice = write(tmp_path, "      data_source: s\n      data_set: d\n      columns:\n" + columns)
    assert located(twice) == ["24:spec.quicksight.dataset.columns[1].name: 'brand' is listed twice"]
    bad_type = write(
        tmp_path, "      data_source: s\n      data_set: d\n      columns:\n        - {name: day, type: DATE}\n"
    )
    (problem,) = validate_file(bad_type, {})
    assert (problem.line, problem.path) == (23, "spec.quicksight.dataset.columns[0].type")
    bad_arn = write(tmp_path, "      data_source: s\n      data_set: d\n      principals:\n        - arn: alice\n")
    (problem,) = validate_file(bad_arn, {})
    assert (problem.line, problem.path) == (23, "spec.quicksight.dataset.principals[0].arn")
    bad_id = write(tmp_path, "      data_source: has.dot\n      data_set: d\n")
    (problem,) = validate_file(bad_id, {})
    assert (problem.line, problem.path) == (20, "spec.quicksight.dataset.data_source")


def test_a_type_a_csv_input_column_cannot_have_is_refused_with_its_file_and_line(tmp_path: Path) -> None:
    """For files that aren't JSON, input columns are STRING only (botocore: S3Source.InputColumns); the data set
    casts them to INTEGER, DECIMAL or DATETIME, so BOOLEAN, BIT and JSON cannot be a CSV column's type."""
    columns = "      columns:\n        - {name: brand, type: STRING}\n        - {name: ok, type: BOOLEAN}\n"
    spec = write(tmp_path, "      data_source: s\n      data_set: d\n" + columns)
    (problem,) = validate_file(spec, {})
    assert (problem.line, problem.path) == (24, "spec.quicksight.dataset.columns[1].type")
    assert "only STRING input columns" in problem.message and problem.file == str(spec)
    as_json = spec.read_text().replace("      data_prefix: csv/\n", "      data_prefix: csv/\n      format: JSON\n")
    spec.write_text(as_json)
    assert validate_file(spec, {}) == []


def test_the_service_role_note_asks_for_kms_decrypt_on_an_sse_kms_bucket(tmp_path: Path) -> None:
    """Reading an SSE-KMS object needs kms:Decrypt on its key (S3 User Guide, SSE-KMS): the plan warning and the
    permissions text name it for QuickSight's service role, and only with SSE-KMS."""
    from reconciler.resources.quicksight_common import service_role_note

    spec = write(tmp_path, "      data_source: s\n      data_set: d\n")
    plain = service_role_note(load_spec(spec, {}))
    assert plain is not None and "kms:Decrypt" not in plain
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    sse_kms = f"    encryption:\n      type: SSE-KMS\n      kms_key_arn: {key}\n"
    encrypted = spec.read_text().replace("    name: tiny-bucket\n", "    name: tiny-bucket\n" + sse_kms)
    spec.write_text(encrypted)
    note = service_role_note(load_spec(spec, {}))
    assert note is not None and f"kms:Decrypt on {key}" in note and "aws-quicksight-service-role-v0" in note


def test_a_principal_arn_names_a_known_region_in_the_pipelines_partition(tmp_path: Path) -> None:
    """Users and groups live in the account's QuickSight identity region (any region, often not the pipeline's):
    another region is fine, a region botocore does not know or another partition is refused."""
    other_region = USER.replace("eu-west-1", "us-east-1")
    ok = write(tmp_path, f"      data_source: s\n      data_set: d\n      principals:\n        - arn: {other_region}\n")
    assert validate_file(ok, {}) == []
    typo = write(tmp_path, "      data_source: s\n      data_set: d\n      principals:\n        - arn: "
                 + USER.replace("eu-west-1", "eu-wset-1") + "\n")  # fmt: skip
    (problem,) = validate_file(typo, {})
    assert (problem.line, problem.path) == (23, "spec.quicksight.dataset.principals[0].arn")
    assert "identity region" in problem.message and "eu-west-1" in problem.message  # did you mean
    china = write(tmp_path, "      data_source: s\n      data_set: d\n      principals:\n        - arn: "
                  + USER.replace("arn:aws:", "arn:aws-cn:").replace("eu-west-1", "cn-north-1") + "\n")  # fmt: skip
    (problem,) = validate_file(china, {})
    assert "partition 'aws-cn' is not the pipeline region's ('aws')" in problem.message
