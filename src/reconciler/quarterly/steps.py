"""The quarterly run's steps, each on one screen: prepare, apply, attach, crawl, job, gate, publish, refresh.

`run.py` calls them in order, under the pipeline lock from `apply` on. `Run` is what they share.
"""

from __future__ import annotations

import difflib
import functools
import time
from dataclasses import dataclass
from typing import Any

from reconciler.aws import lock
from reconciler.aws.context import AwsContext
from reconciler.aws.wait import Deadline
from reconciler.engine.apply import check_applicable, raise_for_result
from reconciler.engine.destructive import destructive
from reconciler.engine.locked import ApplyOptions, apply_held
from reconciler.engine.plan import Plan
from reconciler.errors import ApprovalError, AwsApiError, GateError, ReconcilerError, RunError
from reconciler.failures import outcome
from reconciler.invocation import command
from reconciler.quarterly import converge, history, pointer, publish, quarters, refresh
from reconciler.quarterly import gate as quality_gate
from reconciler.quarterly.glue_runs import attachable_job_run, crawl, start_job, wait_job
from reconciler.quarterly.role_retry import changes_role, once_more_if_role_not_ready
from reconciler.quarterly.types import EventSink, RunOptions, RunSummary, masked_events
from reconciler.resources import upload
from reconciler.spec.model import Pipeline


@dataclass
class Run:
    """One run's state, shared by its steps. `run_id` changes when the run attaches to a killed run's job run."""

    pipeline: Pipeline
    ctx: AwsContext
    options: RunOptions
    summary: RunSummary
    emit: EventSink
    recorder: history.Recorder
    layout: publish.Layout
    deadline: Deadline
    job: str
    crawlers: list[str]
    run_id: str
    quarter: str
    role_changed_at: float | None = None  # monotonic end of an apply that changed the Glue role
    attached: tuple[dict[str, Any], str] | None = None  # (job run, run id)

    def step(self, name: str) -> _Step:
        return _Step(name, self.summary, self.emit)

    def warn(self, message: str) -> None:  # a local convenience copy that could not be written: never fatal
        self.summary.warnings.append(message)
        self.emit("warning", {"message": message})


def prepare(pipeline: Pipeline, ctx: AwsContext, options: RunOptions, emit: EventSink,
            summary: RunSummary) -> Run:  # fmt: skip
    """Everything checked before anything is applied, started or billed; the run record begins to follow."""
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
    run = Run(pipeline, ctx, options, summary, recorder.wrap(emit), recorder, layout, deadline, job, crawler_names,
              run_id, label)  # fmt: skip
    # Render the manifest first: a broken template should fail in a second, not after an hour-long job.
    if pipeline.quicksight.manifest is not None:
        from reconciler.spec.manifest import manifest_for

        manifest_for(converge.run_pipeline_view(pipeline, layout, run_id))
    ends = quarters.bounds(label)[1]
    if ends >= quarters.run_time(ctx).date():  # the export of a quarter still running is not complete
        run.warn(f"quarter {label} is not over yet (it ends {ends.isoformat()}): its data may be incomplete, and a "
                 "run after its end processes it again")  # fmt: skip
    return run


def apply_step(run: Run, held: lock.Held, first: Plan | None, approved_destructive: list[str]) -> None:
    """Reconcile (unless --skip-apply), then what the apply may have changed: ingested data, publication."""
    pipeline, ctx = run.pipeline, run.ctx
    if first is not None:
        with run.step("apply"):
            run.summary.plan = reconcile_under_lock(pipeline, ctx, run.emit, run.options, first, held,
                                                    approved_destructive)  # fmt: skip
        if changes_role(run.summary.plan):
            run.role_changed_at = time.monotonic()
    if first is not None:
        quarters.check_ingested(ctx, pipeline, run.job, run.quarter, local_too=False)  # uploaded by the apply
    if converge.converge(ctx, pipeline, run.layout, warn=run.warn):  # repair a crash between pointer and manifest
        run.emit("converged", {"manifest": pipeline.quicksight.manifest.key if pipeline.quicksight.manifest else None})


def attach(run: Run) -> None:
    """A job run this pipeline started for this quarter, still going (its run was killed): attach to it, take its
    run id and output prefix, and gate and publish it. Any other run in progress is refused, named."""
    run.attached = attachable_job_run(run.ctx, run.job, run.layout, run.quarter)
    if run.attached is not None:
        run.run_id = run.summary.run_id = run.attached[1]
        run.emit("job_attached", {"job": run.job, "job_run_id": run.attached[0]["Id"], "run_id": run.run_id,
                                  "adopted": True})  # fmt: skip


