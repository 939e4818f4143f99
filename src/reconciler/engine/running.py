"""Work still running in what a destroy is about to delete: Glue job runs of its jobs and crawls of its
crawlers (a crashed `reconcile run` leaves its job run going). Deleting a job, its role and its bucket under
a running job run leaves that run failing half-way or writing into whatever takes the names next, so destroy
refuses, naming each run and how to stop it, or with `--stop-running` stops them and waits until they have
stopped, before deleting anything.

AWS Glue API reference (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-runs.html):
GetJobRuns lists a job's runs with `JobRunState` STARTING | RUNNING | STOPPING | WAITING while in progress
(then STOPPED, SUCCEEDED, FAILED, TIMEOUT, ERROR, EXPIRED); BatchStopJobRun "Stops one or more job runs for
a specified job definition" and answers per run (`SuccessfulSubmissions`, `Errors`).
(https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-crawling.html): GetCrawler's `State` is
READY | RUNNING | STOPPING; StopCrawler "If the specified crawler is running, stops the crawl", and answers
CrawlerNotRunningException when it is not (then there is nothing to stop).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.aws import wait
from reconciler.aws.cli_command import aws_cli
from reconciler.aws.context import AwsContext
from reconciler.aws.retry import error_code
from reconciler.aws.wait import Clock, Poll
from reconciler.engine.diff import DELETE
from reconciler.engine.plan import Plan
from reconciler.errors import AwsApiError, ReconcilerError, RunError
from reconciler.invocation import command
from reconciler.resources.base import is_not_found

JOB_RUN_ACTIVE = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})
CRAWLER_ACTIVE = frozenset({"RUNNING", "STOPPING"})
STOP_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class Running:
    kind: str  # "job" or "crawler"
    name: str
    run_id: str | None  # the job run's id; None for a crawl
    state: str
    started: str

    def describe(self) -> str:
        if self.kind == "job":
            return f"job {self.name!r} run {self.run_id} is {self.state} (started {self.started})"
        return f"crawler {self.name!r} is {self.state}"

    def stop_command(self, ctx: AwsContext) -> str:
        """The AWS CLI command that stops it, pasteable."""
        if self.kind == "job":
            run = str(self.run_id)
            return aws_cli(ctx, "glue", "batch-stop-job-run", "--job-name", self.name, "--job-run-ids", run)
        return aws_cli(ctx, "glue", "stop-crawler", "--name", self.name)


def find_running(ctx: AwsContext, plan: Plan) -> list[Running]:
    """Job runs and crawls in progress for the jobs and crawlers `plan` deletes."""
    found: list[Running] = []
    for change in plan.changes:
        if change.action != DELETE:
            continue
        if change.kind == "job":
            found += _job_runs(ctx, change.name)
        elif change.kind == "crawler":
            found += _crawl(ctx, change.name)
    return found


def _job_runs(ctx: AwsContext, job: str) -> list[Running]:
    try:
        runs = [r for page in ctx.pages("glue", "get_job_runs", JobName=job) for r in page.get("JobRuns", [])]
    except AwsApiError as exc:
        if is_not_found(exc):
            return []
        raise
    return [
        Running("job", job, str(r["Id"]), str(r["JobRunState"]), str(r.get("StartedOn", "?")))
        for r in runs if r.get("JobRunState") in JOB_RUN_ACTIVE
    ]  # fmt: skip


def _crawl(ctx: AwsContext, crawler: str) -> list[Running]:
    try:
        found = ctx.call("glue", "get_crawler", Name=crawler)["Crawler"]
    except AwsApiError as exc:
        if is_not_found(exc):
            return []
        raise
    state = str(found.get("State", ""))
    if state not in CRAWLER_ACTIVE:
        return []
    return [Running("crawler", crawler, None, state, "")]  # GetCrawler names no start time of the crawl in progress


def refuse_running(ctx: AwsContext, running: list[Running], operation: str = "destroy") -> None:
    """RunError naming each run in progress and how to stop it; nothing has been deleted yet."""
    if not running:
        return
    lines = "\n".join(f"  {r.describe()}; stop it with: {r.stop_command(ctx)}" for r in running)
    raise RunError(
        f"{len(running)} job run(s) or crawl(s) of this pipeline are still running; nothing was deleted:\n{lines}",
        hint=f"let them finish, stop them as above, or stop them and {operation}: "
        f"{command(operation, '--stop-running')}",
    )


def stop_and_wait(
    ctx: AwsContext,
    running: list[Running],
    *,
    timeout: float = STOP_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    on_stopping: Callable[[Running], None] | None = None,
) -> None:
    """Stop every job run and crawl in `running` and wait until none is in progress any more."""
    for r in running:
        if on_stopping is not None:
            on_stopping(r)
        if r.kind == "job":
            answer = ctx.call("glue", "batch_stop_job_run", JobName=r.name, JobRunIds=[str(r.run_id)])
            for error in answer.get("Errors") or []:  # a run that ended meanwhile cannot be stopped: fine
                detail = error.get("ErrorDetail") or {}
                if r.run_id == error.get("JobRunId") and detail.get("ErrorCode") != "InvalidInputException":
                    raise RunError(f"could not stop job {r.name!r} run {r.run_id}: {detail.get('ErrorMessage')}")
        else:
            try:
                ctx.call("glue", "stop_crawler", Name=r.name)
            except AwsApiError as exc:
                if error_code(exc) != "CrawlerNotRunningException" and not is_not_found(exc):
                    raise

    def status() -> tuple[list[Running], str]:
        still = [r for r in running if _still_running(ctx, r)]
        return still, "running" if still else "stopped"

    try:
        wait.until(status, pending={"running"}, target={"stopped"}, timeout=timeout, poll=Poll(0.25, cap=5.0),
                   clock=Clock(sleep=sleep))  # fmt: skip
    except wait.WaitTimeout as timed_out:
        raise ReconcilerError(
            f"still running {timeout:.0f}s after being stopped: " + "; ".join(r.describe() for r in timed_out.last)
            + "; nothing was deleted",
            hint=f"wait until they have stopped, then: {command('destroy')}",
        ) from None


def _still_running(ctx: AwsContext, r: Running) -> bool:
    if r.kind == "job":
        try:
            state = ctx.call("glue", "get_job_run", JobName=r.name, RunId=str(r.run_id))["JobRun"]["JobRunState"]
        except AwsApiError as exc:
            if is_not_found(exc):
                return False
            raise
        return state in JOB_RUN_ACTIVE
    return bool(_crawl(ctx, r.name))
