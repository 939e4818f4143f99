"""Prepare the raw car-brand events for the quarterly ML run and for QuickSight.

One script, run unmodified by AWS Glue 5.x (Spark 3.5.4/3.5.6) and by local pyspark 3.5. It reads its
arguments from ``sys.argv`` as Glue passes them (``--key value``); ``awsglue`` is used when importable
(Glue's job bookmarks and metrics) and never required.

Arguments
    ``--input_path``  (required) root of the raw layout, e.g. ``s3://BUCKET/raw/car_brands/``: headerless
                      ``brand,date,time`` lines, one folder per ingested quarter (``ingest_quarter=2026-Q3/``).
    ``--output_path`` (required) the pipeline's output base, e.g. ``s3://BUCKET/prepared/``. With ``--run_id``
                      (what ``reconcile run`` passes, with the run's own prefix ``.../prepared/runs/<run_id>/``)
                      every output below goes directly under it; without ``--run_id`` (a run the Glue
                      workflow, the console or the CLI started) under ``<output_path>runs/<run id>/``, so
                      no run ever writes over published data, and any run can be gated and published
                      later with ``reconcile promote <run id>``. The job writes nothing outside that prefix.
    ``--run_id``      (optional) defaults to ``--JOB_RUN_ID`` (Glue passes it), else ``local-<UTC time>``.
    ``--run_quarter`` (optional) ``YYYY-QN``: read only ``ingest_quarter=YYYY-QN/``; ``previous`` or
                      ``current``: the quarter that rule names at the run's start (UTC): what the job's
                      default argument says when the Glue workflow's schedule is the scheduler
                      (``spec.schedule.in_aws``), so such a run processes one quarter as ``reconcile run``
                      does; without it every ingested quarter is read.
    Anything else (``--JOB_NAME``, ``--JOB_ID``, ``--TempDir``, ``--enable-metrics``, ...) is tolerated.

Outputs under ``--output_path``
    ``clean/year=Y/quarter=Q/*.parquet``            one row per valid, de-duplicated event (ML)
    ``aggregated/daily/year=Y/quarter=Q/*.parquet``  events per brand per day
    ``aggregated/quarterly/year=Y/quarter=Q/...``    events per brand per quarter, with share of the quarter
    ``aggregated/csv/part-00000.csv``               headered CSV of *all* daily rows, for QuickSight: the
                                                   only file under that prefix (URIPrefixes do not recurse)
    ``quarantine/ingest_quarter=L/*.csv``           every rejected line verbatim, with its reason (headered)
    ``reports/run_report.json``                     the last run's report, written last (completion marker)
    ``reports/runs/<run_id>.json``                  the same report, kept per run

Partitioned outputs are written with dynamic partition overwrite, so a rerun replaces exactly the
partitions it produces and a new quarter adds its own. The run also *owns* the partitions of every
ingest quarter it read: one of those that this run produced no rows for (say a corrected export without
rejected lines) is removed, so outputs always equal what the current input yields.

Row rules (a row gets the first reason that applies)
    ``wrong_field_count``       not exactly three comma-separated fields (quotes are not interpreted)
    ``blank_brand``             brand empty after trimming whitespace
    ``unknown_brand``           brand not a canonical name after trim, whitespace collapse and case folding,
                                nor in ``BRAND_ALIASES`` (misspellings are never guessed)
    ``invalid_date``            not ``YYYY-MM-DD`` or not a real calendar day (no trimming)
    ``invalid_time``            not ``HH:MM:SS`` with 00-23, 00-59, 00-59 (no trimming, no leap second)
    ``outside_ingest_quarter``  the event's quarter differs from its ``ingest_quarter=YYYY-QN`` folder; this
                                keeps each clean partition a function of one ingest folder (checked only
                                when the folder label has that shape)
Valid rows are then de-duplicated on the raw line: an identical line is the same event re-sent (lines
carry no event id, so nothing finer can be told apart). Rejected rows are all quarantined, copies included.
Times carry no zone in the source; they are taken as UTC, independent of the session time zone.

The hot path uses built-in Spark SQL functions only (no Python UDFs); the driver collects nothing but the
report's small aggregates. The transformation is in pure functions over DataFrames; ``main`` is thin.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, DataFrameWriter, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

JOB_NAME = "car_brands_job"
REPORT_FORMAT_VERSION = "1"

CANONICAL_BRANDS: tuple[str, ...] = (
    "Audi", "BMW", "Citroen", "Fiat", "Ford", "Hyundai", "Kia", "Mazda", "Mercedes-Benz", "Nissan",
    "Opel", "Peugeot", "Porsche", "Renault", "Seat", "Skoda", "Tesla", "Toyota", "Volkswagen", "Volvo",
)  # fmt: skip
# Spellings that are not a canonical name up to case and whitespace, keyed by their normalised form
# (trimmed, inner whitespace collapsed to one space, lower case). Extend deliberately: every key here
# turns a row the job would quarantine into a valid one.
BRAND_ALIASES: dict[str, str] = {
    "vw": "Volkswagen",
    "mercedes benz": "Mercedes-Benz",
    "mercedes": "Mercedes-Benz",
    "mercedesbenz": "Mercedes-Benz",
    "škoda": "Skoda",
    "citroën": "Citroen",
}
BRAND_LOOKUP: dict[str, str] = {name.lower(): name for name in CANONICAL_BRANDS} | BRAND_ALIASES

REASONS: tuple[str, ...] = (
    "wrong_field_count",
    "blank_brand",
    "unknown_brand",
    "invalid_date",
    "invalid_time",
    "outside_ingest_quarter",
)

# Output layout, relative to --output_path.
CLEAN_DIR = "clean"
DAILY_DIR = "aggregated/daily"
QUARTERLY_DIR = "aggregated/quarterly"
CSV_DIR = "aggregated/csv"
QUARANTINE_DIR = "quarantine"
REPORT_FILE = "reports/run_report.json"
RUN_REPORTS_DIR = "reports/runs"
CSV_FILE = "part-00000.csv"

CLEAN_COLUMNS: tuple[str, ...] = (
    "brand", "event_ts", "event_date", "month", "day", "day_of_week", "hour", "year", "quarter",
)  # fmt: skip
DAILY_SCHEMA = T.StructType(
    [
        T.StructField("year_quarter", T.StringType()),
        T.StructField("event_date", T.DateType()),
        T.StructField("month", T.IntegerType()),
        T.StructField("day_of_week", T.IntegerType()),
        T.StructField("day_name", T.StringType()),
        T.StructField("brand", T.StringType()),
        T.StructField("events", T.LongType()),
        T.StructField("year", T.IntegerType()),
        T.StructField("quarter", T.IntegerType()),
    ]
)
CSV_COLUMNS: tuple[str, ...] = (
    "year", "quarter", "year_quarter", "event_date", "month", "day_of_week", "day_name", "brand", "events",
)  # fmt: skip
QUARANTINE_COLUMNS: tuple[str, ...] = ("reason", "source_file", "raw_line", "ingest_quarter")

_QUARTER_LABEL = r"^[0-9]{4}-Q[1-4]$"
_WHITESPACE = r"[\s\p{Z}\uFEFF]"  # Java regex: ASCII whitespace, Unicode separators, a stray BOM


# --------------------------------------------------------------------------------------------------
# Arguments


class JobArgumentError(ValueError):
    """The job was started with missing or malformed arguments."""


@dataclass(frozen=True)
class JobArgs:
    input_path: str
    output_path: str
    run_id: str
    run_quarter: str | None
    job_name: str
    raw: Mapping[str, str]


def parse_glue_argv(argv: Sequence[str]) -> dict[str, str]:
    """``--key value`` pairs as Glue passes them; ``--key=value`` and bare ``--flag`` ("") also accepted."""
    parsed: dict[str, str] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if not token.startswith("--") or len(token) == 2:
            continue  # the script name, or a stray positional
        key, sep, value = token[2:].partition("=")
        if not sep:
            if i < len(argv) and not argv[i].startswith("--"):
                value = argv[i]
                i += 1
            else:
                value = ""
        parsed[key] = value
    return parsed


def resolve_args(argv: Sequence[str], *, now: dt.datetime | None = None) -> JobArgs:
    raw = parse_glue_argv(argv)
    missing = [key for key in ("input_path", "output_path") if not raw.get(key)]
    if missing:
        raise JobArgumentError("missing required job argument(s): " + ", ".join(f"--{k}" for k in missing))
    started = now or dt.datetime.now(dt.UTC)
    run_quarter = raw.get("run_quarter") or None
    if run_quarter in QUARTER_RULES:
        run_quarter = due_quarter(run_quarter, started)
    if run_quarter is not None and not re.match(_QUARTER_LABEL, run_quarter):
        raise JobArgumentError(
            f"--run_quarter must look like 2026-Q3 or be one of {', '.join(QUARTER_RULES)}, got {run_quarter!r}"
        )
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    run_id = re.sub(r"[^A-Za-z0-9._-]", "_", raw.get("run_id") or raw.get("JOB_RUN_ID") or f"local-{stamp}")
    # Started without our --run_id (a workflow, the console): its own run prefix, never the published data.
    output_path = raw["output_path"] if raw.get("run_id") else join_path(raw["output_path"], "runs", run_id) + "/"
    return JobArgs(
        input_path=raw["input_path"],
        output_path=output_path,
        run_id=run_id,
        run_quarter=run_quarter,
        job_name=raw.get("JOB_NAME") or JOB_NAME,
        raw=raw,
    )


#: `--run_quarter` rules, as spec.schedule.quarter names them (src/reconciler/quarterly/quarters.py)
QUARTER_RULES = ("previous", "current")


def due_quarter(rule: str, now: dt.datetime) -> str:
    """``previous``: the last complete quarter at ``now`` (UTC; a run on 1 October processes Q3);
    ``current``: the quarter ``now`` falls in."""
    day = now.astimezone(dt.UTC).date() if now.tzinfo else now.date()
    year, quarter = day.year, (day.month - 1) // 3 + 1
    if rule == "previous":
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return f"{year}-Q{quarter}"


def join_path(base: str, *parts: str) -> str:
    """``s3://b/prepared/`` + ``clean`` -> ``s3://b/prepared/clean`` (also plain and ``file://`` paths)."""
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


