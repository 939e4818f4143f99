"""The run's crawls and job runs on Glue: start or attach, and wait for the end.

Waits follow one shape (aws/wait.py): a status function, pending states, target states, an overall
deadline, and backoff polling that starts small (the gap between crawl end and job start is what users
feel) and is capped.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import Any

from reconciler.aws import wait
from reconciler.aws.cli_command import aws_cli
from reconciler.aws.context import AwsContext
from reconciler.aws.retry import error_code, is_transient
from reconciler.aws.wait import Clock, Deadline, Poll
from reconciler.errors import AwsApiError, EndpointUnreachableError, RunError, RunInterrupted, RunTimedOut
from reconciler.quarterly import pointer, publish
from reconciler.quarterly.driverlog import DriverLog, job_log_tail, log_location
from reconciler.quarterly.lake_formation import explain_refused_crawl
from reconciler.quarterly.types import CRAWL_PENDING, JOB_FAILED, JOB_PENDING, EventSink, RunOptions, short_id

#: what the crawl's wait is told once the crawl it started (or attached to) has ended
CRAWL_ENDED = "ended"


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
        refused = explain_refused_crawl(ctx, name, str(message))  # Lake Formation: the cause and the grant
        if refused is not None:
            raise RunError(f"crawler {name!r} ended {status}: {message}: {refused[0]}",
                           hint=f"the job was not started; {refused[1]}")  # fmt: skip
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


def refuse_foreign(
    ctx: AwsContext, job: str, job_run: dict[str, Any], layout: publish.Layout, quarter: str | None
) -> RunError:
    """The hint's stop command names the region and endpoint, so it works when pasted (also on the local one)."""
    return RunError(
        f"job {job!r} has a run in progress that is not this pipeline's run of {quarter or 'this quarter'}: "
        f"{describe_job_run(job_run, layout)}; not starting a second one, not attaching to it",
        hint=f"let it finish, or stop it ({stop_command(ctx, job, str(job_run.get('Id')))}), then run again",
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
            raise refuse_foreign(ctx, job, job_run, layout, quarter)
        return job_run, run_id
    latest = runs[0] if runs else None
    run_id = our_run_id(latest, layout, quarter) if latest and latest.get("JobRunState") == "SUCCEEDED" else None
    if latest is not None and run_id is not None and pointer.read_gate(ctx, layout, run_id) is None:
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
                raise refuse_foreign(ctx, job, job_run, layout, arguments.get("--run_quarter"))
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


def stop_job_run(ctx: AwsContext, job: str, run_id: str) -> None:
    with contextlib.suppress(AwsApiError):
        ctx.call("glue", "batch_stop_job_run", JobName=job, JobRunIds=[run_id])

