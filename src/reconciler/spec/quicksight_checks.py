"""spec.quicksight.dataset: the checks a schema cannot state, and the model build.

The schema (schema/pipeline.v1.json, spec.quicksight.dataset) states the shape; here: the data source points
at the uploaded manifest, so spec.quicksight.manifest must be declared; column names and principals are
unique (QuickSight's InputColumn names are the data set's field names; one permission entry per principal,
UpdateDataSetPermissions, https://docs.aws.amazon.com/quicksight/latest/APIReference/API_UpdateDataSetPermissions.html).
"""

from __future__ import annotations

from typing import Any

from reconciler.spec import regions

DocPath = tuple[str | int, ...]

#: A non-JSON file's column types (resources/quicksight.py CASTABLE_TYPES: STRING input, cast to the others).
CASTABLE_TYPES = ("STRING", "INTEGER", "DECIMAL", "DATETIME")

#: The header of the job's aggregated CSV (glue_scripts/car_brands_job.py, daily_counts: year_quarter,
#: event_date, month, day_of_week, day_name, brand, events, year, quarter), typed for QuickSight: dates as
#: DATETIME, counts and calendar numbers as INTEGER, the rest STRING. These are the data set's column types:
#: a CSV file's input columns are all STRING and the LogicalTableMap casts them (resources/quicksight.py).
DEFAULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("year_quarter", "STRING"), ("event_date", "DATETIME"), ("month", "INTEGER"), ("day_of_week", "INTEGER"),
    ("day_name", "STRING"), ("brand", "STRING"), ("events", "INTEGER"), ("year", "INTEGER"), ("quarter", "INTEGER"),
)  # fmt: skip

__all__ = ["DEFAULT_COLUMNS", "dataset_findings"]


def _dataset(doc: Any) -> dict[str, Any] | None:
    spec = doc.get("spec") if isinstance(doc, dict) else None
    quicksight = spec.get("quicksight") if isinstance(spec, dict) else None
    dataset = quicksight.get("dataset") if isinstance(quicksight, dict) else None
    return dataset if isinstance(dataset, dict) else None


def _principal_problems(arn: str, doc: Any) -> list[str]:
    """What can be checked offline of a principal's ARN: its region is one botocore knows, and its partition is
    the pipeline region's. Its region is the account's QuickSight identity region (users and groups live there,
    whichever region the data set is in), which only QuickSight knows: not checked."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return []  # the schema's pattern says so
    partition, region = parts[1], parts[3]
    problems = [f"region {m} (it must be the account's QuickSight identity region)" for m in
                regions.region_problems(region)]  # fmt: skip
    metadata = doc.get("metadata") if isinstance(doc, dict) else None
    pipeline_region = metadata.get("region") if isinstance(metadata, dict) else None
    expected = regions.partition_of(pipeline_region) if isinstance(pipeline_region, str) else None
    if expected is not None and partition != expected:
        problems.append(f"partition {partition!r} is not the pipeline region's ({expected!r}): QuickSight users "
                        "and groups are in the same partition as the data set")  # fmt: skip
    return problems


def dataset_findings(doc: Any) -> list[tuple[DocPath, str]]:
    """Semantic problems of spec.quicksight.dataset, as (path, message)."""
    dataset = _dataset(doc)
    if dataset is None:
        return []
    base: DocPath = ("spec", "quicksight", "dataset")
    found: list[tuple[DocPath, str]] = []
    if not isinstance(doc["spec"]["quicksight"].get("manifest"), dict):
        found.append((base, "needs spec.quicksight.manifest: the data source reads the uploaded manifest"))
    columns = dataset.get("columns")
    manifest = doc["spec"]["quicksight"].get("manifest")
    file_format = manifest.get("format", "CSV") if isinstance(manifest, dict) else "CSV"
    seen: set[str] = set()
    for i, column in enumerate(columns if isinstance(columns, list) else []):
        name = column.get("name") if isinstance(column, dict) else None
        if isinstance(name, str):
            if name in seen:
                found.append(((*base, "columns", i, "name"), f"{name!r} is listed twice"))
            seen.add(name)
        kind = column.get("type") if isinstance(column, dict) else None
        if file_format != "JSON" and isinstance(kind, str) and kind not in CASTABLE_TYPES:
            # botocore quicksight model, S3Source.InputColumns: "For files that aren't JSON, only STRING data
            # types are supported in input columns"; CastColumnTypeOperation.NewColumnType (ColumnDataType) is
            # STRING | INTEGER | DECIMAL | DATETIME.
            found.append(((*base, "columns", i, "type"), (
                f"{kind} needs a {kind} input column, and for {file_format} files QuickSight supports only STRING "
                f"input columns (cast in the data set to {', '.join(CASTABLE_TYPES[1:])}): use one of "
                f"{', '.join(CASTABLE_TYPES)}, or format JSON")))  # fmt: skip
    principals = dataset.get("principals")
    arns: set[str] = set()
    for i, principal in enumerate(principals if isinstance(principals, list) else []):
        arn = principal.get("arn") if isinstance(principal, dict) else None
        if isinstance(arn, str):
            if arn in arns:
                found.append(((*base, "principals", i, "arn"), "is listed twice: give each principal one access"))
            arns.add(arn)
            found.extend(((*base, "principals", i, "arn"), m) for m in _principal_problems(arn, doc))
    return found
