"""Expected failures through the real CLI against the local endpoint: each one is one `Error:` line (no
traceback), a hint that works when pasted, and its documented exit code (reconciler.errors.EXIT_CODES).

The endpoint's fault mode (reconciler_local.faults) answers a chosen operation with AccessDenied or with
throttling. Retry exhaustion uses the CLI's own context factory with a quick retry policy (3 attempts, no
sleeping), so it takes milliseconds instead of the production backoff's minute; everything else is real.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.aws.context import AwsContext
from reconciler.aws.lock import LOCK_KEY
from reconciler.aws.retry import RetryPolicy
from reconciler.cli import app as cli_app
from reconciler.cli import main as cli_main
from reconciler.errors import (
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
)
from reconciler_local import call_admin

from .conftest import BUCKET, JOB, Project

QUICK_JOB = "print('prepared')\n"


@dataclass
class QuickRetryContext(AwsContext):
    """The production context with a retry policy that gives up after 3 attempts without sleeping."""

    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=3, sleep=lambda _seconds: None))


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_app, "context_factory", QuickRetryContext)


def faults(aws: Any, **settings: Any) -> None:
    call_admin(aws.url, "faults", settings)


def deny(aws: Any, operation: str, code: str) -> None:
    faults(aws, permanent={"operation": operation, "code": code, "message": f"not allowed: {operation}"})


def one_error(result: Result, code: int) -> str:
    """The run failed with `code`, printing exactly one `Error:` line and no traceback; returns the output
    with rich's line wrapping undone."""
    output = result.output
    assert result.exit_code == code, output
    assert "Traceback" not in output, output
    assert [line.startswith("Error: ") for line in output.splitlines()].count(True) == 1, output
    assert "internal error:" not in output, output  # our bug line, not AWS's "We encountered an internal error"
    return " ".join(output.split())


def hint_of(result: Result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("hint: ")]
    assert len(lines) == 1, result.output
    return lines[0].removeprefix("hint: ")


def global_prefix(project: Project) -> str:
    return f"reconcile -f {project.spec} --endpoint-url {project.endpoint}"


def quick_job(project: Project) -> None:
    (project.root / "glue_scripts" / "car_brands_job.py").write_text(QUICK_JOB)


# --- credentials and endpoints ---------------------------------------------------------------------------


def test_no_credentials_as_under_cron(project: Project, tmp_path: Path) -> None:
    """Cron runs with an almost empty environment: no AWS variables, a HOME without ~/.aws."""
    home = tmp_path / "home"
    home.mkdir()
    # AWS_EC2_METADATA_DISABLED: on an EC2 CI runner the instance role would be found, which is not this case
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint, "plan"],
        env=env, cwd=project.root, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == EXIT_ERROR, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("Error:") == 1, result.stderr
    assert "no AWS credentials found" in result.stderr
    assert "hint: " in result.stderr and "AWS_PROFILE" in result.stderr


def test_unknown_profile(project: Project) -> None:
    result = project.cli("plan", "--profile", "no-such-profile")
    output = one_error(result, EXIT_ERROR)
    assert "no-such-profile" in output
    assert "aws configure list-profiles" in hint_of(result)


def test_unreachable_endpoint_names_the_endpoint_and_the_operation(project: Project, quick_retries: None) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli_main.cli, ["-f", str(project.spec), "--no-color", "plan", "--endpoint-url", "http://127.0.0.1:9"]
    )
    output = one_error(result, EXIT_ERROR)
    assert "cannot reach http://127.0.0.1:9" in output and "after 3 attempts" in output
    assert f"reconcile -f {project.spec} --endpoint-url http://127.0.0.1:9 local status" in hint_of(result)


# --- nothing applied yet -----------------------------------------------------------------------------------


def test_history_before_the_first_apply(project: Project) -> None:
    result = project.cli("history")
    output = one_error(result, EXIT_ERROR)
    assert f"bucket {BUCKET!r} does not exist" in output
    assert hint_of(result).endswith(f"{global_prefix(project)} apply")


