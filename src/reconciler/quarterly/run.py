"""`reconcile run`: one quarter. Lock, reconcile, crawl and wait, job and wait, gate, publish (docs/publishing.md).

The original design failed exactly here: it started the job before the crawler had finished, and its
conditional trigger never fired for a crawler it had started by hand. So `run` starts the job itself,
and only after a *new* crawl has SUCCEEDED (docs/scheduling.md quotes the AWS Glue developer guide's
rule: dependent jobs start only after a crawl that a trigger started).

Waits follow one shape (aws/wait.py): a status function, pending states, target states, an overall
deadline, and backoff polling that starts small (the gap between crawl end and job start is what users
feel) and is capped.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.aws import lock, wait
from reconciler.aws.cli_command import aws_cli
from reconciler.aws.context import AwsContext
from reconciler.aws.retry import error_code, is_transient
from reconciler.aws.wait import Clock, Deadline, Poll
from reconciler.engine.apply import check_applicable, raise_for_result
from reconciler.engine.destructive import destructive
from reconciler.engine.locked import ApplyOptions, apply_held, locked_session
from reconciler.engine.plan import Plan, build_plan
from reconciler.errors import (
    ApprovalError,
    AwsApiError,
    AwsError,
    EndpointUnreachableError,
    GateError,
    ReconcilerError,
    RunError,
    RunInterrupted,
    RunTimedOut,
)
from reconciler.invocation import command
from reconciler.masking import mask_value
from reconciler.quarterly import history, notify, publish, quarters, refresh
from reconciler.quarterly.driverlog import DriverLog, driver_log_streams, job_log_tail, log_location
from reconciler.resources import upload
from reconciler.spec.model import Pipeline

CRAWL_PENDING = {"RUNNING", "STOPPING"}
JOB_PENDING = {"STARTING", "RUNNING", "STOPPING", "WAITING"}
JOB_FAILED = {"FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"}
#: what the crawl's wait is told once the crawl it started (or attached to) has ended
CRAWL_ENDED = "ended"

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


def backoff(options: RunOptions, cap: float) -> Poll:
    """Start small, grow by half each time, capped: quick to notice the end, cheap while waiting."""
    return Poll(options.poll_initial, factor=1.5, cap=cap)


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)


def last_crawl(ctx: AwsContext, name: str) -> tuple[str, dict[str, Any]]:
    crawler = ctx.call("glue", "get_crawler", Name=name)["Crawler"]
    return crawler.get("State", "READY"), crawler.get("LastCrawl") or {}


def crawl(ctx: AwsContext, name: str, deadline: Deadline, options: RunOptions, emit: EventSink) -> dict[str, Any]:
    """Start the crawler (or attach to its running crawl) and wait for that crawl to end."""
    state, before = last_crawl(ctx, name)
    previous_start = _utc(before.get("StartTime"))
    attached = False
    if state in CRAWL_PENDING:
        attached = True
    else:
        try:
            ctx.call("glue", "start_crawler", Name=name)
        except AwsApiError as exc:
            if error_code(exc) != "CrawlerRunningException":
                raise RunError(f"starting crawler {name!r}: {exc}") from exc
            attached = True  # someone (a schedule, a colleague) started it a moment ago
    emit("crawl_started", {"crawler": name, "attached": attached})

    def crawl_state() -> tuple[dict[str, Any], str]:  # READY before the new crawl has ended is pending too
        state, last = last_crawl(ctx, name)
        started = _utc(last.get("StartTime"))
        is_new = started is not None and (previous_start is None or started > previous_start or attached)
        return last, CRAWL_ENDED if state == "READY" and is_new and last.get("Status") else state

    def sleep(seconds: float) -> None:
        try:
            time.sleep(seconds)
        except KeyboardInterrupt:
            raise RunInterrupted(f"interrupted: crawler {name!r} goes on crawling (its crawl ends by itself); "
                                 "the job was not started", stopped=False) from None  # fmt: skip

    try:
        last = wait.until(
            crawl_state, pending=CRAWL_PENDING | {"READY"}, target={CRAWL_ENDED}, timeout=deadline,
            poll=backoff(options, options.poll_cap), clock=Clock(sleep=sleep),
            on_pending=lambda _, state: emit("waiting", {"step": "crawl", "crawler": name, "state": state}),
        )  # fmt: skip
    except wait.UnexpectedState as unexpected:
        raise RunError(f"crawler {name!r} is in unexpected state {unexpected.state}") from None
    except wait.WaitTimeout:
        _stop_crawler(ctx, name)
        raise RunTimedOut(
            f"timed out after {deadline.seconds:.0f}s waiting for crawler {name!r} (stopped it)"
        ) from None
    status = str(last["Status"])
    if status != "SUCCEEDED":
        message = last.get("ErrorMessage") or "no error message"
        # GetCrawler's LastCrawl (LastCrawlInfo, AWS Glue API reference) names the crawl's LogGroup and
        # LogStream; without them, Glue's default group /aws-glue/crawlers and a stream named after the
        # crawler (AWS Glue Developer Guide, "Viewing crawler logs").
        where = f"CloudWatch Logs {last.get('LogGroup') or '/aws-glue/crawlers'}, stream " \
                f"{last.get('LogStream') or name}"  # fmt: skip
        raise RunError(f"crawler {name!r} ended {status}: {message}",
                       hint=f"the job was not started; the crawler's full log: {where}")  # fmt: skip
    return last


def _stop_crawler(ctx: AwsContext, name: str) -> None:
    with contextlib.suppress(AwsApiError):  # it may have finished meanwhile: nothing to stop
        ctx.call("glue", "stop_crawler", Name=name)


def active_job_runs(ctx: AwsContext, job: str) -> list[dict[str, Any]]:
    """The job's runs in progress, newest first. GetJobRuns answers each run with its `Arguments`,
    `TriggerName` and `StartedOn` (AWS Glue API reference, JobRun), which is how we tell ours apart."""
    runs = ctx.call("glue", "get_job_runs", JobName=job, MaxResults=50).get("JobRuns", [])
    active = [dict(r) for r in runs if r.get("JobRunState") in JOB_PENDING]
    return sorted(active, key=lambda r: _utc(r.get("StartedOn")) or datetime.min.replace(tzinfo=UTC), reverse=True)


def our_run_id(job_run: dict[str, Any], layout: publish.Layout, quarter: str | None) -> str | None:
    """The run id of a job run that `reconcile run` of this pipeline started for `quarter`, else None:
    its arguments carry a run id of ours (`--run_id`), written under that run's own prefix of this
    pipeline (`--output_path`), for the same quarter (`--run_quarter`)."""
    arguments = job_run.get("Arguments") or {}
    run_id = arguments.get("--run_id")
    if not run_id or publish.run_started(str(run_id)) is None:
        return None
    if arguments.get("--output_path") != layout.run_uri(str(run_id)) or arguments.get("--run_quarter") != quarter:
        return None
    return str(run_id)


def describe_job_run(job_run: dict[str, Any], layout: publish.Layout) -> str:
    """JobRunId, StartedOn and how it was started, as far as Glue's answer tells."""
    arguments = job_run.get("Arguments") or {}
    started = _utc(job_run.get("StartedOn"))
    run_id = arguments.get("--run_id")
    if job_run.get("TriggerName"):
        how = f"started by trigger {job_run['TriggerName']!r} (a workflow or a schedule)"
    elif run_id and arguments.get("--output_path") == layout.run_uri(str(run_id)):
        how = f"started by reconcile run {run_id} for {arguments.get('--run_quarter') or 'no quarter'}"
    elif run_id:
        how = f"started with --run_id {run_id} but writing to {arguments.get('--output_path') or 'the default output'}"
    else:
        how = "started by hand (console, CLI or API: no trigger, no run id of this pipeline)"
    return (f"job run {job_run.get('Id')} ({job_run.get('JobRunState')}, started "
            f"{started.isoformat(timespec='seconds') if started else 'at an unknown time'}), {how}")  # fmt: skip


