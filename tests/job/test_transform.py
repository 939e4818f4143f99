"""The job's transformation on small hand-written inputs: every dirty kind, every alias, exact rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from types import ModuleType
from typing import Any

import pytest

from reconciler_local import datagen

pytestmark = pytest.mark.spark

Q3 = "2026-Q3"
D = dt.date

# (line, expected reason or canonical brand for valid rows, date, second of day)
CASES: list[tuple[str, str | None, str | None, D | None, int | None]] = [
    # Valid, canonical.
    ("BMW,2026-07-01,00:00:00", None, "BMW", D(2026, 7, 1), 0),
    ("Mercedes-Benz,2026-09-30,23:59:59", None, "Mercedes-Benz", D(2026, 9, 30), 86_399),
    ("Volkswagen,2026-08-15,12:34:56", None, "Volkswagen", D(2026, 8, 15), 45_296),
    # Recoverable: case, whitespace (ASCII, tab, no-break space, stray BOM), inner whitespace, aliases.
    ("VW,2026-07-02,08:00:00", None, "Volkswagen", D(2026, 7, 2), 28_800),
    ("vw ,2026-07-02,08:00:01", None, "Volkswagen", D(2026, 7, 2), 28_801),
    (" Vw,2026-07-02,08:00:02", None, "Volkswagen", D(2026, 7, 2), 28_802),
    ("VOLKSWAGEN,2026-07-02,08:00:03", None, "Volkswagen", D(2026, 7, 2), 28_803),
    ("Mercedes Benz,2026-07-03,09:00:00", None, "Mercedes-Benz", D(2026, 7, 3), 32_400),
    ("MERCEDES BENZ,2026-07-03,09:00:01", None, "Mercedes-Benz", D(2026, 7, 3), 32_401),
    ("mercedes-benz,2026-07-03,09:00:02", None, "Mercedes-Benz", D(2026, 7, 3), 32_402),
    ("Mercedes  Benz,2026-07-03,09:00:03", None, "Mercedes-Benz", D(2026, 7, 3), 32_403),
    ("Mercedes,2026-07-03,09:00:04", None, "Mercedes-Benz", D(2026, 7, 3), 32_404),
    ("MercedesBenz,2026-07-03,09:00:05", None, "Mercedes-Benz", D(2026, 7, 3), 32_405),
    ("Škoda,2026-07-04,10:00:00", None, "Skoda", D(2026, 7, 4), 36_000),
    ("ŠKODA,2026-07-04,10:00:01", None, "Skoda", D(2026, 7, 4), 36_001),
    ("Citroën,2026-07-04,10:00:02", None, "Citroen", D(2026, 7, 4), 36_002),
    (" bmw,2026-07-04,10:00:03", None, "BMW", D(2026, 7, 4), 36_003),
    ("\tToyota,2026-07-04,10:00:04", None, "Toyota", D(2026, 7, 4), 36_004),
    ("  audi ,2026-07-04,10:00:05", None, "Audi", D(2026, 7, 4), 36_005),
    ("\u00a0Kia,2026-07-04,10:00:06", None, "Kia", D(2026, 7, 4), 36_006),
    ("\ufeffOpel,2026-07-04,10:00:07", None, "Opel", D(2026, 7, 4), 36_007),
    # Blank brands.
    (",2026-07-01,10:00:00", "blank_brand", None, None, None),
    (" ,2026-07-01,10:00:00", "blank_brand", None, None, None),
    ("   ,2026-07-01,10:00:00", "blank_brand", None, None, None),
    ("\t,2026-07-01,10:00:00", "blank_brand", None, None, None),
    ("\u00a0,2026-07-01,10:00:00", "blank_brand", None, None, None),
    # Unknown brands: misspellings are not guessed; quotes are not interpreted.
    ("Volkswagon,2026-07-01,10:00:00", "unknown_brand", None, None, None),
    ("BWM,2026-07-01,10:00:00", "unknown_brand", None, None, None),
    ("Mercedez,2026-07-01,10:00:00", "unknown_brand", None, None, None),
    ("N/A,2026-07-01,10:00:00", "unknown_brand", None, None, None),
    ("NULL,2026-07-01,10:00:00", "unknown_brand", None, None, None),
    ("-,2026-07-01,10:00:00", "unknown_brand", None, None, None),
    ("Lada,2026-07-01,10:00:00", "unknown_brand", None, None, None),
    ("V W,2026-07-01,10:00:00", "unknown_brand", None, None, None),
    ("Mercedes-Benz AG,2026-07-01,10:00:00", "unknown_brand", None, None, None),
    ('"BMW",2026-07-01,10:00:00', "unknown_brand", None, None, None),
    # Invalid dates: shape, impossible values, empty, padding (dates are strict, never trimmed).
    ("BMW,2026-13-45,10:00:00", "invalid_date", None, None, None),
    ("BMW,31/07/2026,10:00:00", "invalid_date", None, None, None),
    ("BMW,,10:00:00", "invalid_date", None, None, None),
    ("BMW,2026-09-31,10:00:00", "invalid_date", None, None, None),
    ("BMW,2026-02-30,10:00:00", "invalid_date", None, None, None),
    ("BMW,2027-02-29,10:00:00", "invalid_date", None, None, None),
    ("BMW,2026-07-32,10:00:00", "invalid_date", None, None, None),
    ("BMW,2026-07-00,10:00:00", "invalid_date", None, None, None),
    ("BMW,2026-00-10,10:00:00", "invalid_date", None, None, None),
    ("BMW,0000-07-01,10:00:00", "invalid_date", None, None, None),
    ("BMW,2026/07/15,10:00:00", "invalid_date", None, None, None),
    ("BMW,20260715,10:00:00", "invalid_date", None, None, None),
    ("BMW,2026-7-5,10:00:00", "invalid_date", None, None, None),
    ("BMW, 2026-07-01,10:00:00", "invalid_date", None, None, None),
    ("BMW,2026-07-01 ,10:00:00", "invalid_date", None, None, None),
    ("BMW,not a date,10:00:00", "invalid_date", None, None, None),
    ("BMW,\uff12\uff10\uff12\uff16-07-01,10:00:00", "invalid_date", None, None, None),  # full-width digits
    # Invalid times.
    ("BMW,2026-07-01,25:61:00", "invalid_time", None, None, None),
    ("BMW,2026-07-01,", "invalid_time", None, None, None),
    ("BMW,2026-07-01,24:00:00", "invalid_time", None, None, None),
    ("BMW,2026-07-01,12:60:00", "invalid_time", None, None, None),
    ("BMW,2026-07-01,12:00:60", "invalid_time", None, None, None),
    ("BMW,2026-07-01,23:59:60", "invalid_time", None, None, None),
    ("BMW,2026-07-01,7:05:00", "invalid_time", None, None, None),
    ("BMW,2026-07-01,12:00", "invalid_time", None, None, None),
    ("BMW,2026-07-01,12-00-00", "invalid_time", None, None, None),
    ("BMW,2026-07-01,12:00:00.5", "invalid_time", None, None, None),
    ("BMW,2026-07-01, 12:00:00", "invalid_time", None, None, None),
    ("BMW,2026-07-01,noon", "invalid_time", None, None, None),
    # Too few or too many fields.
    ("BMW,2026-07-01", "wrong_field_count", None, None, None),
    ("BMW", "wrong_field_count", None, None, None),
    ("", "wrong_field_count", None, None, None),
    ("BMW,2026-07-01,12:00:00,extra", "wrong_field_count", None, None, None),
    ("BMW,2026-07-01,12:00:00,", "wrong_field_count", None, None, None),
    ("Mercedes, Benz,2026-07-01,12:00:00", "wrong_field_count", None, None, None),
    ("BMW;2026-07-01;12:00:00", "wrong_field_count", None, None, None),
    # Valid, but not in the ingest folder's quarter.
    ("BMW,2026-06-30,23:59:59", "outside_ingest_quarter", None, None, None),
    ("BMW,2026-10-01,00:00:00", "outside_ingest_quarter", None, None, None),
    ("BMW,2025-08-01,10:00:00", "outside_ingest_quarter", None, None, None),
    ("BMW,2028-02-29,10:00:00", "outside_ingest_quarter", None, None, None),
    # Several defects: the first rule in order wins.
    (",2026-13-45,25:00:00", "blank_brand", None, None, None),
    ("Volkswagon,bad,bad", "unknown_brand", None, None, None),
    ("BMW,bad,bad", "invalid_date", None, None, None),
    ("BMW,2026-06-30,bad", "invalid_time", None, None, None),
    (",,,", "wrong_field_count", None, None, None),
]


def raw_frame(spark: Any, lines: list[str], ingest_quarter: str | None = Q3) -> Any:
    rows = [(line, "part-00000.csv", ingest_quarter) for line in lines]
    return spark.createDataFrame(rows, "raw_line string, source_file string, ingest_quarter string")


def outcomes(job: ModuleType, spark: Any, lines: list[str], ingest_quarter: str | None = Q3) -> list[tuple[Any, ...]]:
    validated = job.validate_rows(raw_frame(spark, lines, ingest_quarter))
    rows = validated.select("raw_line", "reject_reason", "brand", "event_date", "second_of_day").collect()
    # Valid rows carry their parse; rejected ones are compared on the reason alone.
    return sorted(
        (r["raw_line"], r["reject_reason"], None, None, None)
        if r["reject_reason"]
        else (r["raw_line"], None, r["brand"], r["event_date"], r["second_of_day"])
        for r in rows
    )


def test_every_case_gets_exactly_its_outcome(job: ModuleType, spark: Any) -> None:
    assert outcomes(job, spark, [case[0] for case in CASES]) == sorted(CASES)


def test_outcomes_do_not_depend_on_ansi_mode(job: ModuleType, spark: Any) -> None:
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        assert outcomes(job, spark, [case[0] for case in CASES]) == sorted(CASES)
    finally:
        spark.conf.unset("spark.sql.ansi.enabled")


def test_quarter_is_checked_only_against_a_quarter_label(job: ModuleType, spark: Any) -> None:
    lines = ["BMW,2025-01-01,10:00:00", "BMW,2028-02-29,10:00:00"]
    expected = [
        ("BMW,2025-01-01,10:00:00", None, "BMW", D(2025, 1, 1), 36_000),
        ("BMW,2028-02-29,10:00:00", None, "BMW", D(2028, 2, 29), 36_000),
    ]
    assert outcomes(job, spark, lines, ingest_quarter=None) == expected
    assert outcomes(job, spark, lines, ingest_quarter="latest") == expected


def test_every_generator_spelling_meets_its_documented_fate(job: ModuleType, spark: Any) -> None:
    recoverable = (
        [(text, canonical) for text, canonical in datagen.FIXED_VARIANTS]
        + [
            (transform(brand), brand)
            for brand in datagen.BRANDS
            for _, transform in datagen.CASE_VARIANTS
            if transform(brand) != brand
        ]
        + [(brand, brand) for brand in datagen.BRANDS]
    )
    lines = [f"{text},2026-07-01,10:00:{i % 60:02d}" for i, (text, _) in enumerate(recoverable)]
    unknown = [f"{text},2026-07-01,10:00:00" for text in datagen.UNKNOWN_BRANDS]
    blank = [f"{text},2026-07-01,10:00:00" for text in datagen.BLANK_BRANDS]
    got = {row[0]: row for row in outcomes(job, spark, lines + unknown + blank)}
    for line, (_, canonical) in zip(lines, recoverable, strict=True):
        assert got[line][1:3] == (None, canonical), line
    assert {got[line][1] for line in unknown} == {"unknown_brand"}
    assert {got[line][1] for line in blank} == {"blank_brand"}


def test_brand_tables(job: ModuleType) -> None:
    assert set(job.CANONICAL_BRANDS) == set(datagen.BRANDS)
    assert job.BRAND_ALIASES == {
        "vw": "Volkswagen",
        "mercedes benz": "Mercedes-Benz",
        "mercedes": "Mercedes-Benz",
        "mercedesbenz": "Mercedes-Benz",
        "škoda": "Skoda",
        "citroën": "Citroen",
    }
    assert set(job.BRAND_LOOKUP.values()) == set(job.CANONICAL_BRANDS)
    assert job.REASONS == datagen.REASONS


def test_parse_rows_splits_fields(job: ModuleType, spark: Any) -> None:
    parsed = job.parse_rows(raw_frame(spark, ["a,b,c", "a,b", "a,b,c,", ""]))
    rows = parsed.select("raw_line", "n_fields", "brand_text", "date_text", "time_text").collect()
    assert sorted(tuple(r) for r in rows) == [
        ("", 1, None, None, None),
        ("a,b", 2, None, None, None),
        ("a,b,c", 3, "a", "b", "c"),
        ("a,b,c,", 4, None, None, None),
    ]


def test_quarantine_keeps_every_rejected_line_verbatim(job: ModuleType, spark: Any) -> None:
    lines = ["  Lada ,2026-07-01,10:00:00", "  Lada ,2026-07-01,10:00:00", "BMW,2026-07-01,10:00:00", "x"]
    rows = job.quarantine_rows(job.validate_rows(raw_frame(spark, lines))).collect()
    assert sorted(tuple(r) for r in rows) == [
        ("unknown_brand", "part-00000.csv", "  Lada ,2026-07-01,10:00:00", Q3),
        ("unknown_brand", "part-00000.csv", "  Lada ,2026-07-01,10:00:00", Q3),
        ("wrong_field_count", "part-00000.csv", "x", Q3),
    ]


def test_deduplicate_drops_exact_copies_of_valid_lines_only(job: ModuleType, spark: Any) -> None:
    lines = [
        "BMW,2026-07-01,10:00:00",
        "BMW,2026-07-01,10:00:00",
        "BMW,2026-07-01,10:00:00",
        "bmw,2026-07-01,10:00:00",  # same event, another spelling: a different line, kept
        "Audi,2026-07-01,10:00:00",
        "Lada,2026-07-01,10:00:00",  # rejected: never de-duplicated
        "Lada,2026-07-01,10:00:00",
    ]
    rows = job.deduplicate(job.validate_rows(raw_frame(spark, lines))).collect()
    got = sorted((r["raw_line"], r["brand"], r["copies"], r["brand_recovered"]) for r in rows)
    assert got == [
        ("Audi,2026-07-01,10:00:00", "Audi", 1, False),
        ("BMW,2026-07-01,10:00:00", "BMW", 3, False),
        ("bmw,2026-07-01,10:00:00", "BMW", 1, True),
    ]


def _clean(job: ModuleType, spark: Any, lines: list[str], ingest_quarter: str | None = None) -> Any:
    return job.clean_rows(
        job.derive_columns(job.deduplicate(job.validate_rows(raw_frame(spark, lines, ingest_quarter))))
    )


def test_derived_columns_are_exact_and_time_zone_free(job: ModuleType, spark: Any) -> None:
    from pyspark.sql import functions as F

    lines = ["Tesla,2026-07-05,13:45:10", "Kia,2026-07-06,00:00:00", "Fiat,2026-12-31,23:59:59"]
    clean = _clean(job, spark, lines)
    assert clean.columns == list(job.CLEAN_COLUMNS)
    rows = clean.withColumn("epoch", F.col("event_ts").cast("long")).drop("event_ts").collect()
    got = sorted(tuple(r[c] for c in (*job.CLEAN_COLUMNS[:1], *job.CLEAN_COLUMNS[2:], "epoch")) for r in rows)

    def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
        return int(dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC).timestamp())

    # brand, event_date, month, day, day_of_week (ISO), hour, year, quarter, epoch seconds (UTC)
    assert got == [
        ("Fiat", D(2026, 12, 31), 12, 31, 4, 23, 2026, 4, epoch(2026, 12, 31, 23, 59, 59)),
        ("Kia", D(2026, 7, 6), 7, 6, 1, 0, 2026, 3, epoch(2026, 7, 6)),
        ("Tesla", D(2026, 7, 5), 7, 5, 7, 13, 2026, 3, epoch(2026, 7, 5, 13, 45, 10)),
    ]


def test_daily_and_quarterly_aggregates(job: ModuleType, spark: Any) -> None:
    lines = [
        "BMW,2026-07-01,10:00:00",
        "BMW,2026-07-01,11:00:00",
        "bmw,2026-07-01,11:00:00",
        "Audi,2026-07-01,12:00:00",
        "BMW,2026-07-02,10:00:00",
        "BMW,2026-07-02,10:00:00",  # duplicate: counted once
        "Audi,2026-10-01,09:00:00",
    ]
    daily = job.daily_counts(_clean(job, spark, lines))
    assert sorted(tuple(r) for r in daily.collect()) == [
        ("2026-Q3", D(2026, 7, 1), 7, 3, "Wed", "Audi", 1, 2026, 3),
        ("2026-Q3", D(2026, 7, 1), 7, 3, "Wed", "BMW", 3, 2026, 3),
        ("2026-Q3", D(2026, 7, 2), 7, 4, "Thu", "BMW", 1, 2026, 3),
        ("2026-Q4", D(2026, 10, 1), 10, 4, "Thu", "Audi", 1, 2026, 4),
    ]
    assert [f.name for f in daily.schema.fields] == [f.name for f in job.DAILY_SCHEMA.fields]
    quarterly = job.quarterly_shares(daily)
    assert sorted(tuple(r) for r in quarterly.collect()) == [
        ("2026-Q3", "Audi", 1, 0.2, 2026, 3),
        ("2026-Q3", "BMW", 4, 0.8, 2026, 3),
        ("2026-Q4", "Audi", 1, 1.0, 2026, 4),
    ]


def test_one_shuffle_collapses_exactly_what_deduplicate_and_quarantine_keep(job: ModuleType, spark: Any) -> None:
    lines = [
        "BMW,2026-07-01,10:00:00",
        "BMW,2026-07-01,10:00:00",
        "bmw,2026-07-01,10:00:00",  # same second and brand, another spelling: its own event
        " bmw,2026-07-01,10:00:00",
        "bmw,2026-07-01,10:00:00",
        "Audi,2026-07-01,10:00:00",  # same second, another brand
        "Volvo,1969-12-31,23:59:59",  # before the epoch: negative event seconds
        "Volvo,0001-01-01,00:00:00",
        "Porsche,9999-12-31,23:59:59",
        "Lada,2026-07-01,10:00:00",
        "Lada,2026-07-01,10:00:00",
        "x",
    ]
    rows = [(line, f"part-0000{i % 2}.csv", None) for i, line in enumerate(lines)]
    rows += [("Lada,2026-07-01,10:00:00", "part-00000.csv", None)]  # a copy in the same file
    frame = spark.createDataFrame(rows, "raw_line string, source_file string, ingest_quarter string")
    validated = job.validate_rows(frame)
    collapsed = job.collapse_copies(validated)
    valid = sorted(
        (r["brand"], r["event_date"], r["second_of_day"], r["brand_recovered"], r["copies"])
        for r in collapsed.where("reject_reason IS NULL").collect()
    )
    expected = sorted(
        (r["brand"], r["event_date"], r["second_of_day"], r["brand_recovered"], r["copies"])
        for r in job.deduplicate(validated).collect()
    )
    assert valid == expected
    assert len(valid) == 7 and (("BMW", D(2026, 7, 1), 36_000, True, 2) in valid)
    assert ("Volvo", D(1969, 12, 31), 86_399, False, 1) in valid and ("Volvo", D(1, 1, 1), 0, False, 1) in valid
    assert all(r["raw_line"] is None for r in collapsed.where("reject_reason IS NULL").collect())
    quarantined = Counter(tuple(r) for r in job.expand_copies(collapsed).collect())
    assert quarantined == Counter(tuple(r) for r in job.quarantine_rows(validated).collect())
    assert quarantined[("unknown_brand", "part-00000.csv", "Lada,2026-07-01,10:00:00", None)] == 2
