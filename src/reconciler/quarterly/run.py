"""`reconcile run`: one quarter. Lock, reconcile, crawl and wait, job and wait, gate, publish (docs/publishing.md).

The original design failed exactly here: it started the job before the crawler had finished, and its
conditional trigger never fired for a crawler it had started by hand. So `run` starts the job itself,
and only after a *new* crawl has SUCCEEDED (docs/scheduling.md quotes the AWS Glue developer guide's
rule: dependent jobs start only after a crawl that a trigger started).

The steps are in quarterly/steps.py; the crawls, job runs and their waits in quarterly/glue_runs.py.
"""

from __future__ import annotations

from reconciler.aws.context import AwsContext
from reconciler.engine.apply import check_applicable
from reconciler.engine.locked import locked_session
from reconciler.engine.plan import Plan, build_plan
from reconciler.errors import AwsError
from reconciler.quarterly import history, notify
from reconciler.quarterly.driverlog import driver_log_streams, job_log_tail
from reconciler.quarterly.steps import (
    apply_step,
    attach,
    crawl_step,
    gate_step,
    job_step,
    prepare,
    publish_step,
    refresh_step,
    review,
)
from reconciler.quarterly.types import EVENT_FORMAT_VERSION, EventSink, RunOptions, RunSummary, masked_events
from reconciler.spec.model import Pipeline


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
    """The steps in order (quarterly/steps.py); from apply on, under the pipeline lock."""
    run = prepare(pipeline, ctx, options, emit, summary)
    emit, recorder, run_id, label = run.emit, run.recorder, run.run_id, run.quarter
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
        apply_step(run, held, first, approved_destructive)
        attach(run)
        crawl_step(run, held)
        job_step(run, held)
        gate_step(run, held)
        publish_step(run, held)
        refresh_step(run)
    return summary


__all__ = [
    "EVENT_FORMAT_VERSION", "AwsError", "RunOptions", "RunSummary", "driver_log_streams", "job_log_tail",
    "run_pipeline",
]  # fmt: skip
