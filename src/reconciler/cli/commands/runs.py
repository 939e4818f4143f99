"""`history`, `show` and `outputs`: what the runs did, from their records, reports and objects in S3."""

from __future__ import annotations

import click

from reconciler.cli import messages
from reconciler.cli.app import Globals, pass_globals
from reconciler.cli.history_table import history_lines
from reconciler.cli.render import print_json
from reconciler.cli.run_render import show_lines
from reconciler.errors import PublishError
from reconciler.invocation import command
from reconciler.quarterly import history as run_history
from reconciler.quarterly import history_rows, pointer, publish


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable history on stdout.")
@click.option("--wide", is_flag=True, help="Every column: start time, step durations, rows, cost.")
@pass_globals
def history(g: Globals, as_json: bool, wide: bool) -> None:
    """Every run, from its run record in S3 (failed and interrupted ones too): quarter, how it ended, its
    duration, gate, and whether it is live (the run its quarter publishes now); --wide adds the start,
    step durations, rows and cost. Values are never shortened."""
    pipeline = g.load()
    ctx = g.context(pipeline)
    rows = history_rows.rows(ctx, publish.Layout.of(pipeline))
    if as_json:
        print_json({"format_version": "1", "pipeline": pipeline.name, "runs": rows})
        return
    messages.lines(history_lines(rows, wide=wide))


@click.command()
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="The run record, report and gate verdict as JSON.")
@pass_globals
def show(g: Globals, run_id: str, as_json: bool) -> None:
    """One run: its record, report (rejects by reason, brand shares), gate rules with observed and allowed
    values, outputs as s3:// URIs, and where its logs are."""
    pipeline = g.load()
    ctx = g.context(pipeline)
    layout = publish.Layout.of(pipeline)
    record = run_history.read_record(ctx, layout, run_id)
    report = pointer.read_report(ctx, layout, run_id)
    verdict = pointer.read_gate(ctx, layout, run_id)
    if record is None and report is None and verdict is None:
        raise PublishError(f"no run {run_id} under {layout.run_uri(run_id)}",
                           hint=f"`{command('history')}` lists the runs")  # fmt: skip
    record = record or {"run_id": run_id}
    report = report or {}
    outputs = history_rows.s3_outputs(layout, run_id, report)
    rules = history_rows.gate_rules(pipeline, report, verdict)
    logs = history_rows.log_locations(ctx, record)
    if as_json:
        print_json({"format_version": "1", "record": record, "report": report, "gate": verdict,
                    "gate_rules": rules, "outputs": outputs, "logs": logs})  # fmt: skip
        return
    published = run_id in pointer.published_run_ids(ctx, layout)
    messages.lines(show_lines(run_id, record, report, verdict, rules, outputs, logs, published=published))


@click.command()
@click.argument("run_id", required=False)
@click.option("--all", "every_object", is_flag=True, help="List every object, not a summary per folder.")
@click.option("--json", "as_json", is_flag=True, help="Every object with its s3:// URI and size, as JSON.")
@pass_globals
def outputs(g: Globals, run_id: str | None, every_object: bool, as_json: bool) -> None:
    """What a run wrote: RUN_ID's objects, or without it those of every published quarter's run, with sizes
    and s3:// URIs (per folder; every object with --all)."""
    from reconciler.quarterly import outputs as run_outputs

    pipeline = g.load()
    found = run_outputs.outputs(g.context(pipeline), publish.Layout.of(pipeline), run_id)
    if as_json:
        print_json({"format_version": "1", "pipeline": pipeline.name, "runs": [r.as_json() for r in found]})
        return
    messages.lines(run_outputs.render(found, every_object=every_object))


COMMANDS = (history, show, outputs)
