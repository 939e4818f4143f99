"""`reconcile run`'s progress (cli/progress.py) driven by a fake clock: the live line at 80 columns with the
step's own time and the newest log lines, the piped heartbeat, and docs/run-transcript.md, which this test
regenerates from the same code (RECONCILER_WRITE_TRANSCRIPT=1 rewrites it)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from reconciler import invocation
from reconciler.cli.progress import RunProgress, elapsed_text, short_id
from reconciler.cli.render import render_error
from reconciler.cli.run_render import print_run_summary
from reconciler.errors import RunError, RunInterrupted, RunTimedOut
from reconciler.quarterly.run import RunSummary

TRANSCRIPT = Path(__file__).resolve().parents[2] / "docs" / "run-transcript.md"
JOB_RUN = "jr_4f1c2a9b0e" + "7d3c" * 13 + "a1"  # jr_ and 64 hex digits, like Glue's
SHORT = short_id(JOB_RUN)
RUN_ID = "20261001T060000Z-1a2b3c"
JOB = "car-brands-prepare"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def piped(clock: Clock) -> tuple[RunProgress, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None, force_terminal=False, highlight=False, soft_wrap=True)
    return RunProgress(console, as_json=False, clock=clock), out


def frame(progress: RunProgress) -> str:
    screen = Console(file=io.StringIO(), width=80, color_system=None, force_terminal=True, record=True)
    screen.print(progress.live_frame())
    return screen.export_text()


def test_the_live_line_shows_the_steps_own_time_and_the_newest_log_lines_within_80_columns() -> None:
    clock = Clock()
    progress, _ = piped(clock)
    progress("step_started", {"step": "crawl"})
    clock.now += 40  # the crawl's time is not the job's
    progress("step_finished", {"step": "crawl", "seconds": 40.0})
    progress("step_started", {"step": "job"})
    progress("waiting", {"step": "job", "job": JOB, "job_run_id": JOB_RUN, "state": "RUNNING"})
    progress("log", {"step": "job", "lines": ["tick 1", "", "tick 2", "tick 3", "x" * 200]})
    clock.now += 65
    lines = frame(progress).splitlines()
    assert lines[0].endswith(f"job {JOB} RUNNING 1m05s") and len(lines[0]) <= 80
    assert lines[1:3] == ["    tick 2", "    tick 3"]  # the newest three non-empty lines
    assert len(lines[3]) == 80 and lines[3].endswith("…")


def test_piped_output_prints_each_state_change_once_and_a_heartbeat_every_30_seconds() -> None:
    clock = Clock()
    progress, out = piped(clock)
    progress("step_started", {"step": "job"})
    for second in range(0, 72, 4):
        clock.now = 1000.0 + second
        progress("waiting", {"step": "job", "job": JOB, "job_run_id": JOB_RUN, "state": "RUNNING"})
        progress("log", {"step": "job", "lines": [f"tick {second}"]})
    clock.now += 1
    progress("waiting", {"step": "job", "job": JOB, "job_run_id": JOB_RUN, "state": "STOPPING"})
    assert out.getvalue().splitlines() == [
        f"  job: {JOB} RUNNING (0s)",
        f"  job: {JOB} still RUNNING after 32s; newest log line: tick 28",
        f"  job: {JOB} still RUNNING after 1m04s; newest log line: tick 60",
        f"  job: {JOB} STOPPING (1m09s)",
    ]


def test_ids_and_times_for_people() -> None:
    assert short_id(JOB_RUN) == "jr_4f1c2a9b0" and short_id("jr_1") == "jr_1"
    assert [elapsed_text(s) for s in (0, 59, 60, 3599, 3600, 3725)] == ["0s", "59s", "1m00s", "59m59s", "1h00m00s",
                                                                         "1h02m05s"]  # fmt: skip


# --- docs/run-transcript.md ----------------------------------------------------------------------------------


def _job_events(progress: RunProgress, clock: Clock, frames: list[tuple[str, str]] | None, end: str) -> None:
    """A quarterly run's events as quarterly.run emits them, with one live frame per minute of the job."""
    emit = progress
    emit("quarter", {"quarter": "2026-Q3", "explicit": False, "rule": "previous"})
    for step, seconds in (("apply", 1.4), ("crawl", 38.2)):
        emit("step_started", {"step": step})
        if step == "crawl":
            emit("crawl_started", {"crawler": "car-brands-raw", "attached": False})
            emit("waiting", {"step": "crawl", "crawler": "car-brands-raw", "state": "RUNNING"})
        clock.now += seconds
        emit("step_finished", {"step": step, "seconds": seconds})
    emit("step_started", {"step": "job"})
    emit("job_started", {"job": JOB, "job_run_id": JOB_RUN, "arguments": []})
    emit("waiting", {"step": "job", "job": JOB, "job_run_id": JOB_RUN, "state": "STARTING"})
    for second in range(4, 184, 4):
        clock.now += 4
        emit("waiting", {"step": "job", "job": JOB, "job_run_id": JOB_RUN, "state": "RUNNING"})
        if second % 20 == 0:
            emit("log", {"step": "job", "lines": [f"INFO read {second * 5_000:,} rows of 2026-Q3"]})
        if frames is not None and second % 60 == 0:
            frames.append((elapsed_text(second), frame(progress)))
    if end == "published":
        emit("step_finished", {"step": "job", "seconds": 184.1})
        for step in ("gate", "publish"):
            emit("step_started", {"step": step})
            emit("step_finished", {"step": step, "seconds": 0.2})
    else:
        outcome = {"timed out": "timed_out", "interrupted": "interrupted"}.get(end, "failed")
        emit("step_failed", {"step": "job", "seconds": 184.1, "error": "...", "outcome": outcome})