def crawl_step(run: Run, held: lock.Held) -> None:
    with run.step("crawl"):
        held.check("starting the crawl")  # a holder that lost its lease stops before its next write
        for name in run.crawlers if run.attached is None else []:  # an attached run's crawl is done
            last = once_more_if_role_not_ready(
                functools.partial(crawl, run.ctx, name, run.deadline, run.options, run.emit), run.role_changed_at,
                "crawl", run.emit,
            )  # fmt: skip
            run.summary.crawls[name] = str(last.get("Status"))


def job_step(run: Run, held: lock.Held) -> None:
    with run.step("job"):
        # Ours win: where a run writes is what write-audit-publish is about.
        ours = {"--output_path": run.layout.run_uri(run.run_id), "--run_id": run.run_id, "--run_quarter": run.quarter}
        arguments = dict(run.options.job_arguments) | ours
        held.check("starting the job")
        if run.attached:  # an attached run was started before this run changed anything: no retry
            _start_and_wait(run, arguments, run.attached[0]["Id"])
        else:
            once_more_if_role_not_ready(lambda: _start_and_wait(run, arguments, None), run.role_changed_at, "job",
                                        run.emit)  # fmt: skip


def _start_and_wait(run: Run, arguments: dict[str, str], first_run: str | None) -> None:
    job_run_id = first_run or start_job(run.ctx, run.job, arguments, run.emit, run.layout)
    run.summary.job_run_id = job_run_id
    wait_job(run.ctx, run.job, job_run_id, run.deadline, run.options, run.emit)


def gate_step(run: Run, held: lock.Held) -> None:
    layout, run_id = run.layout, run.run_id
    with run.step("gate"):
        report = pointer.read_report(run.ctx, layout, run_id, written=True)  # the job run succeeded
        if report is None:
            raise RunError(f"the job wrote no report at s3://{layout.bucket}/{layout.run_key(run_id, pointer.REPORT)}")
        run.summary.report = report

        def compared_with(compared: tuple[str, str] | None) -> None:
            run.emit("gate", {"quarter": run.quarter, "compared_with": None if compared is None else
                              {"quarter": compared[0], "run_id": compared[1]}})  # fmt: skip

        verdict = quality_gate.judge(run.ctx, run.pipeline, layout, run_id, report, run.quarter,
                                     on_compared=compared_with,
                                     before_write=lambda: held.check("writing the gate's verdict"))  # fmt: skip
        failures = verdict.failures
        if failures:
            raise GateError(
                f"run {run_id} failed the quality gate; nothing published changed:\n"
                + "\n".join(f"  {f}" for f in failures),
                hint=f"inspect {layout.run_uri(run_id)}; publish it anyway with: {command('promote', run_id)}",
            )


def publish_step(run: Run, held: lock.Held) -> None:
    pipeline, ctx = run.pipeline, run.ctx
    with run.step("publish"):
        check_publishable(pipeline, ctx, run.layout, run.run_id)
        held.check("publishing")
        publish.promote(ctx, pipeline, run.layout, run.run_id, by="reconcile run", warn=run.warn)
        run.summary.published = True
        if pipeline.quicksight.manifest is not None:
            run.summary.manifest_uri = f"s3://{pipeline.bucket.name}/{pipeline.quicksight.manifest.key}"
            run.summary.manifest_path = str(pipeline.quicksight.manifest.output)


def refresh_step(run: Run) -> None:
    """QuickSight SPICE ingestion of spec.quicksight.dataset (quarterly/refresh.py), then retention."""
    if run.pipeline.quicksight.dataset is not None:
        with run.step("refresh"):
            refresh.after_publish(run.ctx, run.pipeline, run.run_id, run.emit)
    run.summary.removed_runs = publish.apply_retention(run.ctx, run.layout, run.pipeline.publish.keep_quarters)
    if run.summary.removed_runs:
        run.emit("retention", {"removed_runs": run.summary.removed_runs})


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
    from reconciler.spec.manifest_data import check_prefix_objects

    view = converge.run_pipeline_view(pipeline, layout, run_id).quicksight.manifest
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
