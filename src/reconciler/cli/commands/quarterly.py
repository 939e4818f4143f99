"""`run`: the quarterly run (reconciler.quarterly.run), its questions, and its events for people or as JSON."""

from __future__ import annotations

import sys
from typing import Any

import click

from reconciler.cli import apply_render
from reconciler.cli.app import Globals, pass_globals
from reconciler.cli.ask import confirm, stop_job_question
from reconciler.cli.boundary import Terminated
from reconciler.cli.options import QUARTER
from reconciler.cli.progress import RunProgress
from reconciler.cli.render import render_plan
from reconciler.cli.run_render import print_run_summary
from reconciler.engine.plan import Plan
from reconciler.errors import UsageError
from reconciler.failures import classify
from reconciler.masking import mask_value
from reconciler.quarterly.run import run_pipeline
from reconciler.quarterly.types import RunOptions
from reconciler.spec.checks import run_argument_problems
from reconciler.spec.model import Pipeline


def check_run_arguments(pipeline: Pipeline, given: tuple[tuple[str, str], ...]) -> None:
    """`run --arg` follows the spec's argument roles (spec/checks.py `run_argument_problems`), before any AWS call:
    no output, and no input or code from outside the bucket that spec.allow does not list."""
    spec_arguments = [argument for job in pipeline.jobs for argument in job.arguments]
    allow = pipeline.allow
    problems = run_argument_problems(pipeline.bucket.name, spec_arguments, given, allow.external_code,
                                     allow.external_inputs)  # fmt: skip
    if problems:
        name, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UsageError(f"--arg {name}: {message}{more}; nothing was started",
                         hint="declare it in the job's arguments in the spec, where validate checks it")  # fmt: skip


def job_arguments(job_args: tuple[str, ...], run_quarter: str | None) -> tuple[tuple[str, str], ...]:
    """`--arg KEY=VALUE` (repeatable) and `--run-quarter` as the job run's arguments, sorted."""
    arguments: dict[str, str] = {}
    for item in job_args:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--arg")
        arguments[key if key.startswith("--") else f"--{key}"] = value
    if run_quarter:
        arguments["--run_quarter"] = run_quarter
    return tuple(sorted(arguments.items()))


def run_failure(err: BaseException) -> dict[str, Any]:
    """The `run_failed` event's fields for any failure (ours, an interrupt, a bug), with the exit code the
    error boundary gives it (reconciler.failures.classify); secret-looking values masked (reconciler/masking.py)."""
    failure = classify(err)
    fields: dict[str, Any] = {"error": failure.message, "hint": failure.hint, "kind": failure.kind,
                              "exit_code": failure.exit_code}  # fmt: skip
    if failure.outcome is not None:
        fields["outcome"] = failure.outcome
    return dict(mask_value(fields))


@click.command()
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Overall limit in seconds.")
@click.option("--skip-apply", is_flag=True, help="Do not reconcile first; run what exists.")
@click.option("--arg", "job_args", multiple=True, metavar="KEY=VALUE", help="Extra job run argument (repeatable).")
@click.option("--quarter", "--run-quarter", "run_quarter", default=None, type=QUARTER,
              help="The quarter to process (any ingested one); default: the one spec.schedule.quarter says is due.")
@click.option("--json", "as_json", is_flag=True, help="One JSON event per line on stdout.")
@click.option("--stop-on-interrupt", is_flag=True, help="On Ctrl-C stop the running job without asking.")
@click.option("--lock-timeout", type=float, default=0.0, show_default=True, help="Seconds to wait for the lock.")
@click.option("--approve-broadening", is_flag=True, help="Let the reconcile step widen access.")
@click.option("--accept-stale", is_flag=True,
              help="Process the quarter although its ingest folder holds objects deleted from the upload source.")
@click.option("--allow-destroy", is_flag=True, help="Let the reconcile step delete, replace or lose data.")
@click.option("--job", "job_name", default=None, metavar="NAME", help="The job to run (default: spec.schedule.job).")
@click.option("--logs", is_flag=True, help="Print the job run's whole driver log as it is written.")
@pass_globals
def run(
    g: Globals, timeout: float, skip_apply: bool, job_args: tuple[str, ...], run_quarter: str | None, as_json: bool,
    accept_stale: bool,
    stop_on_interrupt: bool, lock_timeout: float, approve_broadening: bool, allow_destroy: bool,
    job_name: str | None, logs: bool,
) -> None:  # fmt: skip
    """The quarterly job: reconcile, crawl and wait, run the job and wait, publish the QuickSight manifest."""
    reporter = RunProgress(g.console, as_json, logs=logs)
    # A question needs a person at a terminal: both ends of it, and no JSON stream to hide it in.
    can_ask = not as_json and sys.stdin.isatty() and sys.stdout.isatty()

    def ask_stop(job: str, run_id: str, interrupt: BaseException) -> bool:
        """Ctrl-C during the job: ask, on a terminal; otherwise (and on SIGTERM) stop it (--stop-on-interrupt)."""
        if stop_on_interrupt or not can_ask or isinstance(interrupt, Terminated):
            return True
        reporter.pause()  # nothing redraws under the question
        return stop_job_question(job, run_id)

    def review_plan(plan: Plan, destructive: list[str]) -> bool:
        """The plan the run applies, shown first; destructive changes need --allow-destroy or a yes here."""
        if as_json:
            return False
        render_plan(g.console, plan)
        if not destructive or allow_destroy or not can_ask:
            return False
        apply_render.destructive(g.console, destructive)
        confirm(g.console, "Do you want the run to destroy these?", auto_approve=False)
        return True

    try:
        options = RunOptions(
            accept_stale=accept_stale,
            timeout=timeout, skip_apply=skip_apply, job_arguments=job_arguments(job_args, run_quarter),
            lock_timeout=lock_timeout, stop_on_interrupt=ask_stop, approve_broadening=approve_broadening,
            job=job_name, allow_destroy=allow_destroy, review_plan=review_plan, follow_logs=logs or not as_json,
        )  # fmt: skip
        pipeline = g.load()
        check_run_arguments(pipeline, options.job_arguments)
        ctx = g.context(pipeline)
        summary = run_pipeline(pipeline, ctx, options, reporter)
    except BaseException as err:  # every failure gets its event; the error boundary then reports it
        reporter.stop()
        if as_json:
            reporter("run_failed", run_failure(err))
        raise
    reporter.stop()
    if as_json:
        reporter("run_finished", {"steps": summary.steps, "run_id": summary.run_id, "quarter": summary.quarter,
                                  "job_run_id": summary.job_run_id,
                                  "published": summary.published, "report": summary.report,
                                  "manifest": summary.manifest_uri, "removed_runs": summary.removed_runs})  # fmt: skip
    else:
        print_run_summary(g.console, summary)


COMMANDS = (run,)
