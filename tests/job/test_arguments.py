"""Job arguments as Glue passes them, and output paths. No Spark session needed."""

from __future__ import annotations

import datetime as dt
from types import ModuleType

import pytest

GLUE_ARGV = [
    "/tmp/car_brands_job.py",
    "--JOB_ID", "j_6f1",
    "--JOB_RUN_ID", "jr_9a8b7c",
    "--job-bookmark-option", "job-bookmark-disable",
    "--TempDir", "s3://aws-glue-assets/temporary/",
    "--enable-metrics", "true",
    "--input_path", "s3://bucket/raw/car_brands/",
    "--output_path", "s3://bucket/prepared/",
    "--JOB_NAME", "car-brands-prepare",
]  # fmt: skip


def test_parses_glue_argv_and_tolerates_unknown_arguments(job: ModuleType) -> None:
    args = job.resolve_args(GLUE_ARGV)
    # Started by Glue without our --run_id (a workflow, the console): under its own run prefix.
    assert (args.input_path, args.output_path) == (
        "s3://bucket/raw/car_brands/",
        "s3://bucket/prepared/runs/jr_9a8b7c/",
    )
    assert job.resolve_args([*GLUE_ARGV, "--run_id", "r1"]).output_path == "s3://bucket/prepared/"
    assert (args.run_id, args.run_quarter, args.job_name) == ("jr_9a8b7c", None, "car-brands-prepare")
    assert args.raw["enable-metrics"] == "true"
    assert args.raw["TempDir"] == "s3://aws-glue-assets/temporary/"


def test_optional_arguments_and_their_defaults(job: ModuleType) -> None:
    base = ["--input_path", "/in", "--output_path", "/out"]
    now = dt.datetime(2026, 10, 1, 0, 0, 5, tzinfo=dt.UTC)
    assert job.resolve_args(base, now=now).run_id == "local-20261001T000005Z"
    assert job.resolve_args([*base, "--run_id", "2026-Q3/manual 1"], now=now).run_id == "2026-Q3_manual_1"
    assert job.resolve_args([*base, "--run_id", "mine", "--JOB_RUN_ID", "jr_1"]).run_id == "mine"
    assert job.resolve_args([*base, "--run_quarter", "2026-Q4"]).run_quarter == "2026-Q4"
    assert job.resolve_args(base).job_name == "car_brands_job"


def test_flag_and_equals_forms(job: ModuleType) -> None:
    parsed = job.parse_glue_argv(["--a=1", "--flag", "--b", "2", "stray", "--", "--c"])
    assert parsed == {"a": "1", "flag": "", "b": "2", "c": ""}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--output_path", "/out"], "--input_path"),
        (["--input_path", "/in"], "--output_path"),
        (["--input_path", "", "--output_path", "/out"], "--input_path"),
        (["--input_path", "/in", "--output_path", "/out", "--run_quarter", "2026Q4"], "run_quarter"),
    ],
)
def test_rejects_missing_or_malformed_arguments(job: ModuleType, argv: list[str], message: str) -> None:
    with pytest.raises(job.JobArgumentError, match=message):
        job.resolve_args(argv)


def test_output_paths_hang_off_the_output_prefix(job: ModuleType) -> None:
    assert job.join_path("s3://b/prepared/", "clean") == "s3://b/prepared/clean"
    assert job.join_path("s3://b/prepared/runs/jr_1", "aggregated/csv") == "s3://b/prepared/runs/jr_1/aggregated/csv"
    assert job.join_path("file:///tmp/out/", "/reports/", "x.json") == "file:///tmp/out/reports/x.json"
    outputs = job.Outputs("s3://b/prepared/runs/jr_1/").as_dict()
    assert outputs == {
        "clean": "s3://b/prepared/runs/jr_1/clean",
        "aggregated_daily": "s3://b/prepared/runs/jr_1/aggregated/daily",
        "aggregated_quarterly": "s3://b/prepared/runs/jr_1/aggregated/quarterly",
        "aggregated_csv": "s3://b/prepared/runs/jr_1/aggregated/csv/",
        "quarantine": "s3://b/prepared/runs/jr_1/quarantine",
        "report": "s3://b/prepared/runs/jr_1/reports/run_report.json",
    }


def test_module_imports_without_running(job: ModuleType) -> None:
    assert callable(job.main) and job.__name__ == "car_brands_job"


def test_hot_path_uses_built_in_functions_only() -> None:
    from tests.job.conftest import JOB_SCRIPT

    source = JOB_SCRIPT.read_text(encoding="utf-8")
    for banned in ("udf", "pandas_udf", ".rdd", "toPandas", "mapInPandas", "applyInPandas", "import awsglue"):
        assert banned not in source, banned


@pytest.mark.parametrize(
    ("rule", "now", "quarter"),
    [
        ("previous", dt.datetime(2026, 10, 1, 0, 0, tzinfo=dt.UTC), "2026-Q3"),  # the schedule's firing time
        ("previous", dt.datetime(2027, 1, 1, 0, 0, tzinfo=dt.UTC), "2026-Q4"),  # across the year
        ("current", dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC), "2026-Q4"),
    ],
)
def test_a_quarter_rule_is_resolved_at_the_run_start(job: ModuleType, rule: str, now: dt.datetime,
                                                     quarter: str) -> None:  # fmt: skip
    """A run the Glue workflow's schedule starts has only the job's default arguments; with
    spec.schedule.in_aws they carry `--run_quarter <rule>`, and the job processes one quarter."""
    assert job.resolve_args([*GLUE_ARGV, "--run_quarter", rule], now=now).run_quarter == quarter


def test_an_unknown_quarter_rule_is_refused(job: ModuleType) -> None:
    with pytest.raises(job.JobArgumentError, match="previous, current"):
        job.resolve_args([*GLUE_ARGV, "--run_quarter", "last"])