# --------------------------------------------------------------------------------------------------
# Transformation: pure functions over DataFrames


def read_text(spark: SparkSession, input_path: str, run_quarter: str | None = None) -> DataFrame:
    """The input as Spark's text source sees it: ``value`` per line, plus ``ingest_quarter`` when the files
    sit in ``ingest_quarter=.../`` folders (Hive-style partition discovery)."""
    reader = spark.read
    path = input_path
    if run_quarter is not None:
        path = join_path(input_path, f"ingest_quarter={run_quarter}")
        reader = reader.option("basePath", input_path)  # keep ingest_quarter as a partition column
    return reader.text(path)


def raw_lines(frame: DataFrame) -> DataFrame:
    """Raw lines verbatim: ``raw_line``, ``source_file`` (file name), ``ingest_quarter`` (folder label or null)."""
    ingest = F.col("ingest_quarter") if "ingest_quarter" in frame.columns else F.lit(None)
    return frame.select(
        F.col("value").alias("raw_line"),
        F.col("_metadata.file_name").alias("source_file"),
        ingest.cast("string").alias("ingest_quarter"),
    )


def parse_rows(raw: DataFrame) -> DataFrame:
    """Split each line into fields: ``n_fields`` and, for three-field lines, the three texts."""
    three = F.col("n_fields") == 3  # the column, not the expression: split once per row
    return (
        raw.withColumn("_fields", F.split(F.col("raw_line"), ",", -1))
        .withColumn("n_fields", F.size("_fields"))
        .withColumn("brand_text", F.when(three, F.try_element_at("_fields", F.lit(1))))
        .withColumn("date_text", F.when(three, F.try_element_at("_fields", F.lit(2))))
        .withColumn("time_text", F.when(three, F.try_element_at("_fields", F.lit(3))))
        .drop("_fields")
    )