def test_run_skip_apply_without_a_bucket(project: Project, aws: Any) -> None:
    result = project.cli("run", "--skip-apply", "--timeout", "60")
    output = one_error(result, EXIT_ERROR)
    assert f"bucket {BUCKET!r} does not exist" in output
    assert f"{global_prefix(project)} apply" in hint_of(result)
    assert aws.client("s3").list_buckets()["Buckets"] == []


# --- access denied -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "code", "args"),
    [
        ("glue:ListCrawlers", "AccessDeniedException", ("plan",)),
        ("glue:GetCrawler", "AccessDeniedException", ("run", "--timeout", "120")),  # the crawl's wait
        ("sts:GetCallerIdentity", "AccessDenied", ("plan",)),
        ("s3:PutObject", "AccessDenied", ("apply", "--auto-approve")),  # the lock is the first object written
    ],
)
def test_access_denied(project: Project, aws: Any, operation: str, code: str, args: tuple[str, ...]) -> None:
    if operation == "s3:PutObject":
        assert project.cli("apply", "--auto-approve").exit_code == 0
        project.edit("number_of_workers: 2", "number_of_workers: 3")
    deny(aws, operation, code)
    result = project.cli(*args)
    output = one_error(result, EXIT_ERROR)
    assert f"access denied: {operation}" in output and f"not allowed: {operation}" in output
    assert f"the caller needs {operation}" in hint_of(result)


def test_access_denied_while_waiting_for_the_job(project: Project, aws: Any) -> None:
    quick_job(project)
    deny(aws, "glue:GetJobRun", "AccessDeniedException")
    result = project.cli("run", "--timeout", "120")
    output = one_error(result, EXIT_ERROR)
    assert "access denied: glue:GetJobRun" in output
    assert "the caller needs glue:GetJobRun" in hint_of(result)


def test_access_denied_releasing_the_lock_says_how_to_remove_it(project: Project, aws: Any) -> None:
    deny(aws, "s3:DeleteObject", "AccessDenied")
    result = project.cli("apply", "--auto-approve")
    output = one_error(result, EXIT_ERROR)
    assert "releasing the pipeline lock" in output and "access denied: s3:DeleteObject" in output
    faults(aws)
    holder = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=LOCK_KEY)["Body"].read())
    hint = hint_of(result)
    assert f"{global_prefix(project)} lock break {holder['id']}" in hint
    # the hint works when pasted
    words = shlex.split(hint.rsplit(": ", 1)[-1])
    assert words[0] == "reconcile"
    broken = CliRunner().invoke(cli_main.cli, words[1:])
    assert broken.exit_code == EXIT_OK, broken.output
    assert project.cli("lock", "status").output.strip() == "Not locked."


def test_a_failed_release_after_a_failed_step_keeps_the_steps_error_and_adds_the_way_out(
    project: Project, aws: Any, quick_retries: None
) -> None:
    faults(aws, rate=1.0, kinds=["500"], operations=["s3:DeleteObject"],
           permanent={"operation": "glue:GetCrawler", "code": "AccessDeniedException"})  # fmt: skip
    result = project.cli("run", "--timeout", "120")
    output = one_error(result, EXIT_ERROR)
    assert "access denied: glue:GetCrawler" in output
    hint = hint_of(result)
    assert "also releasing the pipeline lock" in hint and "s3:DeleteObject still failing after 3 attempts" in hint
    assert f"{global_prefix(project)} lock break " in hint


# --- retries run out ---------------------------------------------------------------------------------------


def test_throttled_listing_names_the_operation_and_the_attempts(
    project: Project, aws: Any, quick_retries: None
) -> None:
    faults(aws, rate=1.0, kinds=["throttle"], operations=["glue:ListCrawlers"])
    output = one_error(project.cli("plan"), EXIT_ERROR)
    assert "glue:ListCrawlers still failing after 3 attempts" in output and "ThrottlingException" in output