def refuse_foreign(job: str, job_run: dict[str, Any], layout: publish.Layout, quarter: str | None) -> RunError:
    return RunError(
        f"job {job!r} has a run in progress that is not this pipeline's run of {quarter or 'this quarter'}: "
        f"{describe_job_run(job_run, layout)}; not starting a second one, not attaching to it",
        hint=f"let it finish, or stop it (aws glue batch-stop-job-run --job-name {job} --job-run-ids "
        f"{job_run.get('Id')}), then run again",
    )


def attachable_job_run(
    ctx: AwsContext, job: str, layout: publish.Layout, quarter: str | None
) -> tuple[dict[str, Any], str] | None:
    """A job run that this pipeline started for this quarter and whose run crashed or was killed, with its
    run id: the run attaches to it. That is one in progress, or the job's latest run when it SUCCEEDED and was
    never gated (the killed run's job finished while nobody watched). Any other run in progress is
    refused, named."""
    runs = [dict(r) for r in ctx.call("glue", "get_job_runs", JobName=job, MaxResults=50).get("JobRuns", [])]
    runs.sort(key=lambda r: _utc(r.get("StartedOn")) or datetime.min.replace(tzinfo=UTC), reverse=True)
    for job_run in (r for r in runs if r.get("JobRunState") in JOB_PENDING):
        run_id = our_run_id(job_run, layout, quarter)
        if run_id is None:
            raise refuse_foreign(job, job_run, layout, quarter)
        return job_run, run_id
    latest = runs[0] if runs else None
    run_id = our_run_id(latest, layout, quarter) if latest and latest.get("JobRunState") == "SUCCEEDED" else None
    if latest is not None and run_id is not None and publish.read_gate(ctx, layout, run_id) is None:
        return latest, run_id
    return None