def brand_key(text: Column) -> Column:
    """Trimmed, inner whitespace collapsed to one space, lower case."""
    trimmed = F.regexp_replace(text, f"^{_WHITESPACE}+|{_WHITESPACE}+$", "")
    return F.lower(F.regexp_replace(trimmed, f"{_WHITESPACE}+", " "))


def _map_literal(pairs: Mapping[str, str]) -> Column:
    return F.create_map(*[F.lit(x) for key in sorted(pairs) for x in (key, pairs[key])])


def canonicalise_brands(parsed: DataFrame) -> DataFrame:
    """Add ``brand_key`` and ``brand``: the canonical name, or null when the key is unknown or blank.

    Fast path: a brand text that already is a canonical name (nearly every row) skips the regular
    expressions of :func:`brand_key`.
    """
    text = F.col("brand_text")
    exact = F.try_element_at(_map_literal({name: name for name in CANONICAL_BRANDS}), text)
    return (
        parsed.withColumn("_exact", exact)
        .withColumn("brand_key", F.when(F.col("_exact").isNotNull(), F.lower(text)).otherwise(brand_key(text)))
        .withColumn(
            "brand", F.coalesce(F.col("_exact"), F.try_element_at(_map_literal(BRAND_LOOKUP), F.col("brand_key")))
        )
        .drop("_exact")
    )


def _flag(condition: Column) -> Column:
    """A boolean that is never null (null inputs make a check fail, not vanish)."""
    return F.coalesce(condition, F.lit(False))