def test_throttled_lock_names_the_operation_and_the_attempts(project: Project, aws: Any, quick_retries: None) -> None:
    assert project.cli("apply", "--auto-approve").exit_code == 0
    project.edit("number_of_workers: 2", "number_of_workers: 3")
    faults(aws, rate=1.0, kinds=["slowdown"], operations=["s3:PutObject"])
    output = one_error(project.cli("apply", "--auto-approve"), EXIT_ERROR)
    assert "taking the pipeline lock" in output
    assert "s3:PutObject still failing after 3 attempts" in output and "SlowDown" in output


def test_throttled_job_wait_names_the_operation_and_the_attempts(
    project: Project, aws: Any, quick_retries: None
) -> None:
    quick_job(project)
    faults(aws, rate=1.0, kinds=["throttle"], operations=["glue:GetJobRun"])
    output = one_error(project.cli("run", "--timeout", "120"), EXIT_ERROR)
    assert "glue:GetJobRun still failing after 3 attempts" in output


# --- saved plans and local files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content", ["not json at all {", "[1, 2, 3]", '{"format_version": "1"}', "\xff\xfe garbage"],
    ids=["garbage", "a-list", "no-fingerprint", "not-utf8"],
)  # fmt: skip
def test_a_corrupt_saved_plan_is_stale(project: Project, aws: Any, content: str) -> None:
    planfile = project.root / "plan.json"
    planfile.write_bytes(content.encode("latin-1"))
    result = project.cli("apply", str(planfile))
    output = one_error(result, EXIT_LOCKED)
    assert f"{planfile} is not a saved plan" in output and "nothing was applied" in output
    assert hint_of(result) == f"make it again: {global_prefix(project)} plan --out {planfile}"
    assert aws.client("s3").list_buckets()["Buckets"] == []


@pytest.mark.parametrize(
    "entry", ['"a string"', "42", "[]", '{"stamp": [1, 2, 3]}', '{"sha256": "abc"}', "null"],
)  # fmt: skip
def test_a_corrupt_hash_cache_entry_is_ignored_and_rewritten(project: Project, entry: str) -> None:
    cache = project.root / ".reconciler" / "hash-cache.json"
    assert project.cli("plan").exit_code == 0
    entries = json.loads(cache.read_text())
    key = next(iter(entries))
    cache.write_text(json.dumps(entries)[:-1] + f', {json.dumps(key + "x")}: 1' + "}")  # an extra bad entry
    cache.write_text(cache.read_text().replace(json.dumps(entries[key]), entry, 1))
    result = project.cli("plan")
    assert result.exit_code == 0, result.output
    rewritten = json.loads(cache.read_text())
    assert isinstance(rewritten[key], dict) and len(rewritten[key]["sha256"]) == 64


@pytest.mark.parametrize("content", ["{", "[]", '{"k": 1}', '{"k": [[1]]}', '{"k": [["a", 1, 2]]}'])
def test_a_malformed_schema_pass_cache_is_ignored(project: Project, content: str) -> None:
    passes = project.root / ".reconciler" / "schema-passed.json"
    assert project.cli("validate").exit_code == 0
    key = next(iter(json.loads(passes.read_text())))
    bad = content.replace('"k"', json.dumps(key))
    passes.write_text(bad)
    result = project.cli("validate")
    assert result.exit_code == 0, result.output
    assert "Valid:" in result.output
    assert json.loads(passes.read_text())[key] is not None  # rewritten with a good entry