def start_job(ctx: AwsContext, job: str, arguments: dict[str, str], emit: EventSink,
              layout: publish.Layout | None = None) -> str:  # fmt: skip
    """Start one run, never two: after a failed start, look for the run with our run id before retrying.
    A run in progress that is not ours is refused (the run attaches to ours, attachable_job_run, before the crawl)."""
    mine = arguments.get("--run_id")

    def ours_in_progress() -> str | None:
        for job_run in active_job_runs(ctx, job):
            if mine is not None and (job_run.get("Arguments") or {}).get("--run_id") == mine:
                return str(job_run["Id"])
            if layout is not None:
                raise refuse_foreign(job, job_run, layout, arguments.get("--run_quarter"))
        return None

    found = ours_in_progress()
    if found is not None:
        emit("job_attached", {"job": job, "job_run_id": found})
        return found
    for attempt in range(5):
        try:
            run_id = str(ctx.call_once("glue", "start_job_run", JobName=job, Arguments=arguments)["JobRunId"])
            emit("job_started", {"job": job, "job_run_id": run_id, "arguments": sorted(arguments)})
            return run_id
        except AwsApiError as exc:
            if error_code(exc) == "ConcurrentRunsExceededException":
                found = ours_in_progress()
                if found is not None:
                    return found
            if not is_transient(exc) or attempt == 4:
                raise exc.doing(f"starting job {job!r}") from exc
        except EndpointUnreachableError:  # a dropped connection: the run may or may not exist now
            if attempt == 4:
                raise
        # The failed call may have started a run after all: look before trying again.
        found = ours_in_progress()
        if found is not None:
            return found
        time.sleep(0.5 * 2**attempt)
    raise RunError(f"could not start job {job!r}")


def wait_job(
    ctx: AwsContext, job: str, run_id: str, deadline: Deadline, options: RunOptions, emit: EventSink
) -> dict[str, Any]:
    try:
        return _wait_job(ctx, job, run_id, deadline, options, emit)
    except KeyboardInterrupt as interrupt:  # the error raised below keeps it as its context: exit 130 / 143
        if options.stop_on_interrupt is not None and options.stop_on_interrupt(job, run_id, interrupt):
            stop_job_run(ctx, job, run_id)
            raise RunInterrupted(f"interrupted: stopped job {job!r} run {short_id(run_id)}", stopped=True) from None
        raise RunInterrupted(
            f"interrupted: job {job!r} run {short_id(run_id)} goes on running", stopped=False,
            hint=f"stop it with: {stop_command(ctx, job, run_id)}",
        ) from None  # fmt: skip


def stop_command(ctx: AwsContext, job: str, run_id: str) -> str:
    """The AWS CLI command that stops a job run (BatchStopJobRun, AWS Glue API reference), pasteable."""
    return aws_cli(ctx, "glue", "batch-stop-job-run", "--job-name", job, "--job-run-ids", run_id)


