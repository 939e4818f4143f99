"""What one crawl does: read the crawler's S3 targets, classify them, and write the catalog.

`plan_crawl` lists every object under each target (to find partitions) but reads only the head of each
file (to classify); `commit_plan` creates or updates one table per target folder and its partitions,
honouring the crawler's SchemaChangePolicy:
- UpdateBehavior UPDATE_IN_DATABASE changes an existing table whose schema or location changed; LOG leaves
  an existing table alone (new partitions are still added, with the table's own columns);
- DeleteBehavior applies to a target that no longer holds data (DELETE_FROM_DATABASE deletes its table,
  DEPRECATE_IN_DATABASE marks it with the table parameter `DEPRECATED_BY_CRAWLER`, LOG does nothing) and,
  for DELETE_FROM_DATABASE, to partitions whose folder disappeared.
Table name: TablePrefix + the target's last folder name, lowercased, every non-alphanumeric -> `_`.
Folders below the target are partitions: `key=value` gives the key's name, other folders `partition_<i>`
(as Glue names them); all partition keys are strings.
With the setting `enforce_role_policies` every access is checked against the crawler's role (`roles.py`):
s3:ListBucket on the target's bucket, s3:GetObject on each file read, and on the catalog (catalog,
database and table ARNs) glue:GetDatabase, glue:CreateDatabase when the database is missing,
glue:CreateTable / UpdateTable / DeleteTable, glue:GetPartitions, glue:BatchCreatePartition /
UpdatePartition / BatchDeletePartition; a denial fails the crawl with AWS's Access Denied text.
"""

from __future__ import annotations

import functools
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler_local.glue.classifier import (
    DELIMITER_NAMES,
    ClassificationError,
    CsvSchema,
    classify_csv,
    merge_schemas,
)
from reconciler_local.lake_formation import is_governed, missing_crawler_permissions
from reconciler_local.moto_api import FakeCrawler, GlueBackend
from reconciler_local.roles import Check, catalog_arns, no_check, resolve_role, s3_arn
from reconciler_local.s3store import S3Error, S3Object, S3Store, split_uri

INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"


class CrawlFailed(Exception):
    """The crawl cannot finish; the message becomes LastCrawl.ErrorMessage."""


class CrawlCancelled(Exception):
    pass


@dataclass
class CrawlOptions:
    sample_bytes: int = 1024 * 1024
    max_files_per_table: int = 1000


@dataclass
class TablePlan:
    target: str
    name: str
    location: str
    schema: CsvSchema | None  # None: the target holds no data files
    partition_keys: list[str] = field(default_factory=list)
    partitions: dict[tuple[str, ...], str] = field(default_factory=dict)  # values -> location
    object_count: int = 0
    total_size: int = 0
    average_record_size: int = 0


@dataclass
class CrawlSummary:
    tables_created: int = 0
    tables_updated: int = 0
    tables_deleted: int = 0
    partitions_created: int = 0
    partitions_updated: int = 0
    partitions_deleted: int = 0

    def as_summary_json(self) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        for kind, counts in (
            ("TABLE", (self.tables_created, self.tables_updated, self.tables_deleted)),
            ("PARTITION", (self.partitions_created, self.partitions_updated, self.partitions_deleted)),
        ):
            entries = {action: {"Count": count} for action, count in zip(("ADD", "UPDATE", "DELETE"), counts,
                                                                             strict=True) if count}
            if entries:
                summary[kind] = entries
        return summary


def table_name(prefix: str | None, location: str) -> str:
    bucket, key = split_uri(location)
    folders = [part for part in key.split("/") if part]
    last = folders[-1] if folders else bucket
    return re.sub(r"[^a-z0-9]", "_", f"{prefix or ''}{last}".lower())


def _glob_to_regex(pattern: str) -> re.Pattern[str]:
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            end = pattern.find("}", index)
            if end > index:
                out.append("(" + "|".join(re.escape(p) for p in pattern[index + 1 : end].split(",")) + ")")
                index = end + 1
                continue
            out.append(re.escape(char))
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out))


def _is_data_file(name: str) -> bool:
    return bool(name) and not name.startswith(("_", ".")) and not name.endswith("$folder$")


