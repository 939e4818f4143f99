"""`reconcile import`: a pipeline built by hand with plain boto3, as the console builds it (bare
names, AWS defaults, an untagged bucket holding data), is imported, planned with --adopt all and applied; the
raw objects are never touched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result

from reconciler.aws.context import AwsContext
from reconciler.cli import app as cli_main
from reconciler.cli.main import cli

BUCKET = "console-built-data"
CRAWLER = "events-crawler"
JOB = "events-etl"
DATABASE = "events_db"
RAW = {"raw/events/2026/q3/part-1.csv": b"brand,day\nBMW,2026-07-01\n", "raw/events/2026/q3/part-2.csv": b"a,b\n"}
SCRIPT_KEY = "scripts/events_etl.py"
SCRIPT = b"import sys\nprint('etl', sys.argv)\n"
#: what adopting may change besides ownership tags: the guards every bucket of ours has (docs/import.md)
BUCKET_GUARDS = {"public_access_block", "object_ownership", "policy", "lifecycle", "encryption"}


def console_pipeline(aws: Any, role_arn: str) -> None:
    """Built as a person does in the console: nothing tagged, AWS's defaults, data already in the bucket."""
    s3, glue = aws.client("s3"), aws.client("glue")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
    for key, body in RAW.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    s3.put_object(Bucket=BUCKET, Key=SCRIPT_KEY, Body=SCRIPT)
    glue.create_database(DatabaseInput={"Name": DATABASE})
    glue.create_crawler(Name=CRAWLER, Role=role_arn.split(":role/", 1)[1], DatabaseName=DATABASE,
                        Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/raw/events/"}]})  # fmt: skip
    glue.create_job(
        Name=JOB, Role=role_arn, GlueVersion="4.0", WorkerType="G.1X", NumberOfWorkers=10, Timeout=2880,
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{BUCKET}/{SCRIPT_KEY}", "PythonVersion": "3"},
        DefaultArguments={"--enable-metrics": "true", "--job-language": "python"},
    )  # fmt: skip


def raw_state(aws: Any) -> dict[str, tuple[str, str, str]]:
    """ETag, LastModified and version id of the raw objects and the script: what "not touched" means."""
    s3 = aws.client("s3")
    out = {}
    for key in [*RAW, SCRIPT_KEY]:
        head = s3.head_object(Bucket=BUCKET, Key=key)
        out[key] = (head["ETag"], str(head["LastModified"]), str(head.get("VersionId")))
    return out


class Counted(AwsContext):
    """The CLI's context, kept so the test can read its call counter (as benchmarks/api_calls.py does)."""

    made: ClassVar[list[AwsContext]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        Counted.made.append(self)


def run(root: Path, endpoint: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["-f", str(root / "pipeline.yaml"), "--endpoint-url", endpoint, "--no-color", *args],
        catch_exceptions=False,
    )  # fmt: skip


def changes(root: Path, endpoint: str, *args: str) -> dict[str, dict[str, Any]]:
    result = run(root, endpoint, "plan", "--json", *args)
    assert result.exit_code == 0, result.output
    return {c["address"]: c for c in json.loads(result.stdout)["changes"] if c["action"] != "no-op"}


def test_import_then_adopt_changes_only_ownership_and_guards(aws: Any, glue_role_arn: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("AWS_REGION", aws.region)
    console_pipeline(aws, glue_role_arn)
    before = raw_state(aws)
    root = tmp_path / "adopted"
    root.mkdir()
    Counted.made.clear()
    monkeypatch.setattr(cli_main, "context_factory", Counted)
    result = run(root, aws.url, "import", "--bucket", BUCKET, "--crawler", CRAWLER, "--job", JOB)
    assert result.exit_code == 0, result.output
    (ctx,) = Counted.made
    assert ctx.counter.mutating == 0 and ctx.counter.calls["s3:GetObject"] == 1, ctx.counter.calls  # read calls only
    monkeypatch.setattr(cli_main, "context_factory", AwsContext)
    text = (root / "pipeline.yaml").read_text()
    assert (root / "glue_scripts" / "events_etl.py").read_bytes() == SCRIPT
    assert f"arn: \"{glue_role_arn}\"" in text and "managed" not in text.split("role:", 1)[1].split("\n\n")[0]
    assert 'glue_version: "4.0"' in text and "number_of_workers: 10" in text
    assert "timeout_minutes" not in text  # 2880 is AWS's default for Glue 4.0
    assert "raw/events/2026/q3/part-1.csv" in text  # the comment says where the raw data is
    assert run(root, aws.url, "validate").exit_code == 0

    again = run(root, aws.url, "import", "--bucket", BUCKET, "--crawler", CRAWLER, "--job", JOB)
    assert again.exit_code == 64 and "exists; not overwritten" in again.output

    planned = changes(root, aws.url, "--adopt", "all")
    shown = " ".join(run(root, aws.url, "plan", "--adopt", "all").output.split())
    for guard in ("policy", "public_access_block", "object_ownership"):  # the plan says they tighten, none widens
        assert f"bucket.{BUCKET} {guard}: tightens" in shown, shown
    assert "widens" not in shown, shown
    assert set(planned) == {f"bucket.{BUCKET}", f"crawler.{CRAWLER}", f"job.{JOB}", f"database.{DATABASE}"}
    for address, change in planned.items():
        assert change["action"] == "adopt", address
        tops = {a["path"].split(".")[0] for a in change["attributes"]}
        allowed = {"tags"} | (BUCKET_GUARDS if address.startswith("bucket.") else set())
        assert tops <= allowed, (address, tops)
    bucket_attrs = {a["path"].split(".")[0] for a in planned[f"bucket.{BUCKET}"]["attributes"]}
    assert {"policy", "public_access_block", "object_ownership"} <= bucket_attrs

    result = run(root, aws.url, "apply", "--adopt", "all", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert changes(root, aws.url) == {}
    assert raw_state(aws) == before
    assert "sha256" not in aws.client("s3").head_object(Bucket=BUCKET, Key=SCRIPT_KEY)["Metadata"]  # not rewritten


WORKFLOW = "events-quarterly"


def test_import_with_a_workflow_declares_the_schedule_and_plans_the_missing_job_trigger(
    aws: Any, glue_role_arn: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """A console workflow with a scheduled start trigger under our start trigger's name: the import declares the
    schedule (in_aws, its cron); the plan adopts workflow and trigger (tags, and our descriptions of them) and
    creates the conditional job trigger a console workflow often lacks."""
    monkeypatch.setenv("AWS_REGION", aws.region)
    console_pipeline(aws, glue_role_arn)
    glue = aws.client("glue")
    glue.create_workflow(Name=WORKFLOW)
    glue.create_trigger(Name=f"{WORKFLOW}-start", WorkflowName=WORKFLOW, Type="SCHEDULED",
                        Schedule="cron(0 0 1 */3 ? *)", Actions=[{"CrawlerName": CRAWLER}])  # fmt: skip
    root = tmp_path / "adopted"
    root.mkdir()
    result = run(root, aws.url, "import", "--bucket", BUCKET, "--crawler", CRAWLER, "--job", JOB,
                 "--workflow", WORKFLOW, "--trigger", f"{WORKFLOW}-start")  # fmt: skip
    assert result.exit_code == 0, result.output
    text = (root / "pipeline.yaml").read_text()
    assert f'workflow: "{WORKFLOW}"' in text and 'cron: "cron(0 0 1 */3 ? *)"' in text and "in_aws: true" in text
    assert "enabled: false" in text  # created without StartOnCreation: it never fired, and adopting keeps it so
    planned = changes(root, aws.url, "--adopt", "all")
    paths = {a: {x["path"] for x in c["attributes"] if not x["path"].startswith("tags.")} for a, c in planned.items()}
    assert {a: c["action"] for a, c in planned.items()} == {
        f"bucket.{BUCKET}": "adopt", f"database.{DATABASE}": "adopt", f"crawler.{CRAWLER}": "adopt",
        f"job.{JOB}": "adopt", f"workflow.{WORKFLOW}": "adopt", f"trigger.{WORKFLOW}-start": "adopt",
        f"trigger.{WORKFLOW}-after-crawl": "create",
    }  # fmt: skip
    assert paths[f"workflow.{WORKFLOW}"] == {"description"} and paths[f"trigger.{WORKFLOW}-start"] == {"description"}
    assert paths[f"job.{JOB}"] == {"default_arguments.--run_quarter"}  # what a run started by the schedule needs
    assert paths[f"crawler.{CRAWLER}"] == set()

    result = run(root, aws.url, "apply", "--adopt", "all", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert changes(root, aws.url) == {}
    assert glue.get_trigger(Name=f"{WORKFLOW}-start")["Trigger"]["State"] != "ACTIVATED"


def test_a_missing_resource_is_one_error_line_and_nothing_is_written(aws: Any, glue_role_arn: str, tmp_path: Path,
                                                                     monkeypatch: Any) -> None:  # fmt: skip
    monkeypatch.setenv("AWS_REGION", aws.region)
    console_pipeline(aws, glue_role_arn)
    result = run(tmp_path, aws.url, "import", "--bucket", BUCKET, "--crawler", "no-such-crawler", "--job", JOB)
    assert result.exit_code == 1, result.output
    assert "Glue crawler 'no-such-crawler' does not exist" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "pipeline.yaml").exists() and not (tmp_path / "glue_scripts").exists()