def _wait_job(
    ctx: AwsContext, job: str, run_id: str, deadline: Deadline, options: RunOptions, emit: EventSink
) -> dict[str, Any]:
    follower = DriverLog(ctx, run_id) if options.follow_logs else None

    def follow(glue_version: str | None) -> None:
        lines = follower.poll(glue_version) if follower is not None else []
        if lines:
            emit("log", {"step": "job", "job": job, "job_run_id": run_id, "lines": lines})

    def status() -> tuple[dict[str, Any], str]:
        found = ctx.call("glue", "get_job_run", JobName=job, RunId=run_id)["JobRun"]
        return dict(found), str(found.get("JobRunState", ""))

    def waiting(found: dict[str, Any], state: str) -> None:
        emit("waiting", {"step": "job", "job": job, "job_run_id": run_id, "state": state})
        follow(found.get("GlueVersion"))

    try:
        run = wait.until(status, pending=JOB_PENDING, target=JOB_FAILED | {"SUCCEEDED"}, timeout=deadline,
                         poll=backoff(options, options.poll_cap * 2), on_pending=waiting)  # fmt: skip
    except wait.UnexpectedState as unexpected:
        raise RunError(f"job {job!r} run {run_id} is in unexpected state {unexpected.state}") from None
    except wait.WaitTimeout as timed_out:
        version = timed_out.last.get("GlueVersion")
        stop_job_run(ctx, job, run_id)
        raise RunTimedOut(
            f"timed out after {deadline.seconds:.0f}s waiting for job {job!r} run {short_id(run_id)} (stopped it)",
            hint=f"the full driver log: {log_location(ctx, run_id, version)}; allow more with --timeout SECONDS",
        ) from None
    state, version = run["JobRunState"], run.get("GlueVersion")
    follow(version)
    if state == "SUCCEEDED":
        return run
    message = run.get("ErrorMessage") or "no error message"
    tail = job_log_tail(ctx, run_id, glue_version=version)
    raise RunError(
        f"job {job!r} run {short_id(run_id)} ended {state}: {message}"
        + (f"\n--- driver log (tail) ---\n{tail}" if tail else ""),
        hint=f"the full driver log: {log_location(ctx, run_id, version)}",
    )


# --- a role this run's apply just changed may not be usable yet ---------------------------------------

#: IAM is eventually consistent: "Changes that I make are not always immediately visible" (IAM User Guide,
#: Troubleshooting IAM, https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html). A crawl or
#: job run that starts seconds after this run's apply created or changed the Glue role can fail because Glue
#: cannot assume the role yet, or because the role's new permissions are not visible yet. The texts, as
#: terraform-provider-aws internal/service/glue/crawler.go retries them for CreateCrawler/UpdateCrawler
#: (hashicorp/terraform-provider-aws#30371 shows the wording varies); a job run's ErrorMessage for this is not
#: documented (*unverified*), so S3's and Glue's access-denied wordings count too.
ROLE_NOT_READY_MESSAGES = (
    "Service is unable to assume",  # "Service is unable to assume provided role. Please verify role's TrustPolicy"
    "role's TrustPolicy",
    "is not authorized",  # "... is not authorized to perform: glue:CreateTable on resource: ..."
    "Insufficient Lake Formation permission",
    "AccessDenied",  # S3: "Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied)"
    "Access Denied",
)
#: A failure counts as "right after the role changed" when the crawl or job run started within this many
#: seconds of the apply's end: terraform-provider-aws's propagationTimeout (internal/service/glue/consts.go,
#: 2 minutes) for the same consistency window.
ROLE_CHANGE_WINDOW_SECONDS = 120.0


def role_settle_seconds() -> float:
    """The wait before the one retry (default 15 s; RECONCILER_ROLE_SETTLE_SECONDS for tests)."""
    try:
        return max(0.0, float(os.environ.get("RECONCILER_ROLE_SETTLE_SECONDS", "15")))
    except ValueError:
        return 15.0


def changes_role(plan: Plan | None) -> bool:
    """Did this apply create or change the Glue role (its trust or inline policy included)?"""
    return plan is not None and any(c.address.startswith("role.") and c.action != "no-op" for c in plan.changes)


def role_not_ready(error: BaseException, role_changed_at: float | None, started_at: float) -> bool:
    """Retry once? Only a plain failure (not a timeout or an interrupt) whose text is one of
    ROLE_NOT_READY_MESSAGES, of a crawl or job run started within ROLE_CHANGE_WINDOW_SECONDS of an apply that
    changed the role. Pure: tested in tests/unit/test_role_retry.py."""
    if role_changed_at is None or type(error) is not RunError:
        return False
    if started_at - role_changed_at > ROLE_CHANGE_WINDOW_SECONDS:
        return False
    text = str(error).split("\n--- driver log", 1)[0]
    return any(message.lower() in text.lower() for message in ROLE_NOT_READY_MESSAGES)