@pytest.mark.parametrize("how", ["read-only-directory", "a-file-in-the-way"])
def test_local_with_an_unwritable_state_directory(project: Project, how: str) -> None:
    state = project.root / ".reconciler"
    if how == "a-file-in-the-way":
        state.write_text("not a directory\n")
    else:  # as root the permission bits do not stop writes; the file-in-the-way case covers root
        state.mkdir()
        state.chmod(0o500)
    try:
        # --local before the command in one case and after it in the other: both mean the same
        args = ["--local", "lock", "status"] if how == "read-only-directory" else ["lock", "status", "--local"]
        result = subprocess.run(
            [sys.executable, "-m", "reconciler", *args], cwd=project.root, capture_output=True, text=True, timeout=120
        )
    finally:
        if state.is_dir():
            state.chmod(0o700)
    if result.returncode == EXIT_OK:  # root wrote into the read-only directory: nothing to report
        assert how == "read-only-directory" and os.geteuid() == 0, result.stderr
        subprocess.run([sys.executable, "-m", "reconciler", "local", "down"], cwd=project.root, timeout=60)
        return
    assert result.returncode == EXIT_ERROR, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("Error:") == 1, result.stderr
    assert f"cannot keep the local endpoint's state in {state}" in " ".join(result.stderr.split())
    assert "--endpoint-url" in result.stderr


def test_local_without_the_local_extra(project: Project) -> None:
    """Without moto (the [local] extra) --local says what to install instead of failing on an import."""
    code = (
        "import sys; sys.modules['moto'] = None; sys.argv = ['reconcile', '--local', 'plan']\n"
        "from reconciler.cli.main import main; main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=project.root, capture_output=True, text=True, timeout=60)
    assert result.returncode == EXIT_ERROR, result.stderr
    assert "Traceback" not in result.stderr
    assert "the local endpoint is not installed: pip install 'pipeline-reconciler[local]'" in result.stderr


# --- the command line itself -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [("plan", "--no-such-option"), ("no-such-command",), ("run", "--arg", "novalue"), ("apply", "missing.json"),
     ("--local", "plan", "--endpoint-url", "http://127.0.0.1:9"), ("lock", "break")],
)  # fmt: skip
def test_usage_errors_exit_64_never_2(project: Project, args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli_main.cli, ["-f", str(project.spec), *args])
    assert result.exit_code == EXIT_USAGE, result.output
    assert "Traceback" not in result.output


def test_global_options_after_the_command(project: Project, aws: Any) -> None:
    """`reconcile plan -f x.yaml --endpoint-url URL` means the same as the options before the command."""
    runner = CliRunner()
    before = runner.invoke(cli_main.cli, ["-f", str(project.spec), "--endpoint-url", project.endpoint, "plan",
                                          "--json"])  # fmt: skip
    after = runner.invoke(cli_main.cli, ["plan", "--json", "-f", str(project.spec), "--endpoint-url", project.endpoint])
    assert before.exit_code == after.exit_code == 0, after.output
    assert json.loads(before.stdout)["changes"] == json.loads(after.stdout)["changes"]
    # after the command wins over before it
    mixed = runner.invoke(cli_main.cli, ["-f", "nope.yaml", "validate", "-f", str(project.spec)])
    assert mixed.exit_code == 0, mixed.output
    # ... and what is in force is what hints repeat
    out = project.root / "saved.json"
    saved = runner.invoke(cli_main.cli, ["plan", "--out", str(out), "--region", aws.region, "-f", str(project.spec),
                                         "--endpoint-url", project.endpoint, "--no-color"])  # fmt: skip
    assert saved.exit_code == 0, saved.output
    expected = f"reconcile -f {project.spec} --endpoint-url {project.endpoint} --region {aws.region} apply {out}"
    assert expected in " ".join(saved.output.split())


