"""End to end on local files: generated raw data in, every output checked against the generator's truth.

Runs the job's ``main`` in-process on the shared session (argv exactly as Glue passes it), and once as a
separate program the way Glue starts the script.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from reconciler_local import datagen

pytestmark = pytest.mark.spark

ROWS = 20_000
REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "Data" / "sample"


@dataclass
class Run:
    input: Path
    output: Path
    truth: dict[str, Any]
    report: dict[str, Any]


def run_job(job: ModuleType, spark: Any, input_dir: Path, output_dir: Path, run_id: str, *extra: str) -> Any:
    argv = [
        "--JOB_NAME", "car-brands-prepare",
        "--JOB_RUN_ID", f"jr_{run_id}",
        "--run_id", f"jr_{run_id}",  # as `reconcile run` passes it: the outputs go directly under output_dir
        "--input_path", f"{input_dir}/",
        "--output_path", f"{output_dir}/",
        "--enable-metrics", "true",
        "--job-bookmark-option", "job-bookmark-disable",
        *extra,
    ]  # fmt: skip
    return job.main(argv, spark=spark)


def assert_report_matches_truth(report: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if key == "rows_written":
            assert {k: report[key][k] for k in value} == value
        else:
            assert report[key] == value, key


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def parquet_rows(spark: Any, path: Path) -> list[tuple[Any, ...]]:
    frame = spark.read.parquet(str(path))
    return sorted(tuple(row) for row in frame.select(*sorted(frame.columns)).collect())


def csv_records(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def quarantine_lines(output: Path) -> Counter[tuple[str, str, str, str]]:
    found: Counter[tuple[str, str, str, str]] = Counter()
    for part in (output / "quarantine").glob("ingest_quarter=*/*.csv"):
        label = part.parent.name.split("=", 1)[1]
        for record in csv_records(part):
            found[(label, record["reason"], record["source_file"], record["raw_line"])] += 1
    return found


def snapshot(spark: Any, output: Path) -> dict[str, Any]:
    """Everything a reader sees, independent of Spark's random part-file names."""
    return {
        "clean": parquet_rows(spark, output / "clean"),
        "daily": parquet_rows(spark, output / "aggregated" / "daily"),
        "quarterly": parquet_rows(spark, output / "aggregated" / "quarterly"),
        "csv": files_under(output / "aggregated" / "csv"),
        "quarantine": quarantine_lines(output),
    }


