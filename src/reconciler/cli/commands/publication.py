"""`promote` and `unpublish`: change by hand what a quarter publishes, under the pipeline lock."""

from __future__ import annotations

import click

from reconciler.aws import lock as pipeline_lock
from reconciler.cli import messages
from reconciler.cli.app import Globals, pass_globals
from reconciler.cli.ask import confirm
from reconciler.cli.options import QUARTER
from reconciler.errors import GateError, PublishError
from reconciler.invocation import command
from reconciler.quarterly import converge, pointer, publish, refresh
from reconciler.quarterly import gate as quality_gate


@click.command()
@click.argument("run_id")
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Publish even over a newer published run of the same quarter.")
@click.option("--allow-failed-gate", is_flag=True, help="Publish a run that failed its quality gate.")
@click.option("--lock-timeout", type=float, default=0.0, show_default=True, help="Seconds to wait for the lock.")
@pass_globals
def promote(g: Globals, run_id: str, auto_approve: bool, force: bool, allow_failed_gate: bool,
            lock_timeout: float) -> None:  # fmt: skip
    """Publish RUN_ID for its quarter by hand (after a human looked at it, a run the Glue workflow
    started, or to roll the quarter back to an earlier run with --force). Other quarters stay as they are.
    A run that failed its quality gate needs --allow-failed-gate."""
    pipeline = g.load()
    ctx = g.context(pipeline)
    layout = publish.Layout.of(pipeline)
    report = pointer.read_report(ctx, layout, run_id)
    if report is None:
        raise PublishError(f"run {run_id} has no report: it did not finish, or does not exist",
                           hint=f"`{command('history')}` lists the runs")  # fmt: skip
    label = pointer.report_quarter(report)
    current = pointer.published_quarters(ctx, layout).get(label or "")
    gate = pointer.read_gate(ctx, layout, run_id)
    if gate is None and label is not None:  # a run started outside `reconcile run` (the workflow, the console)
        gate = quality_gate.judge(ctx, pipeline, layout, run_id, report, label).document
    messages.promote_preview(g.console, label, current, run_id, report)
    publish.check_not_older(ctx, layout, run_id, report, current, force=force)  # refused before asking
    if gate and not gate.get("passed"):
        messages.gate_failures(g.console, gate.get("failures", []))
        if not allow_failed_gate:
            raise GateError(
                f"run {run_id} failed its quality gate: nothing was published",
                hint=f"to publish it anyway: {command('promote', '--allow-failed-gate', run_id)}",
            )
    confirm(g.console, f"Publish run {run_id}?", auto_approve)
    with pipeline_lock.held(ctx, pipeline.bucket.name, "promote", timeout=lock_timeout):
        converge.converge(ctx, pipeline, layout, warn=g.warn)  # repair first: what a crash left is not ours to keep
        new = publish.promote(ctx, pipeline, layout, run_id, by="reconcile promote", force=force, warn=g.warn)
    messages.promoted(g.console, new)
    refresh.after_publish(ctx, pipeline, run_id, say=g.console.print)  # QuickSight SPICE ingestion, if declared


@click.command()
@click.argument("quarter", type=QUARTER)
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--lock-timeout", type=float, default=0.0, show_default=True, help="Seconds to wait for the lock.")
@pass_globals
def unpublish(g: Globals, quarter: str, auto_approve: bool, lock_timeout: float) -> None:
    """Withdraw QUARTER (YYYY-QN) from what is published: the pointer and the QuickSight manifest no
    longer name it, the data set is refreshed. Its runs and their data stay; `promote` publishes one again."""
    pipeline = g.load()
    ctx = g.context(pipeline)
    layout = publish.Layout.of(pipeline)
    current = pointer.published_quarters(ctx, layout).get(quarter)
    if current is None:  # said before asking; checked again under the lock
        publish.unpublish_check(ctx, layout, quarter)
    else:
        messages.published_now(g.console, quarter, current["run_id"])
    confirm(g.console, f"Withdraw {quarter} from what is published?", auto_approve)
    with pipeline_lock.held(ctx, pipeline.bucket.name, "unpublish", timeout=lock_timeout):
        gone = publish.unpublish(ctx, pipeline, layout, quarter, by="reconcile unpublish", warn=g.warn)
    messages.unpublished(g.console, quarter, gone)
    refresh.after_unpublish(ctx, pipeline, quarter, say=g.console.print)  # QuickSight SPICE ingestion, if declared


COMMANDS = (promote, unpublish)