def test_internal_errors_are_one_line_and_debug_shows_the_traceback(project: Project, tmp_path: Path) -> None:
    """A bug (here: a spec path that is a directory, which nothing expects) is one `internal error:` line."""
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    (tmp_path / "sitecustomize.py").write_text(
        "import reconciler.cli.app as m\n"
        "def broken(self):\n    raise RuntimeError('a bug\\nover two lines')\n"
        "m.Globals.load = broken\n"
    )
    command = [sys.executable, "-m", "reconciler", "-f", str(project.spec), "validate"]
    plain = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert plain.returncode == EXIT_ERROR
    assert plain.stderr.strip() == (
        "internal error: RuntimeError: a bug over two lines (run again with --debug for the traceback)"
    )
    debug = subprocess.run([*command, "--debug"], env=env, capture_output=True, text=True, timeout=60)
    assert debug.returncode == EXIT_ERROR and "Traceback" in debug.stderr
    via_env = subprocess.run(command, env={**env, "RECONCILER_DEBUG": "1"}, capture_output=True, text=True, timeout=60)
    assert "Traceback" in via_env.stderr


# --- signals -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, EXIT_INTERRUPTED), (signal.SIGTERM, EXIT_TERMINATED)])
def test_a_signal_during_the_job_wait_stops_the_job_releases_the_lock_and_exits_128_plus_n(
    project: Project, aws: Any, signum: int, code: int
) -> None:
    """SIGTERM (a CI runner cancelling, `systemctl stop`) unwinds like Ctrl-C: the job run is stopped, the
    lock released, `run --json` says run_failed, and the exit code is 128 + the signal's number. With --json
    (or without a terminal) nobody is asked: the job run is stopped as with --stop-on-interrupt."""
    (project.root / "glue_scripts" / "car_brands_job.py").write_text("import time\ntime.sleep(60)\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint, "run",
         "--timeout", "120", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    glue = aws.client("glue")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not running_job_runs(glue):
            time.sleep(0.2)
        assert running_job_runs(glue), "the run never started its job"
        time.sleep(0.5)  # into the wait loop
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr, stderr
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert events[-1]["event"] == "run_failed" and events[-1]["exit_code"] == code, events[-1]
    assert "interrupted: stopped job" in events[-1]["error"] and events[-1]["outcome"] == "stopped"
    assert not [line for line in stdout.splitlines() if not line.startswith("{")]  # no question in the stream
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and running_job_runs(glue):
        time.sleep(0.2)
    assert not running_job_runs(glue)
    assert project.cli("lock", "status").output.strip() == "Not locked."


def running_job_runs(glue: Any) -> list[dict[str, Any]]:
    try:
        runs: list[dict[str, Any]] = glue.get_job_runs(JobName=JOB)["JobRuns"]
    except glue.exceptions.EntityNotFoundException:
        return []
    return [r for r in runs if r["JobRunState"] in {"STARTING", "RUNNING", "WAITING"}]


def test_run_json_reports_an_internal_error_as_run_failed(project: Project, tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(
        "import reconciler.cli.commands.quarterly as m\n"
        "def broken(*args, **kwargs):\n    raise KeyError('no such thing')\n"
        "m.run_pipeline = broken\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "-f", str(project.spec), "--endpoint-url", project.endpoint, "run",
         "--json"],
        env={**os.environ, "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == EXIT_ERROR
    event = json.loads(result.stdout.splitlines()[-1])
    assert event["event"] == "run_failed" and event["kind"] == "KeyError" and event["exit_code"] == EXIT_ERROR
    assert "internal error: KeyError" in result.stderr and "--debug" in result.stderr


def test_the_cli_reference_documents_every_exit_code() -> None:
    cli_doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    table = cli_doc.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(
        (int(cells[0]), cells[1])
        for line in table.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split("|")])[0].isdigit()
    )
    assert rows == EXIT_CODES


def test_run_json_reports_a_usage_error_as_run_failed(project: Project) -> None:
    result = project.cli("run", "--json", "--arg", "no-equals-sign")
    assert result.exit_code == EXIT_USAGE, result.output
    event = json.loads(result.stdout.splitlines()[-1])
    assert event["event"] == "run_failed" and event["exit_code"] == EXIT_USAGE and "KEY=VALUE" in event["error"]
