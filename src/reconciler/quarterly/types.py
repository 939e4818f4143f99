"""The quarterly run's data types and constants: what `run`, its steps, `notify`, `history` and the CLI share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.plan import Plan
from reconciler.masking import mask_value

#: Glue's CrawlerState and JobRunState values (AWS Glue API reference: Crawler.State, JobRun.JobRunState)
CRAWL_PENDING = {"RUNNING", "STOPPING"}
JOB_PENDING = {"STARTING", "RUNNING", "STOPPING", "WAITING"}
JOB_FAILED = {"FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"}

EVENT_FORMAT_VERSION = "1"
#: Glue's job run ids (`jr_` and 64 hex digits) are cut to this many characters in messages for people; the
#: full id is in the run's events (`job_started`), its record (`show`), and in every hint that needs it
SHORT_ID = 12


def short_id(value: object) -> str:
    """A job run id for people: `jr_4f1c2a9b0` of `jr_4f1c2a9b0e7d...` (SHORT_ID characters)."""
    text = str(value)
    return text if len(text) <= SHORT_ID else text[:SHORT_ID]


@dataclass(frozen=True)
class RunOptions:
    timeout: float = 3600.0
    #: `--accept-stale`: process a quarter whose ingest folder holds objects its upload source no longer has
    accept_stale: bool = False
    skip_apply: bool = False
    job_arguments: tuple[tuple[str, str], ...] = ()
    lock_timeout: float = 0.0
    approve_broadening: bool = False
    poll_initial: float = 0.25
    poll_cap: float = 2.0
    #: asked on Ctrl-C (or SIGTERM) while the job runs, with the job, its run id and the interrupt: True stops
    #: the job run, False leaves it running; None leaves it running
    stop_on_interrupt: Callable[[str, str, BaseException], bool] | None = None
    #: `--quarter YYYY-QN`; None: the quarter spec.schedule.quarter says is due (quarters.due)
    quarter: str | None = None
    #: `--job NAME`; None: spec.schedule.job, else the first job
    job: str | None = None
    #: `--allow-destroy`: the reconcile step may delete, replace and lose data
    allow_destroy: bool = False
    #: shown the plan before anything is applied, with its destructive lines (engine.destructive); True when a
    #: person approved those (the CLI asks on a terminal)
    review_plan: Callable[[Plan, list[str]], bool] | None = None
    #: read the job run's driver log while waiting, as `log` events (driverlog.DriverLog)
    follow_logs: bool = False


#: (event name, fields) -> None; the CLI renders it for people or as JSON lines
EventSink = Callable[[str, dict[str, Any]], None]


def masked_events(emit: EventSink) -> EventSink:
    """`emit` receiving every event with its secret-looking values masked (reconciler/masking.py): a job's
    error message or driver log may quote an argument's value."""

    def masked(event: str, fields: dict[str, Any]) -> None:
        emit(event, mask_value(fields))

    return masked


@dataclass
class RunSummary:
    steps: dict[str, float] = field(default_factory=dict)  # step -> seconds
    plan: Plan | None = None
    crawls: dict[str, str] = field(default_factory=dict)  # crawler -> final status
    job_run_id: str | None = None
    job_name: str | None = None
    run_id: str | None = None
    quarter: str | None = None
    published: bool = False
    removed_runs: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None
    manifest_uri: str | None = None
    manifest_path: str | None = None
    #: what went wrong without failing the run (a local convenience copy that could not be written)
    warnings: list[str] = field(default_factory=list)