@pytest.fixture(scope="module")
def q3(job: ModuleType, spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("e2e")
    truth = datagen.generate(root / "raw", rows=ROWS, truth_path=root / "truth.json")
    report = run_job(job, spark, root / "raw", root / "prepared", "first")
    return Run(root / "raw", root / "prepared", truth.to_json(), report)


def test_report_equals_the_truth(q3: Run) -> None:
    assert_report_matches_truth(q3.report, q3.truth["expected"])
    assert q3.report["run_id"] == "jr_first"
    assert q3.report["job_name"] == "car-brands-prepare"
    written = json.loads((q3.output / "reports" / "run_report.json").read_text())
    assert written == q3.report
    assert json.loads((q3.output / "reports" / "runs" / "jr_first.json").read_text()) == q3.report


def test_clean_holds_one_row_per_valid_event(spark: Any, q3: Run) -> None:
    assert sorted(p.relative_to(q3.output / "clean").as_posix() for p in (q3.output / "clean").glob("*/*")) == [
        "year=2026/quarter=3"
    ]
    clean = spark.read.parquet(str(q3.output / "clean"))
    assert clean.count() == q3.truth["expected"]["rows_valid"]
    per_brand = {r["brand"]: r["count"] for r in clean.groupBy("brand").count().collect()}
    assert per_brand == q3.truth["expected"]["valid_by_brand"]


def test_aggregates_sum_to_the_valid_rows(spark: Any, q3: Run) -> None:
    from pyspark.sql import functions as F

    valid = q3.truth["expected"]["rows_valid"]
    daily = spark.read.parquet(str(q3.output / "aggregated" / "daily"))
    assert daily.agg(F.sum("events")).first()[0] == valid
    quarterly = spark.read.parquet(str(q3.output / "aggregated" / "quarterly"))
    totals = quarterly.agg(F.sum("events"), F.sum("share"), F.count(F.lit(1))).first()
    assert totals[0] == valid
    assert totals[1] == pytest.approx(1.0)
    assert totals[2] == len(q3.truth["expected"]["brands_seen"])


def test_quicksight_prefix_holds_one_headered_csv(q3: Run) -> None:
    prefix = q3.output / "aggregated" / "csv"
    assert [p.name for p in prefix.iterdir()] == ["part-00000.csv"]  # no _SUCCESS, no .crc, no folders
    text = (prefix / "part-00000.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "year,quarter,year_quarter,event_date,month,day_of_week,day_name,brand,events"
    records = csv_records(prefix / "part-00000.csv")
    assert len(records) == q3.report["rows_written"]["aggregated_csv"] == q3.report["rows_written"]["aggregated_daily"]
    assert sum(int(r["events"]) for r in records) == q3.truth["expected"]["rows_valid"]
    keys = [(r["year"], r["quarter"], r["event_date"], r["brand"]) for r in records]
    assert keys == sorted(keys)  # sorted, so reruns are byte-identical


def test_quarantine_holds_every_rejected_line_verbatim(q3: Run) -> None:
    found = quarantine_lines(q3.output)
    assert sum(found.values()) == q3.truth["expected"]["rows_rejected"]
    by_reason: Counter[str] = Counter()
    for (_, reason, _, _), count in found.items():
        by_reason[reason] += count
    assert dict(by_reason) == {k: v for k, v in q3.truth["expected"]["rejected_by_reason"].items() if v}
    input_lines: Counter[tuple[str, str, str]] = Counter()
    for path in (q3.input / "ingest_quarter=2026-Q3").glob("*.csv"):
        for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
            input_lines[("2026-Q3", path.name, line)] += 1
    for (label, _, source, line), count in found.items():
        assert input_lines[(label, source, line)] >= count, line  # verbatim: whitespace and all


def test_rerun_gives_identical_output(job: ModuleType, spark: Any, q3: Run) -> None:
    before = snapshot(spark, q3.output)
    report = run_job(job, spark, q3.input, q3.output, "second")
    assert snapshot(spark, q3.output) == before
    volatile = {"run_id", "started_at", "finished_at", "duration_seconds", "processing_seconds"}
    assert {k: v for k, v in report.items() if k not in volatile} == {
        k: v for k, v in q3.report.items() if k not in volatile
    }
    assert sorted(p.name for p in (q3.output / "reports" / "runs").iterdir()) == ["jr_first.json", "jr_second.json"]


def test_a_new_quarter_adds_partitions_and_a_corrected_export_replaces_them(
    job: ModuleType, spark: Any, q3: Run, tmp_path: Path
) -> None:
    raw, out = tmp_path / "raw", tmp_path / "prepared"
    shutil.copytree(q3.input, raw)
    shutil.copytree(q3.output, out)
    q3_files = {
        d: files_under(out / d)
        for d in (
            "clean/year=2026/quarter=3",
            "aggregated/daily/year=2026/quarter=3",
            "aggregated/quarterly/year=2026/quarter=3",
            "quarantine/ingest_quarter=2026-Q3",
        )
    }

    q4 = datagen.generate(raw, rows=5_000, quarter="2026-Q4", seed=4, truth_path=tmp_path / "q4.json")
    report = run_job(job, spark, raw, out, "q4", "--run_quarter", "2026-Q4")
    assert_report_matches_truth(report, q4.expected)
    assert report["run_quarter"] == "2026-Q4"
    assert {d: files_under(out / d) for d in q3_files} == q3_files  # untouched, byte for byte
    assert (out / "clean" / "year=2026" / "quarter=4").is_dir()
    assert (out / "quarantine" / "ingest_quarter=2026-Q4").is_dir()
    records = csv_records(out / "aggregated" / "csv" / "part-00000.csv")
    assert {r["year_quarter"] for r in records} == {"2026-Q3", "2026-Q4"}  # QuickSight sees both quarters
    assert sum(int(r["events"]) for r in records) == q3.truth["expected"]["rows_valid"] + q4.expected["rows_valid"]
    assert report["rows_written"]["aggregated_csv"] == len(records)

    # Upstream re-sends a clean Q4 export: Q4's quarantine must go, not linger from the dirty one.
    clean_q4 = datagen.generate(
        raw, rows=5_000, quarter="2026-Q4", seed=4, dirty_share=0.0, truth_path=tmp_path / "c.json"
    )
    report = run_job(job, spark, raw, out, "q4fixed", "--run_quarter", "2026-Q4")
    assert_report_matches_truth(report, clean_q4.expected)
    assert not (out / "quarantine" / "ingest_quarter=2026-Q4").exists()
    assert {d: files_under(out / d) for d in q3_files} == q3_files
    assert spark.read.parquet(str(out / "clean" / "year=2026" / "quarter=4")).count() == 5_000

    # Without --run_quarter every ingested quarter is read, and the result is the same as quarter by quarter.
    before = snapshot(spark, out)
    report = run_job(job, spark, raw, out, "all")
    assert snapshot(spark, out) == before
    assert report["rows_read"] == ROWS + 5_000
    assert report["quarters"] == ["2026-Q3", "2026-Q4"]
    assert report["rows_valid"] == q3.truth["expected"]["rows_valid"] + 5_000


def test_runs_as_a_program_the_way_glue_starts_it(tmp_path: Path) -> None:
    truth = json.loads((SAMPLE / "truth" / "car_brands_2026-Q3.json").read_text())
    output = tmp_path / "prepared"
    command = [
        sys.executable, str(REPO / "glue_scripts" / "car_brands_job.py"),
        "--JOB_ID", "j_0123", "--JOB_RUN_ID", "jr_0123abc", "--JOB_NAME", "car-brands-prepare",
        "--input_path", (SAMPLE / "car_brands").as_uri() + "/",
        "--output_path", output.as_uri() + "/",
        "--enable-metrics", "true", "--TempDir", "s3://not-used/tmp/",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    output = output / "runs" / "jr_0123abc"  # no --run_id: under its own run prefix, as a workflow's run
    report = json.loads((output / "reports" / "run_report.json").read_text())
    assert_report_matches_truth(report, truth["expected"])
    assert report["run_id"] == "jr_0123abc"
    assert (output / "reports" / "runs" / "jr_0123abc.json").is_file()
    assert [p.name for p in (output / "aggregated" / "csv").iterdir()] == ["part-00000.csv"]