def once_more_if_role_not_ready(
    attempt: Callable[[], Any], role_changed_at: float | None, what: str, emit: EventSink,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:  # fmt: skip
    """`attempt()`; if it fails because the role this run just changed is not usable yet, wait
    role_settle_seconds() and run it once more (bounded: one retry)."""
    started_at = time.monotonic()
    try:
        return attempt()
    except RunError as error:
        if not role_not_ready(error, role_changed_at, started_at):
            raise
        wait = role_settle_seconds()
        emit("retry", {"step": what, "reason": "the role this run changed is not usable yet (IAM propagation)",
                       "error": str(error).splitlines()[0], "after_seconds": wait})  # fmt: skip
        sleep(wait)
        return attempt()


def stop_job_run(ctx: AwsContext, job: str, run_id: str) -> None:
    with contextlib.suppress(AwsApiError):
        ctx.call("glue", "batch_stop_job_run", JobName=job, JobRunIds=[run_id])


def reconcile_under_lock(
    pipeline: Pipeline, ctx: AwsContext, emit: EventSink, options: RunOptions, first: Plan, held: lock.Held,
    approved_destructive: tuple[str, ...] | list[str] = (),
) -> Plan:  # fmt: skip
    """The reconcile step, through the same locked-apply path as `reconcile apply --auto-approve`."""
    check_applicable(first)
    apply_options = ApplyOptions(
        auto_approve=True, operation="run", approve_broadening=options.approve_broadening,
        refuse_destructive=not options.allow_destroy, approved_destructive=frozenset(approved_destructive),
    )  # fmt: skip
    plan, result = apply_held(pipeline, ctx, first, apply_options, held)
    changes = [c.address for c in plan.changes if c.action != "no-op"]
    # Re-made under the lock, the plan differs from the one shown when someone changed the pipeline meanwhile
    # (the bucket this run just created turns its create into the rest of its configuration: the same address).
    reviewed = [c.address for c in first.changes if c.action != "no-op"]
    emit("plan", {"summary": plan.counts(), "changes": changes, "as_reviewed": changes == reviewed})
    raise_for_result(result)
    return plan


def run_pipeline(pipeline: Pipeline, ctx: AwsContext, options: RunOptions, emit: EventSink) -> RunSummary:
    """The whole quarterly run. Raises RunError (or another ReconcilerError) on failure.

    Write-audit-publish (publish.py): the job writes under <output_path>runs/<run_id>/, the quality
    gate checks its report, and only a passing run is promoted to the published data. spec.notify is told
    how it ended (notify.py), which never changes how it ended."""
    summary = RunSummary()
    with notify.notifying(pipeline, ctx, summary, masked_events(emit)) as told:
        return _run_pipeline(pipeline, ctx, options, told, summary)


def _run_pipeline(pipeline: Pipeline, ctx: AwsContext, options: RunOptions, emit: EventSink,
                  summary: RunSummary) -> RunSummary:  # fmt: skip
    emit = masked_events(emit)
    if not pipeline.crawlers or not pipeline.jobs:
        raise RunError("the spec declares no crawler or no job: nothing to run")
    deadline = Deadline(options.timeout)
    crawler_names = [pipeline.schedule.crawler] if pipeline.schedule else [c.name for c in pipeline.crawlers]
    job = choose_job(pipeline, options.job)
    summary.job_name = job
    layout = publish.Layout.of(pipeline)
    run_id = publish.new_run_id()
    summary.run_id = run_id
    # The quarter, and that it was ingested, before anything is started or billed (quarters.py).
    label, explicit = resolve_quarter(pipeline, ctx, options)
    refuse_second_scheduler(pipeline, ctx, explicit)
    quarters.check_ingested(ctx, pipeline, job, label, local_too=not options.skip_apply)
    check_stale(ctx, pipeline, job, label, options, emit, explicit)
    summary.quarter = label
    emit("quarter", {"quarter": label, "explicit": explicit, "rule": quarters.rule_of(pipeline)})
    # The run record (history.py) follows the run's events: every step's end, failed or not, updates it.
    recorder = history.Recorder(ctx, pipeline, layout, summary, job, crawler_names)
    emit = recorder.wrap(emit)

    def step(name: str) -> _Step:
        return _Step(name, summary, emit)

    # Render the manifest first: a broken template should fail in a second, not after an hour-long job.
    if pipeline.quicksight.manifest is not None:
        from reconciler.quarterly.manifest import manifest_for

        manifest_for(publish.run_pipeline_view(pipeline, layout, run_id))

    def warn(message: str) -> None:  # a local convenience copy that could not be written: never fatal
        summary.warnings.append(message)
        emit("warning", {"message": message})

    ends = quarters.bounds(label)[1]
    if ends >= quarters.run_time(ctx).date():  # the export of a quarter still running is not complete
        warn(f"quarter {label} is not over yet (it ends {ends.isoformat()}): its data may be incomplete, and a "
             "run after its end processes it again")  # fmt: skip

    first: Plan | None = None
    approved_destructive: list[str] = []
    if not options.skip_apply:
        first = build_plan(pipeline, ctx, observe_serial=True)
        check_applicable(first)  # before the review: a name that is someone else's is refused first
        approved_destructive = review(first, options, emit)
    # Check, create the bucket when the plan does, take the lock: as apply does (engine/locked.py).
    with locked_session(pipeline, ctx, "run", plan=first, timeout=options.lock_timeout,
                        on_wait=lambda h: emit("lock_wait", {"holder": h.describe()}),
                        on_takeover=lambda h, why: emit("lock_taken_over", {"holder": h.describe(), "reason": why}),
                        ) as session, history.recorded(recorder, run_id, label):  # fmt: skip
        held = session.held
        role_changed_at: float | None = None  # monotonic end of an apply that changed the Glue role
        if first is not None:
            with step("apply"):
                summary.plan = reconcile_under_lock(pipeline, ctx, emit, options, first, held, approved_destructive)
            if changes_role(summary.plan):
                role_changed_at = time.monotonic()
        if first is not None:
            quarters.check_ingested(ctx, pipeline, job, label, local_too=False)  # uploaded by the apply
        if publish.converge(ctx, pipeline, layout, warn=warn):  # repair a crash between pointer and manifest
            emit("converged", {"manifest": pipeline.quicksight.manifest.key if pipeline.quicksight.manifest else None})
        # A job run this pipeline started for this quarter, still going (its run was killed): attach to it,
        # take its run id and output prefix, and gate and publish it. Any other run in progress is refused, named.
        adopted = attachable_job_run(ctx, job, layout, label)
        if adopted is not None:
            run_id = summary.run_id = adopted[1]
            emit("job_attached", {"job": job, "job_run_id": adopted[0]["Id"], "run_id": run_id, "adopted": True})
        with step("crawl"):
            held.check("starting the crawl")  # a holder that lost its lease stops before its next write
            for name in crawler_names if adopted is None else []:  # an adopted run's crawl is done
                last = once_more_if_role_not_ready(
                    functools.partial(crawl, ctx, name, deadline, options, emit), role_changed_at, "crawl", emit
                )
                summary.crawls[name] = str(last.get("Status"))
        with step("job"):
            # Ours win: where a run writes is what write-audit-publish is about.
            arguments = dict(options.job_arguments) | {"--output_path": layout.run_uri(run_id), "--run_id": run_id,
                                                       "--run_quarter": label}  # fmt: skip
            held.check("starting the job")
            def start_and_wait(first_run: str | None) -> None:
                job_run_id = first_run or start_job(ctx, job, arguments, emit, layout)
                summary.job_run_id = job_run_id
                wait_job(ctx, job, job_run_id, deadline, options, emit)

            if adopted:  # an adopted run was started before this run changed anything: no retry
                start_and_wait(adopted[0]["Id"])
            else:
                once_more_if_role_not_ready(lambda: start_and_wait(None), role_changed_at, "job", emit)
        with step("gate"):
            report = publish.read_report(ctx, layout, run_id, written=True)  # the job run succeeded
            if report is None:
                raise RunError(
                    f"the job wrote no report at s3://{layout.bucket}/{layout.run_key(run_id, publish.REPORT)}"
                )
            summary.report = report
            # Against the published run of the same quarter (a restatement) or of the quarter before.
            compared = publish.comparison_run(publish.published_quarters(ctx, layout), label)
            emit("gate", {"quarter": label, "compared_with": None if compared is None else
                          {"quarter": compared[0], "run_id": compared[1]}})  # fmt: skip
            previous = publish.read_report(ctx, layout, compared[1]) if compared else None
            failures = publish.check_gate(pipeline, report, previous, label)
            held.check("writing the gate's verdict")
            publish.write_gate(ctx, layout, run_id, failures, compared[1] if compared else None)
            if failures:
                raise GateError(
                    f"run {run_id} failed the quality gate; nothing published changed:\n"
                    + "\n".join(f"  {f}" for f in failures),
                    hint=f"inspect {layout.run_uri(run_id)}; publish it anyway with: {command('promote', run_id)}",
                )
        with step("publish"):
            check_publishable(pipeline, ctx, layout, run_id)
            held.check("publishing")
            publish.promote(ctx, pipeline, layout, run_id, by="reconcile run", warn=warn)
            summary.published = True
            if pipeline.quicksight.manifest is not None:
                summary.manifest_uri = f"s3://{pipeline.bucket.name}/{pipeline.quicksight.manifest.key}"
                summary.manifest_path = str(pipeline.quicksight.manifest.output)
        if pipeline.quicksight.dataset is not None:
            with step("refresh"):  # QuickSight SPICE ingestion of spec.quicksight.dataset (quarterly/refresh.py)
                refresh.after_publish(ctx, pipeline, run_id, emit)
        summary.removed_runs = publish.apply_retention(ctx, layout, pipeline.publish.keep_quarters)
        if summary.removed_runs:
            emit("retention", {"removed_runs": summary.removed_runs})
    return summary


def choose_job(pipeline: Pipeline, name: str | None) -> str:
    """`--job NAME`, else spec.schedule.job, else the spec's first job; an undeclared name names the declared."""
    declared = [j.name for j in pipeline.jobs]
    if name is None:
        return pipeline.schedule.job if pipeline.schedule else declared[0]
    if name not in declared:
        close = difflib.get_close_matches(name, declared, n=1)
        raise RunError(
            f"--job {name!r}: the spec declares no such job{f' (did you mean {close[0]!r}?)' if close else ''}; "
            f"its jobs: {', '.join(declared)}",
            hint=f"pass one of them, e.g. {command('run', '--job', declared[0])}",
        )
    return name


def review(first: Plan, options: RunOptions, emit: EventSink) -> list[str]:
    """Show the plan (options.review_plan) and stop before any write when it destroys something that was
    neither allowed (--allow-destroy) nor approved; the destructive lines that may be applied."""
    lines = destructive(first.changes)
    approved = options.review_plan(first, lines) if options.review_plan is not None else False
    emit("planned", {"summary": first.counts(), "destructive": lines,
                     "changes": [c.address for c in first.changes if c.action != "no-op"]})  # fmt: skip
    if lines and not (approved or options.allow_destroy):
        raise ApprovalError(
            "the run would destroy, replace or lose data; nothing was changed:\n" + "\n".join(f"  {x}" for x in lines),
            hint=f"review it with `{command('plan')}`, then pass --allow-destroy to run (or answer yes on a terminal)",
        )
    return lines


def check_stale(ctx: AwsContext, pipeline: Pipeline, job: str, label: str, options: RunOptions, emit: EventSink,
                explicit: bool) -> None:  # fmt: skip
    """Refuse, before anything is applied, started or billed, a quarter whose ingest folder in the bucket holds
    objects that the upload source no longer has (files deleted locally): the job would read them. Objects an
    upload with `prune: true` covers do not count unless --skip-apply (the reconcile step deletes them).
    `--accept-stale` processes them, with a warning."""
    location = quarters.input_location(pipeline, job)
    if location is None or location[0] != pipeline.bucket.name:
        return  # not uploaded by this pipeline: nobody here knows what should be there
    prefix = location[1] + quarters.folder(label)
    stale = upload.stale_keys(ctx, pipeline, prefix, pruned_too=options.skip_apply)
    if not stale:
        return
    where = f"s3://{pipeline.bucket.name}/{prefix}"
    what = f"{len(stale)} object(s) under {where} no longer exist in the upload source: {upload.first_keys(stale)}"
    if options.accept_stale:
        emit("warning", {"message": f"{what}; processing them (--accept-stale)", "stale": stale})
        return
    again = ["run", "--accept-stale"] + (["--quarter", label] if explicit else [])
    raise RunError(
        f"{what}; the job would read them, so nothing was started",
        hint=f"delete them with prune: true on the upload (then run again), or process them anyway: "
        f"{command(*again)}",
    )


def resolve_quarter(pipeline: Pipeline, ctx: AwsContext, options: RunOptions) -> tuple[str, bool]:
    """(the run's quarter, whether it was given): --quarter (or a `--run_quarter` job argument), else due now."""
    given = options.quarter or dict(options.job_arguments).get("--run_quarter")
    if given:
        quarters.parse(given)
        return given, True
    return quarters.due(quarters.rule_of(pipeline), quarters.run_time(ctx)), False


def refuse_second_scheduler(pipeline: Pipeline, ctx: AwsContext, explicit: bool) -> None:
    """With `spec.schedule.in_aws: true` the Glue workflow is the scheduler: a scheduled `reconcile run`
    (no --quarter) would be a second one, and no run may start while the workflow runs."""
    schedule = pipeline.schedule
    if schedule is None or not schedule.in_aws:
        return
    if not explicit:
        raise RunError(
            f"spec.schedule.in_aws is true: Glue workflow {schedule.workflow!r} is this pipeline's scheduler, so "
            "`reconcile run` without --quarter would process the quarter a second time",
            hint=f"remove the outside schedule; publish the workflow's job runs with: {command('promote', 'RUN_ID')}; "
            "for a backfill or a restatement pass --quarter YYYY-QN",
        )
    try:
        runs = ctx.call("glue", "get_workflow_runs", Name=schedule.workflow, MaxResults=10).get("Runs", [])
    except AwsApiError:
        return  # no workflow yet (the reconcile step creates it): nothing of it runs
    running = [r for r in runs if r.get("Status") in {"RUNNING", "STOPPING"}]
    if running:
        raise RunError(
            f"Glue workflow {schedule.workflow!r} is running (run {running[0].get('WorkflowRunId')}): it is the "
            "scheduler of this pipeline, and its job run is the quarter's run",
            hint=f"wait for it, then publish its job run with: {command('promote', 'RUN_ID')}",
        )


def check_publishable(pipeline: Pipeline, ctx: AwsContext, layout: publish.Layout, run_id: str) -> None:
    """The manifest must point at data files only: nothing at all, or a _SUCCESS marker, is an error."""
    from reconciler.quarterly.manifest import check_prefix_objects

    view = publish.run_pipeline_view(pipeline, layout, run_id).quicksight.manifest
    if view is None:
        return
    keys: list[str] = []
    for page in ctx.pages("s3", "list_objects_v2", Bucket=pipeline.bucket.name, Prefix=view.data_prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    problems = check_prefix_objects(keys, view.data_prefix)
    if problems:
        raise RunError(
            "the QuickSight manifest would point at the wrong objects:\n" + "\n".join(f"  {p}" for p in problems)
        )


class _Step:
    def __init__(self, name: str, summary: RunSummary, emit: EventSink) -> None:
        self.name, self.summary, self.emit = name, summary, emit

    def __enter__(self) -> None:
        self.started = time.monotonic()
        self.emit("step_started", {"step": self.name})

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        took = round(time.monotonic() - self.started, 3)
        self.summary.steps[self.name] = took
        if exc is None:
            self.emit("step_finished", {"step": self.name, "seconds": took})
        else:
            message = exc.message if isinstance(exc, ReconcilerError) else str(exc)
            self.emit("step_failed", {"step": self.name, "seconds": took, "error": message, "outcome": outcome(exc)})


def outcome(exc: BaseException) -> str:
    """How a step ended that did not succeed: `interrupted` (what it waited for goes on), `stopped` (the job run
    was stopped on an interrupt), `timed_out` (--timeout; the run stopped what it waited for) or `failed`."""
    if isinstance(exc, RunInterrupted):
        return "stopped" if exc.stopped else "interrupted"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, RunTimedOut):
        return "timed_out"
    return "failed"


__all__ = [
    "EVENT_FORMAT_VERSION", "AwsError", "RunOptions", "RunSummary", "driver_log_streams", "job_log_tail",
    "run_pipeline",
]  # fmt: skip