def transcript() -> str:
    parts = [
        "# A quarterly run, as the terminal shows it",
        "",
        "Generated by `tests/unit/test_progress.py` from the code that prints it (`src/reconciler/cli/progress.py`,",
        "the run summary, the error boundary), 80 columns, a fake clock and `jr_4f1c2a9b0...` for Glue's job run id;",
        "the test fails when the code prints anything else. `RECONCILER_WRITE_TRANSCRIPT=1` rewrites this file.",
        "The plan `run` prints first is the one `reconcile plan` prints (left out here).",
        "",
    ]
    clock = Clock()
    progress, out = piped(clock)
    frames: list[tuple[str, str]] = []
    _job_events(progress, clock, frames, "published")
    summary = RunSummary(steps={"apply": 1.4, "crawl": 38.2, "job": 184.1, "gate": 0.2, "publish": 0.2},
                         job_run_id=JOB_RUN, job_name=JOB, run_id=RUN_ID, quarter="2026-Q3", published=True,
                         report={"rows_read": 1_000_000, "rows_valid": 998_012, "rows_rejected": 1_988,
                                 "duplicates_dropped": 0},
                         manifest_uri="s3://car-brands-pipeline/quicksight/manifest.json",
                         manifest_path="quicksight/manifest.json")  # fmt: skip
    print_run_summary(progress.console, summary)
    parts += ["## On a terminal", "", "While the job runs, one live line (redrawn in place, 8 times a second) and the",
              "newest driver log lines under it:", ""]  # fmt: skip
    for when, text in frames:
        parts += [f"after {when} of the job:", "", "```", text.rstrip("\n"), "```", ""]
    lines = out.getvalue().splitlines()
    permanent = [line for line in lines if not line.startswith(("  crawl: ", "  job: "))]
    parts += ["What stays on the screen once the run ends (the live line is gone):", "", "```", *permanent, "```", ""]
    parts += ["## Piped (cron, CI, `--no-color`)", "",
              "No live line: each state change once, and a heartbeat every 30 s with the newest log line:", "",
              "```", *lines, "```", ""]  # fmt: skip
    parts += ["## How a run that does not publish ends", ""]
    endings: list[tuple[str, Any]] = [
        ("failed", RunError(f"job {JOB!r} run {SHORT} ended FAILED: ValueError: boom\n--- driver log (tail) ---\n"
                            "Traceback (most recent call last):\nValueError: boom",
                            hint="the full driver log: CloudWatch Logs /aws-glue/jobs/output, stream "
                            f"{JOB_RUN}-driver")),
        ("timed out", RunTimedOut(f"timed out after 3600s waiting for job {JOB!r} run {SHORT} (stopped it)",
                                  hint="the full driver log: CloudWatch Logs /aws-glue/jobs/output, stream "
                                  f"{JOB_RUN}-driver; allow more with --timeout SECONDS")),
        ("interrupted", RunInterrupted(f"interrupted: job {JOB!r} run {SHORT} goes on running", stopped=False,
                                       hint=f"stop it with: aws glue batch-stop-job-run --job-name {JOB} "
                                       f"--job-run-ids {JOB_RUN} --region eu-central-1")),
    ]  # fmt: skip
    for end, error in endings:
        clock = Clock()
        progress, out = piped(clock)
        _job_events(progress, clock, None, end)
        render_error(progress.console, error)
        tail = out.getvalue().splitlines()
        at = next(i for i, line in enumerate(tail) if line.startswith(("✗ job", "■ job")))
        parts += [f"{end} (the last lines):", "", "```", *tail[at:], "```", ""]
    return "\n".join(parts)


def test_docs_run_transcript_is_what_the_code_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    # The pasteable commands repeat the global options in force (reconciler.invocation); a CLI test earlier in the
    # same process leaves its `-f ... --endpoint-url ...` there. The transcript is of a plain `reconcile run`.
    monkeypatch.setattr(invocation, "_global_args", ())
    text = transcript()
    if os.environ.get("RECONCILER_WRITE_TRANSCRIPT"):
        TRANSCRIPT.write_text(text, encoding="utf-8")
    assert TRANSCRIPT.read_text(encoding="utf-8") == text, "regenerate: RECONCILER_WRITE_TRANSCRIPT=1 pytest this test"