def _partition_layout(target: str, relative_dirs: dict[str, list[str]]) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Partition key names and each file's partition values, from the folders below the target."""
    depths = {len(dirs) for dirs in relative_dirs.values()}
    if len(depths) > 1:
        shallow = min(relative_dirs.items(), key=lambda item: len(item[1]))[0]
        deep = max(relative_dirs.items(), key=lambda item: len(item[1]))[0]
        raise CrawlFailed(
            f"{target}: data files at different folder depths ({shallow} and {deep}); a target must hold one "
            "table: files directly in it, or all in the same depth of partition folders"
        )
    depth = depths.pop() if depths else 0
    keys: list[str] = []
    for level in range(depth):
        segments = {dirs[level] for dirs in relative_dirs.values()}
        named = {segment.split("=", 1)[0].lower() for segment in segments if "=" in segment}
        if named and (len(named) > 1 or any("=" not in segment for segment in segments)):
            raise CrawlFailed(
                f"{target}: inconsistent partition folders at level {level + 1}: {', '.join(sorted(segments)[:5])}"
            )
        keys.append(named.pop() if named else f"partition_{level}")
    values = {
        key: tuple(urllib.parse.unquote(segment.split("=", 1)[-1]) for segment in dirs)
        for key, dirs in relative_dirs.items()
    }
    return keys, values