def parse_event_time(frame: DataFrame) -> DataFrame:
    """Add ``event_date`` (date) and ``second_of_day`` (int), null when the text is not a real date/time.

    Strict and independent of ANSI mode, the session time zone and the datetime parser policy: shapes are
    checked by regular expressions, calendar days by month length, and nothing is parsed unless it passed.
    Each step is its own column so that Spark evaluates it once per row: composing the Column objects
    instead would copy every sub-expression into each use (and a CASE branch is not de-duplicated).
    """
    date_text, time_text = F.col("date_text"), F.col("time_text")
    year, month, day = F.col("_year"), F.col("_month"), F.col("_day")
    return (
        frame.withColumn("_date_shape", _flag(date_text.rlike(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")))
        .withColumn("_year", F.when(F.col("_date_shape"), F.substring(date_text, 1, 4).cast("int")))
        .withColumn("_month", F.when(F.col("_date_shape"), F.substring(date_text, 6, 2).cast("int")))
        .withColumn("_day", F.when(F.col("_date_shape"), F.substring(date_text, 9, 2).cast("int")))
        .withColumn("_month_ok", _flag((year >= 1) & month.between(1, 12)))
        .withColumn(
            "_month_length",
            F.when(F.col("_month_ok"), F.dayofmonth(F.last_day(F.make_date(year, month, F.lit(1))))),
        )
        .withColumn("_date_ok", _flag((day >= 1) & (day <= F.col("_month_length"))))
        .withColumn("event_date", F.when(F.col("_date_ok"), F.make_date(year, month, day)))
        .withColumn(
            "second_of_day",
            F.when(
                _flag(time_text.rlike(r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$")),
                F.substring(time_text, 1, 2).cast("int") * 3600
                + F.substring(time_text, 4, 2).cast("int") * 60
                + F.substring(time_text, 7, 2).cast("int"),
            ),
        )
        .drop("_date_shape", "_year", "_month", "_day", "_month_ok", "_month_length", "_date_ok")
    )


def assign_reject_reason(frame: DataFrame) -> DataFrame:
    """Add ``reject_reason``: the first rule a row breaks (see the module docstring), null when valid."""
    ingest = F.col("ingest_quarter")
    labelled = _flag(ingest.rlike(_QUARTER_LABEL))
    # The event's year and quarter against the label's YYYY and N, compared as numbers: the same test as
    # formatting "%04d-Q%d" per row and comparing strings (years have four digits), without a formatter per
    # row. Only for labels (inside the CASE), so the casts never see anything but digits, ANSI mode or not.
    in_label = F.when(
        labelled,
        (F.year("event_date") == F.substring(ingest, 1, 4).cast("int"))
        & (F.quarter("event_date") == F.substring(ingest, 7, 1).cast("int")),
    )
    reason = (
        F.when(F.col("n_fields") != 3, F.lit("wrong_field_count"))
        .when(_flag(F.col("brand_key") == ""), F.lit("blank_brand"))
        .when(F.col("brand").isNull(), F.lit("unknown_brand"))
        .when(F.col("event_date").isNull(), F.lit("invalid_date"))
        .when(F.col("second_of_day").isNull(), F.lit("invalid_time"))
        .when(labelled & ~in_label, F.lit("outside_ingest_quarter"))
    )
    return frame.withColumn("reject_reason", reason)


def validate_rows(raw: DataFrame) -> DataFrame:
    """Every raw row with its parse: ``brand``, ``event_date``, ``second_of_day``, ``reject_reason`` and
    ``brand_recovered`` (the brand text needed canonicalising; null when the brand is unknown)."""
    checked = assign_reject_reason(parse_event_time(canonicalise_brands(parse_rows(raw))))
    return checked.select(
        "raw_line",
        "source_file",
        "ingest_quarter",
        "brand",
        (F.col("brand_text") != F.col("brand")).alias("brand_recovered"),
        "event_date",
        "second_of_day",
        "reject_reason",
    )


def quarantine_rows(validated: DataFrame) -> DataFrame:
    """Rejected rows verbatim: ``reason``, ``source_file``, ``raw_line``, ``ingest_quarter``."""
    rejected = validated.where(F.col("reject_reason").isNotNull()).withColumnRenamed("reject_reason", "reason")
    return rejected.select(*QUARANTINE_COLUMNS)


def deduplicate(validated: DataFrame) -> DataFrame:
    """Valid rows, one per distinct raw line, with ``copies``: how many times the line was read."""
    valid = validated.where(F.col("reject_reason").isNull())
    # Every grouping column besides raw_line is a function of raw_line: this is dedup on the raw line.
    return valid.groupBy("raw_line", "brand", "event_date", "second_of_day", "brand_recovered").agg(
        F.count(F.lit(1)).alias("copies")
    )


_BRAND_BITS = 5  # 2**5 >= len(CANONICAL_BRANDS): the brand's index fits the low bits of the event key


def collapse_copies(validated: DataFrame) -> DataFrame:
    """Every row of the input in one shuffle: one row per distinct valid line, and one per distinct rejected
    (line, source file, ingest quarter), with ``copies``: how many times it was read.

    A valid row carries ``brand``, ``event_date``, ``second_of_day``, ``brand_recovered`` (``raw_line`` null:
    nothing downstream reads it); a rejected one what the quarantine writes (see :func:`expand_copies`).
    The de-duplication is the same as :func:`deduplicate`'s. In two steps, :func:`collapse_keys` (the
    shuffle, whose narrow output is what to keep when it is read more than once) and :func:`collapsed_rows`.
    """
    return collapsed_rows(collapse_keys(validated))


def collapse_keys(validated: DataFrame) -> DataFrame:
    """The shuffle of :func:`collapse_copies`: ``copies`` per narrow key.

    A valid line is ``brand text,date,time`` with a date and a time of one fixed shape each, so it is told
    apart by its brand text and event second: its key is one long, ``_event`` (event second and canonical
    brand), plus ``_line``, the line, only where the brand text is not the canonical name (a recovered
    spelling). A rejected row's key is ``_line`` with ``source_file``, ``ingest_quarter`` and
    ``reject_reason``.
    """
    rejected = F.col("reject_reason").isNotNull()
    brand_index = F.create_map(*[F.lit(x) for i, name in enumerate(CANONICAL_BRANDS) for x in (name, i)])
    event_second = F.unix_date("event_date").cast("long") * 86_400 + F.col("second_of_day")
    keyed = validated.select(
        F.when(~rejected, F.shiftleft(event_second, _BRAND_BITS) + F.try_element_at(brand_index, F.col("brand"))).alias(
            "_event"
        ),
        F.when(rejected | F.col("brand_recovered"), F.col("raw_line")).alias("_line"),
        F.when(rejected, F.col("source_file")).alias("source_file"),
        F.when(rejected, F.col("ingest_quarter")).alias("ingest_quarter"),
        "reject_reason",
    )
    return keyed.groupBy(*keyed.columns).agg(F.count(F.lit(1)).alias("copies"))


def collapsed_rows(keys: DataFrame) -> DataFrame:
    """:func:`collapse_copies`'s rows from :func:`collapse_keys`' output."""
    rejected = F.col("reject_reason").isNotNull()
    brands = F.array(*[F.lit(name) for name in CANONICAL_BRANDS])
    seconds = F.shiftright(F.col("_event"), _BRAND_BITS)
    return keys.select(
        F.when(rejected, F.col("_line")).alias("raw_line"),
        "source_file",
        "ingest_quarter",
        "reject_reason",
        F.element_at(brands, (F.col("_event").bitwiseAND((1 << _BRAND_BITS) - 1) + 1).cast("int")).alias("brand"),
        F.date_from_unix_date(((seconds - F.pmod(seconds, F.lit(86_400))) / 86_400).cast("int")).alias("event_date"),
        F.pmod(seconds, F.lit(86_400)).cast("int").alias("second_of_day"),
        F.when(~rejected, F.col("_line").isNotNull()).alias("brand_recovered"),
        "copies",
    )


def expand_copies(collapsed: DataFrame) -> DataFrame:
    """The rejected rows of :func:`collapse_copies`, each as many times as it was read (the quarantine's
    rows, copies included), ordered by file and line within each partition so the files are deterministic."""
    rejected = collapsed.where(F.col("reject_reason").isNotNull()).withColumnRenamed("reject_reason", "reason")
    return (
        rejected.withColumn("_copy", F.explode(F.sequence(F.lit(1), F.col("copies").cast("int"))))
        .select(*QUARANTINE_COLUMNS)
        .sortWithinPartitions("ingest_quarter", "source_file", "raw_line")
    )


def derive_columns(events: DataFrame) -> DataFrame:
    """Add ``event_ts`` (UTC) and the calendar columns; ``day_of_week`` is ISO (1 = Monday .. 7 = Sunday)."""
    date = F.col("event_date")
    epoch_seconds = F.unix_date(date).cast("long") * 86_400 + F.col("second_of_day")
    return (
        events.withColumn("event_ts", F.timestamp_seconds(epoch_seconds))
        .withColumn("year", F.year(date))
        .withColumn("quarter", F.quarter(date))
        .withColumn("month", F.month(date))
        .withColumn("day", F.dayofmonth(date))
        .withColumn("day_of_week", (F.dayofweek(date) + 5) % 7 + 1)
        .withColumn("hour", (F.col("second_of_day") / 3600).cast("int"))
    )


def clean_rows(derived: DataFrame) -> DataFrame:
    """The published clean schema (``CLEAN_COLUMNS``)."""
    return derived.select(*CLEAN_COLUMNS)


def daily_counts(clean: DataFrame, extra: Mapping[str, Column] | None = None) -> DataFrame:
    """Events per brand per day, with calendar columns for dashboards; ``extra`` aggregates are appended
    under their names (the run's report takes its figures from them, then writes the daily columns only)."""
    extra = extra or {}
    return (
        clean.groupBy("year", "quarter", "event_date", "brand")
        .agg(F.count(F.lit(1)).alias("events"), *(column.alias(name) for name, column in extra.items()))
        .select(
            F.format_string("%04d-Q%d", "year", "quarter").alias("year_quarter"),
            "event_date",
            F.month("event_date").alias("month"),
            ((F.dayofweek("event_date") + 5) % 7 + 1).alias("day_of_week"),
            F.date_format("event_date", "EEE").alias("day_name"),
            "brand",
            "events",
            "year",
            "quarter",
            *extra,
        )
    )


def quarterly_shares(daily: DataFrame) -> DataFrame:
    """Events per brand per quarter and the brand's share of all valid events in that quarter."""
    quarter = Window.partitionBy("year", "quarter")
    return (
        daily.groupBy("year", "quarter", "year_quarter", "brand")
        .agg(F.sum("events").alias("events"))
        .withColumn("share", F.col("events") / F.sum("events").over(quarter))
        .select("year_quarter", "brand", "events", "share", "year", "quarter")
    )


# --------------------------------------------------------------------------------------------------
# Filesystem (Hadoop FileSystem through the JVM: s3:// on Glue, local paths and file:// alike)


def _jvm(spark: SparkSession) -> Any:
    jvm = spark.sparkContext._jvm
    if jvm is None:
        raise RuntimeError("the SparkContext has no JVM gateway")
    return jvm


def _filesystem(spark: SparkSession, path: str) -> tuple[Any, Any]:
    hadoop_path = _jvm(spark).org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def path_exists(spark: SparkSession, path: str) -> bool:
    fs, hadoop_path = _filesystem(spark, path)
    return bool(fs.exists(hadoop_path))


def delete_path(spark: SparkSession, path: str) -> bool:
    fs, hadoop_path = _filesystem(spark, path)
    return bool(fs.delete(hadoop_path, True))


def write_text_file(spark: SparkSession, path: str, text: str) -> None:
    """Write one small file (created or replaced) through Hadoop's FileSystem API."""
    jvm = _jvm(spark)
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    fs = jvm.org.apache.hadoop.fs.FileSystem.newInstance(hadoop_path.toUri(), conf)  # private: no .crc
    try:
        fs.setWriteChecksum(False)
        stream = fs.create(hadoop_path, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()
    finally:
        fs.close()


def write_partitioned(frame: DataFrame, path: str, partition_by: Sequence[str], fmt: str) -> None:
    """Dynamic partition overwrite: replaces exactly the partitions ``frame`` has, leaves the others."""
    writer = (
        frame.write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
        .partitionBy(*partition_by)
    )
    if fmt == "csv":
        csv_options(writer).csv(path)
    else:
        writer.parquet(path)


def csv_options(writer: DataFrameWriter) -> DataFrameWriter:
    """Headered RFC 4180 CSV that keeps values verbatim (Spark trims whitespace on write by default)."""
    return (
        writer.option("header", "true")
        .option("quote", '"')
        .option("escape", '"')
        .option("ignoreLeadingWhiteSpace", "false")
        .option("ignoreTrailingWhiteSpace", "false")
        .option("encoding", "UTF-8")
    )


def write_csv_prefix(spark: SparkSession, frame: DataFrame, path: str, sort_by: Sequence[str]) -> None:
    """One sorted, headered CSV file named ``CSV_FILE`` directly under ``path`` and nothing else there."""
    writer = (
        frame.repartition(1)
        .sortWithinPartitions(*sort_by)
        .write.mode("overwrite")
        .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
    )
    csv_options(writer).csv(path)
    fs, directory = _filesystem(spark, path)
    if str(fs.getScheme()) == "file":
        fs = fs.getRawFileSystem()  # the checksummed local FS hides (and keeps writing) .crc files
    jvm_path = _jvm(spark).org.apache.hadoop.fs.Path

    def names() -> list[str]:
        return sorted(str(status.getPath().getName()) for status in fs.listStatus(directory))

    parts = [n for n in names() if n.startswith("part-") and n.endswith(".csv")]
    if len(parts) > 1:
        raise RuntimeError(f"expected one CSV part under {path}, found {parts}")
    if parts and parts[0] != CSV_FILE:
        fs.rename(jvm_path(join_path(path, parts[0])), jvm_path(join_path(path, CSV_FILE)))
    for name in names():
        if name != CSV_FILE:  # _SUCCESS if a committer ignores the option, local .crc checksums, ...
            fs.delete(jvm_path(join_path(path, name)), True)


# --------------------------------------------------------------------------------------------------
# The run


@dataclass(frozen=True)
class Outputs:
    root: str

    def path(self, relative: str) -> str:
        return join_path(self.root, relative)

    def as_dict(self) -> dict[str, str]:
        return {
            "clean": self.path(CLEAN_DIR),
            "aggregated_daily": self.path(DAILY_DIR),
            "aggregated_quarterly": self.path(QUARTERLY_DIR),
            "aggregated_csv": self.path(CSV_DIR) + "/",
            "quarantine": self.path(QUARANTINE_DIR),
            "report": self.path(REPORT_FILE),
        }


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _quarter_of(label: str) -> tuple[int, int] | None:
    return (int(label[:4]), int(label[-1])) if re.match(_QUARTER_LABEL, label) else None


def run(spark: SparkSession, args: JobArgs, *, started: float | None = None) -> dict[str, Any]:
    """Read, validate, write every output, then the report (last). Returns the report."""
    started_wall = started if started is not None else time.time()
    processing_started = time.monotonic()
    out = Outputs(args.output_path)
    text = read_text(spark, args.input_path, args.run_quarter)
    has_ingest_layout = "ingest_quarter" in text.columns
    # One pass over the input and one shuffle that carries every row (the de-duplication, and the rejected
    # rows with their copies counted); only its narrow result is kept (memory, spilling to disk), because
    # every output and the report read it. The cache is also a barrier: without it Spark pushes each filter
    # below the validation projections and re-evaluates the whole rule tree inside the filter condition.
    keys = collapse_keys(validate_rows(raw_lines(text))).persist(StorageLevel.MEMORY_AND_DISK)
    collapsed = collapsed_rows(keys)
    rejected_counts: dict[str, int] = dict.fromkeys(REASONS, 0)
    rejected_quarters: set[str] = set()
    rejected_groups = collapsed.where(F.col("reject_reason").isNotNull()).groupBy("reject_reason", "ingest_quarter")
    for row in rejected_groups.agg(F.sum("copies").alias("rows")).collect():
        rejected_counts[row["reject_reason"]] += int(row["rows"])
        if row["ingest_quarter"] is not None:
            rejected_quarters.add(row["ingest_quarter"])

    events = derive_columns(collapsed.where(F.col("reject_reason").isNull()))
    clean = clean_rows(events)
    write_partitioned(
        clean.sortWithinPartitions("year", "quarter", "event_ts", "brand"),
        out.path(CLEAN_DIR),
        ["year", "quarter"],
        "parquet",
    )
    # The daily aggregate (a row per brand and day) carries every figure the report needs about valid rows.
    daily_stats = daily_counts(
        events,
        {
            "_recovered": F.sum(F.col("brand_recovered").cast("long")),
            "_copies": F.sum("copies"),
        },
    ).persist()
    per_brand: dict[str, int] = {}
    recovered = valid_before_dedup = quarterly_rows = 0
    quarters: set[tuple[int, int]] = set()
    dates: list[dt.date] = []
    stats = daily_stats.groupBy("brand", "year", "quarter").agg(
        F.sum("events").alias("events"),
        F.sum("_recovered").alias("recovered"),
        F.sum("_copies").alias("copies"),
        F.min("event_date").alias("first"),
        F.max("event_date").alias("last"),
    )
    for row in stats.collect():
        per_brand[row["brand"]] = per_brand.get(row["brand"], 0) + int(row["events"])
        recovered += int(row["recovered"])
        valid_before_dedup += int(row["copies"])
        quarterly_rows += 1
        quarters.add((int(row["year"]), int(row["quarter"])))
        dates += [row["first"], row["last"]]
    rows_valid = sum(per_brand.values())
    written_quarters = sorted(quarters)

    daily = daily_stats.select(*DAILY_SCHEMA.names)
    write_partitioned(daily, out.path(DAILY_DIR), ["year", "quarter"], "parquet")
    daily_rows = daily.count()  # from the cache: a few thousand rows
    quarterly = quarterly_shares(daily)
    write_partitioned(quarterly, out.path(QUARTERLY_DIR), ["year", "quarter"], "parquet")
    write_partitioned(expand_copies(collapsed), out.path(QUARANTINE_DIR), ["ingest_quarter"], "csv")

    # Partitions of the ingest quarters this run read but produced nothing for are stale: remove them.
    if has_ingest_layout:
        owned = rejected_quarters | {f"{y:04d}-Q{q}" for y, q in written_quarters}
        for label in sorted(owned - rejected_quarters):
            delete_path(spark, out.path(f"{QUARANTINE_DIR}/ingest_quarter={label}"))
        for label in sorted(owned):
            quarter = _quarter_of(label)
            if quarter is not None and quarter not in written_quarters:
                for directory in (CLEAN_DIR, DAILY_DIR, QUARTERLY_DIR):
                    delete_path(spark, out.path(f"{directory}/year={quarter[0]}/quarter={quarter[1]}"))

    # QuickSight's copy holds every quarter published so far, so it is rebuilt from the whole daily table.
    all_daily = (
        spark.read.schema(DAILY_SCHEMA).parquet(out.path(DAILY_DIR))
        if path_exists(spark, out.path(DAILY_DIR))
        else daily
    ).select(*CSV_COLUMNS)
    write_csv_prefix(spark, all_daily, out.path(CSV_DIR), ["year", "quarter", "event_date", "brand"])

    rows_written = {
        "clean": rows_valid,
        "quarantine": sum(rejected_counts.values()),
        "aggregated_daily": daily_rows,
        "aggregated_quarterly": quarterly_rows,
        "aggregated_csv": all_daily.count(),
    }
    for frame in (keys, daily_stats):
        frame.unpersist()

    finished = time.time()
    report: dict[str, Any] = {
        "format_version": REPORT_FORMAT_VERSION,
        "job_name": args.job_name,
        "run_id": args.run_id,
        "run_quarter": args.run_quarter,
        "input_path": args.input_path,
        "output_path": args.output_path,
        "spark_version": spark.version,
        "started_at": _utc(started_wall),
        "finished_at": _utc(finished),
        "duration_seconds": round(finished - started_wall, 3),
        "processing_seconds": round(time.monotonic() - processing_started, 3),
        "rows_read": sum(rejected_counts.values()) + valid_before_dedup,
        "rows_valid": rows_valid,
        "rows_rejected": sum(rejected_counts.values()),
        "rejected_by_reason": rejected_counts,
        "duplicates_dropped": valid_before_dedup - rows_valid,
        "recovered_brand_variants": recovered,
        "brands_seen": sorted(per_brand),
        "valid_by_brand": dict(sorted(per_brand.items())),
        "date_range": {
            "min": min(dates).isoformat() if dates else None,
            "max": max(dates).isoformat() if dates else None,
        },
        "quarters": [f"{y:04d}-Q{q}" for y, q in written_quarters],
        "rows_written": rows_written,
        "outputs": out.as_dict(),
    }
    document = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    write_text_file(spark, out.path(f"{RUN_REPORTS_DIR}/{args.run_id}.json"), document)
    write_text_file(spark, out.path(REPORT_FILE), document)  # last: the run is complete
    return report


# --------------------------------------------------------------------------------------------------
# Entry point


def _glue_job(args: JobArgs) -> tuple[Any, SparkSession] | None:
    """Glue's Job (bookmarks, metrics) and session when ``awsglue`` is importable; else None."""
    try:
        from awsglue.context import GlueContext
        from awsglue.job import Job
    except ImportError:
        return None
    from pyspark import SparkContext

    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args.job_name, dict(args.raw))
    return job, glue_context.spark_session


def tune_for_local(spark: SparkSession) -> None:
    """On ``local[*]`` only: few shuffle partitions (2-core machines), unless configured explicitly."""
    context = spark.sparkContext
    if (context.master or "").startswith("local") and not context.getConf().contains("spark.sql.shuffle.partitions"):
        spark.conf.set("spark.sql.shuffle.partitions", str(max(2, 2 * context.defaultParallelism)))


def main(argv: Sequence[str] | None = None, spark: SparkSession | None = None) -> dict[str, Any]:
    """Run the job. ``argv`` defaults to ``sys.argv[1:]``; pass ``spark`` to reuse a session (tests)."""
    started = time.time()
    args = resolve_args(sys.argv[1:] if argv is None else argv)
    job: Any = None
    owns_session = spark is None
    if spark is None:
        glue = _glue_job(args)
        if glue is not None:
            job, spark = glue
        else:
            spark = SparkSession.builder.appName(args.job_name).getOrCreate()
            tune_for_local(spark)
    report = run(spark, args, started=started)
    if job is not None:
        job.commit()
    elif owns_session:
        spark.stop()
    return report


if __name__ == "__main__":
    main()