def plan_target(
    store: S3Store,
    target: dict[str, Any],
    table_prefix: str | None,
    options: CrawlOptions,
    cancelled: Callable[[], bool],
    check: Check = no_check,
) -> TablePlan:
    path = str(target.get("Path", ""))
    try:
        bucket, prefix = split_uri(path)
        check("s3:ListBucket", s3_arn(bucket))
        if not store.bucket_exists(bucket):
            raise CrawlFailed(f"{path}: the specified bucket does not exist: {bucket}")
        objects = store.list(bucket, prefix)
    except S3Error as error:
        raise CrawlFailed(str(error)) from error
    single_file = len(objects) == 1 and objects[0].key == prefix and not prefix.endswith("/")
    folder = prefix if single_file or not prefix or prefix.endswith("/") else prefix + "/"
    if not single_file:
        objects = [obj for obj in objects if obj.key.startswith(folder)]
    exclusions = [_glob_to_regex(pattern) for pattern in target.get("Exclusions") or []]
    files: list[S3Object] = []
    relative_dirs: dict[str, list[str]] = {}
    for obj in objects:
        relative = obj.key[len(folder) :] if not single_file else obj.key.rsplit("/", 1)[-1]
        *dirs, name = relative.split("/")
        if not _is_data_file(name) or any(dir_.startswith(("_", ".")) for dir_ in dirs):
            continue
        if any(pattern.fullmatch(relative) for pattern in exclusions) or obj.size == 0:
            continue
        files.append(obj)
        relative_dirs[obj.key] = dirs
    location = f"s3://{bucket}/{folder}"
    plan = TablePlan(target=path, name=table_name(table_prefix, location), location=location, schema=None)
    if not files:
        return plan
    plan.partition_keys, values = _partition_layout(path, relative_dirs)
    per_leaf_limit = target.get("SampleSize")
    sampled: list[CsvSchema] = []
    sampled_per_leaf: dict[tuple[str, ...], int] = {}
    sample_bytes = rows = 0
    for obj in files:
        if cancelled():
            raise CrawlCancelled()
        leaf = values[obj.key]
        if per_leaf_limit and sampled_per_leaf.get(leaf, 0) >= int(per_leaf_limit):
            continue
        if len(sampled) >= options.max_files_per_table:
            break
        check("s3:GetObject", s3_arn(obj.bucket, obj.key))
        head, complete = store.read_head(obj.bucket, obj.key, options.sample_bytes)
        try:
            schema = classify_csv(head, complete=complete, source=obj.uri)
        except ClassificationError as error:
            raise CrawlFailed(str(error)) from error
        sampled.append(schema)
        sampled_per_leaf[leaf] = sampled_per_leaf.get(leaf, 0) + 1
        sample_bytes += len(head)
        rows += max(1, head.count(b"\n"))
    try:
        plan.schema = merge_schemas(sampled, path)
    except ClassificationError as error:
        raise CrawlFailed(str(error)) from error
    for obj in files:
        leaf = values[obj.key]
        if plan.partition_keys and leaf not in plan.partitions:
            partition_folder = obj.key.rsplit("/", 1)[0] + "/"
            plan.partitions[leaf] = f"s3://{bucket}/{partition_folder}"
    plan.object_count = len(files)
    plan.total_size = sum(obj.size for obj in files)
    plan.average_record_size = max(1, sample_bytes // max(rows, 1))
    return plan


def plan_crawl(
    store: S3Store, crawler: FakeCrawler, options: CrawlOptions, cancelled: Callable[[], bool],
    check: Check = no_check,
) -> list[TablePlan]:
    targets: dict[str, Any] = crawler.targets or {}
    s3_targets = targets.get("S3Targets") or []
    others = [kind for kind, entries in targets.items() if kind != "S3Targets" and entries]
    if others:
        raise CrawlFailed(f"the local crawler crawls S3 targets only; this crawler also has {', '.join(others)}")
    if not s3_targets:
        raise CrawlFailed("the crawler has no S3 targets")
    plans = [plan_target(store, target, crawler.table_prefix, options, cancelled, check) for target in s3_targets]
    names: dict[str, str] = {}
    for plan in plans:
        if plan.name in names and names[plan.name] != plan.location:
            raise CrawlFailed(f"targets {names[plan.name]} and {plan.location} would both be table {plan.name}")
        names[plan.name] = plan.location
    return plans


def storage_descriptor(schema: CsvSchema, location: str, columns: list[dict[str, str]],
                       parameters: dict[str, str]) -> dict[str, Any]:
    if schema.quoted:
        serde = {"SerializationLibrary": OPEN_CSV_SERDE,
                 "Parameters": {"separatorChar": schema.delimiter, "quoteChar": '"'}}
    else:
        serde = {"SerializationLibrary": LAZY_SIMPLE_SERDE, "Parameters": {"field.delim": schema.delimiter}}
    return {
        "Columns": columns,
        "Location": location,
        "InputFormat": INPUT_FORMAT,
        "OutputFormat": OUTPUT_FORMAT,
        "Compressed": schema.compressed,
        "NumberOfBuckets": -1,
        "SerdeInfo": serde,
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": dict(parameters),
        "StoredAsSubDirectories": False,
    }


def table_parameters(plan: TablePlan, crawler_name: str) -> dict[str, str]:
    assert plan.schema is not None
    parameters = {
        "classification": "csv",
        "delimiter": plan.schema.delimiter,
        "areColumnsQuoted": str(plan.schema.quoted).lower(),
        "columnsOrdered": "true",
        "compressionType": "gzip" if plan.schema.compressed else "none",
        "typeOfData": "file",
        "CrawlerSchemaDeserializerVersion": "1.0",
        "CrawlerSchemaSerializerVersion": "1.0",
        "UPDATED_BY_CRAWLER": crawler_name,
        "objectCount": str(plan.object_count),
        "sizeKey": str(plan.total_size),
        "averageRecordSize": str(plan.average_record_size),
        "recordCount": str(plan.total_size // max(plan.average_record_size, 1)),
    }
    if plan.schema.has_header:
        parameters["skip.header.line.count"] = "1"
    return parameters


def table_input(plan: TablePlan, crawler_name: str) -> dict[str, Any]:
    assert plan.schema is not None
    parameters = table_parameters(plan, crawler_name)
    columns = [{"Name": column.name, "Type": column.type} for column in plan.schema.columns]
    return {
        "Name": plan.name,
        "Owner": "owner",
        "Retention": 0,
        "StorageDescriptor": storage_descriptor(plan.schema, plan.location, columns, parameters),
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in plan.partition_keys],
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
    }


def _schema_signature(definition: dict[str, Any]) -> tuple[Any, ...]:
    descriptor = definition.get("StorageDescriptor") or {}
    return (
        descriptor.get("Columns"),
        descriptor.get("Location"),
        descriptor.get("SerdeInfo"),
        definition.get("PartitionKeys"),
        (definition.get("Parameters") or {}).get("skip.header.line.count"),
    )


def describe_delimiter(delimiter: str) -> str:
    return DELIMITER_NAMES.get(delimiter, repr(delimiter))


def _lake_formation_allows(backend: GlueBackend, crawler: FakeCrawler, database_name: str) -> None:
    """A database Lake Formation governs needs the crawler role's grants on it (lake_formation.py)."""
    if not is_governed(backend.databases[database_name]):
        return
    role = resolve_role(backend.account_id, crawler.role, strict=False)
    arn = role.arn if role is not None else None
    if missing_crawler_permissions(backend.account_id, backend.region_name, arn, database_name):
        raise CrawlFailed(
            f"Insufficient Lake Formation permission(s) on {database_name} "
            "(Service: AWSGlue; Status Code: 400; Error Code: AccessDeniedException)"
        )


def commit_plan(backend: GlueBackend, crawler: FakeCrawler, plans: list[TablePlan],
                lock: threading.RLock, cancelled: Callable[[], bool], check: Check = no_check) -> CrawlSummary:
    """Write the planned tables and partitions to the crawler's database (under the runtime lock)."""
    summary = CrawlSummary()

    def allowed(action: str, table: str | None = None) -> None:
        for arn in catalog_arns(backend.region_name, backend.account_id, database_name, table):
            check(action, arn)

    policy = crawler.schema_change_policy or {}
    update_behavior = policy.get("UpdateBehavior") or "UPDATE_IN_DATABASE"
    delete_behavior = policy.get("DeleteBehavior") or "DEPRECATE_IN_DATABASE"
    database_name = crawler.database_name
    with lock:
        if cancelled():
            raise CrawlCancelled()
        if database_name not in backend.databases:
            allowed("glue:CreateDatabase")
            backend.create_database(database_name, {"Name": database_name}, None)
        allowed("glue:GetDatabase")
        database = backend.databases[database_name]
        _lake_formation_allows(backend, crawler, database_name)
        for plan in plans:
            existing = database.tables.get(plan.name)
            if plan.schema is None:
                if existing is None:
                    continue
                if delete_behavior == "DELETE_FROM_DATABASE":
                    allowed("glue:DeleteTable", plan.name)
                    backend.delete_table(database_name, plan.name)
                    summary.tables_deleted += 1
                elif delete_behavior == "DEPRECATE_IN_DATABASE":
                    current = existing.get_version(str(existing._current_version))
                    parameters = dict(current.get("Parameters") or {})
                    if "DEPRECATED_BY_CRAWLER" not in parameters:
                        allowed("glue:UpdateTable", plan.name)
                        parameters["DEPRECATED_BY_CRAWLER"] = "1"
                        backend.update_table(database_name, plan.name, {**current, "Parameters": parameters})
                        summary.tables_updated += 1
                continue
            wanted = table_input(plan, crawler.name)
            if existing is None:
                allowed("glue:CreateTable", plan.name)
                backend.create_table(database_name, plan.name, wanted)
                summary.tables_created += 1
                current = wanted
            else:
                current = existing.get_version(str(existing._current_version))
                if update_behavior == "UPDATE_IN_DATABASE" and _schema_signature(current) != _schema_signature(wanted):
                    allowed("glue:UpdateTable", plan.name)
                    backend.update_table(database_name, plan.name, wanted)
                    summary.tables_updated += 1
                    current = wanted
            _commit_partitions(backend, database_name, plan, current, delete_behavior, summary,
                               functools.partial(allowed, table=plan.name))
    return summary


def _commit_partitions(backend: GlueBackend, database_name: str, plan: TablePlan, table: dict[str, Any],
                       delete_behavior: str, summary: CrawlSummary,
                       allowed: Callable[[str], None] = lambda action: None) -> None:
    if not plan.partition_keys or plan.schema is None:
        return
    allowed("glue:GetPartitions")
    fake_table = backend.get_table(database_name, plan.name)
    descriptor = table.get("StorageDescriptor") or {}
    parameters = dict(descriptor.get("Parameters") or {})
    known = {tuple(partition.values): partition for partition in fake_table.partitions.values()}
    to_create = []
    for values, location in sorted(plan.partitions.items()):
        wanted = {
            "Values": list(values),
            "StorageDescriptor": {**descriptor, "Location": location, "Parameters": parameters},
            "Parameters": {},
        }
        partition = known.get(values)
        if partition is None:
            to_create.append(wanted)
        elif (partition.partition_input.get("StorageDescriptor") or {}).get("Columns") != descriptor.get("Columns"):
            allowed("glue:UpdatePartition")
            fake_table.update_partition(list(values), wanted)  # type: ignore[arg-type]  # moto annotates a list as str
            summary.partitions_updated += 1
    if to_create:
        allowed("glue:BatchCreatePartition")
        backend.batch_create_partition(database_name, plan.name, to_create)
        summary.partitions_created += len(to_create)
    if delete_behavior == "DELETE_FROM_DATABASE":
        stale = [list(values) for values in known if values not in plan.partitions]
        if stale:
            allowed("glue:BatchDeletePartition")
            backend.batch_delete_partition(database_name, plan.name, [{"Values": values} for values in stale])
            summary.partitions_deleted += len(stale)
