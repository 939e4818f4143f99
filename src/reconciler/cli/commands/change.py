"""`plan`, `apply` and `destroy`: what differs from the spec, making it so, and deleting what it owns."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from reconciler.aws import lock as pipeline_lock
from reconciler.aws.context import AwsContext
from reconciler.cli import apply_render, messages
from reconciler.cli.app import Globals, pass_globals
from reconciler.cli.ask import confirm, confirm_broadening
from reconciler.cli.plan_header import target_line
from reconciler.cli.render import print_json, render_plan
from reconciler.engine import running
from reconciler.engine.apply import check_applicable, raise_for_result
from reconciler.engine.locked import ApplyOptions, locked_apply, locked_destroy
from reconciler.engine.plan import Plan, build_plan
from reconciler.engine.security import broadening
from reconciler.errors import EXIT_CHANGES, EXIT_OK, StalePlanError, UsageError
from reconciler.invocation import command
from reconciler.quarterly import converge
from reconciler.quarterly.estimate import cost_estimate, estimate_lines
from reconciler.spec.model import Pipeline
from reconciler.spec.unused import unused_notes


def parse_adopt(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(values)


target_option = click.option(
    "--target", multiple=True, metavar="ADDRESS",
    help="Only this resource (KIND.NAME, repeatable) and the kinds it depends on, as Terraform's -target.",
)  # fmt: skip


def _plan(g: Globals, pipeline: Pipeline, ctx: AwsContext, **kwargs: Any) -> Plan:
    with apply_render.reading(g.err_console):
        return build_plan(pipeline, ctx, **kwargs)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable plan on stdout.")
@click.option("--out", type=click.Path(path_type=Path), help="Save the plan (with a fingerprint of the live state).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 no changes, 1 error or conflict, 2 changes.")
@click.option("--adopt", multiple=True, metavar="ADDRESS", help="Plan taking over an unowned resource (or 'all').")
@click.option("--destroy", "plan_destroy", is_flag=True, help="Plan the destruction of everything this pipeline owns.")
@click.option("--force", is_flag=True, help="Plan deletes of buckets that hold objects.")
@target_option
@pass_globals
def plan(
    g: Globals, as_json: bool, out: Path | None, detailed_exitcode: bool, adopt: tuple[str, ...], plan_destroy: bool,
    force: bool, target: tuple[str, ...],
) -> None:  # fmt: skip
    """Show what apply would change, attribute by attribute."""
    pipeline = g.load()
    ctx = g.context(pipeline)
    apply_render.targeting(g.err_console, target)
    the_plan = _plan(
        g, pipeline, ctx, adopt=parse_adopt(adopt), force=force, destroy=plan_destroy, targets=frozenset(target)
    )
    document = the_plan.to_json()
    if out:
        out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    estimate = None if plan_destroy else cost_estimate(pipeline, ctx)  # never fails the plan
    if as_json:
        print_json(document if estimate is None else {**document, "cost_estimate": estimate})
    else:
        apply_render.target(g.console, target_line(ctx, local=g.local))
        messages.notes(g.console, unused_notes(pipeline), style="dim")
        render_plan(g.console, the_plan)
        apply_render.estimate(g.console, estimate_lines(estimate) if estimate is not None else [])
        if out:
            apply_render.saved(g.console, out)
    if detailed_exitcode:  # a conflict is not a change to make: apply refuses it, so say so and exit 1
        check_applicable(the_plan)
    if detailed_exitcode and the_plan.has_changes:
        sys.exit(EXIT_CHANGES)
    sys.exit(EXIT_OK)


@click.command()
@click.argument("planfile", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--adopt", multiple=True, metavar="ADDRESS", help="Take over an unowned resource (or 'all').")
@click.option("--force", is_flag=True, help="Allow deleting undeclared buckets that still hold objects.")
@click.option("--lock-timeout", type=float, default=0.0, show_default=True, help="Seconds to wait for the lock.")
@click.option("--approve-broadening", is_flag=True, help="Accept changes that widen access without asking.")
@target_option
@pass_globals
def apply(
    g: Globals, planfile: Path | None, auto_approve: bool, adopt: tuple[str, ...], force: bool, lock_timeout: float,
    approve_broadening: bool, target: tuple[str, ...],
) -> None:  # fmt: skip
    """Make the live state match the spec (or apply a saved plan)."""
    saved = read_saved_plan(planfile) if planfile is not None else None  # before any AWS call
    if planfile is not None:
        refuse_options_with_saved_plan(planfile, target=target, adopt=adopt, force=force)
    made = saved.get("options") if saved is not None else None
    made = made if isinstance(made, dict) else {}
    destroying = bool(made.get("destroy"))
    if saved is not None:  # the saved plan's own options (an older saved plan has none: the defaults)
        target, adopt = tuple(made.get("targets") or ()), tuple(made.get("adopt") or ())
        force = bool(made.get("force"))
    pipeline = g.load()
    ctx = g.context(pipeline)
    apply_render.targeting(g.err_console, target)
    approved = _plan(
        g, pipeline, ctx, adopt=parse_adopt(adopt), force=force, observe_serial=auto_approve and planfile is None,
        targets=frozenset(target), destroy=destroying,
    )  # fmt: skip
    if saved is not None:
        again = (f"make the plan again and review it: {command('plan', '--out', str(planfile))}, "
                 f"then {command('apply', str(planfile))}")  # fmt: skip
        if saved.get("spec_sha256") != pipeline.spec_sha256:
            raise StalePlanError(f"{planfile} was made from a different spec; nothing was applied", hint=again)
        if saved.get("live_state_fingerprint") != approved.fingerprint:
            raise StalePlanError(f"the live state changed since {planfile} was made; nothing was applied",
                                 hint=again)  # fmt: skip
    render_plan(g.console, approved)
    if not approved.has_changes:
        if not destroying:
            converge_published(g, pipeline, ctx, lock_timeout)
        return
    confirm_broadening(g.console, approved, auto_approve, approve_broadening)
    if planfile is None:
        confirm(g.console, "Do you want to perform these actions?", auto_approve)
    options = ApplyOptions(
        auto_approve=auto_approve, saved_plan=planfile is not None, force=force, adopt=parse_adopt(adopt),
        lock_timeout=lock_timeout, targets=frozenset(target), approve_broadening=approve_broadening,
        approved_broadening=frozenset(broadening(approved.changes)),  # what the person was shown and accepted
    )  # fmt: skip
    if destroying:  # `plan --destroy --out FILE`: the saved destroy plan, checked and executed as destroy does
        result = locked_destroy(pipeline, ctx, approved, replace(options, operation="destroy"),
                                **_progress_hooks(g, ctx))  # fmt: skip
        apply_render.summary(g.console, result, "Destroy")
        raise_for_result(result, "destroy")  # after a failed destroy: destroy again, never apply
        return
    executed, result = locked_apply(pipeline, ctx, approved, options, **_progress_hooks(g, ctx))
    overtaken = approved.has_changes and not executed.has_changes
    apply_render.summary(g.console, result, "Apply", overtaken=overtaken)
    raise_for_result(result)
    converge_published(g, pipeline, ctx, lock_timeout)


def refuse_options_with_saved_plan(planfile: Path, *, target: tuple[str, ...], adopt: tuple[str, ...],
                                   force: bool) -> None:  # fmt: skip
    """A saved plan is applied exactly as it was made (Terraform refuses -target with a saved plan too):
    what to target, adopt or force belongs to the `plan` that made it."""
    given = [f"--target {t}" for t in target] + [f"--adopt {a}" for a in adopt] + (["--force"] if force else [])
    if given:
        raise UsageError(
            f"{' '.join(given)} cannot be combined with the saved plan {planfile}: a saved plan is applied exactly "
            "as it was made; nothing was applied",
            hint=f"make the plan with them: {command('plan', *' '.join(given).split(), '--out', str(planfile))}",
        )


def converge_published(g: Globals, pipeline: Pipeline, ctx: AwsContext, lock_timeout: float) -> None:
    """Level-based publication: when the QuickSight manifest no longer matches the publish pointer (a
    crash between their writes), make it match, under the lock. Costs two GETs when it matches."""
    if not converge.manifest_stale(ctx, pipeline):
        return
    with pipeline_lock.held(ctx, pipeline.bucket.name, "converge", timeout=lock_timeout):
        if converge.converge_if_possible(ctx, pipeline, warn=g.warn):
            apply_render.converged(g.console)


def read_saved_plan(planfile: Path) -> dict[str, Any]:
    """A plan saved by `plan --out`: a JSON object with the spec's hash and the live state's fingerprint.
    Anything else (garbage, another JSON document, a file that cannot be read) is a stale plan: nothing
    is applied, and the way out is to make the plan again."""
    hint = f"make it again: {command('plan', '--out', str(planfile))}"
    try:
        saved = json.loads(planfile.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StalePlanError(f"{planfile} is not a saved plan ({exc}); nothing was applied", hint=hint) from exc
    missing = [k for k in ("spec_sha256", "live_state_fingerprint") if not isinstance(saved, dict) or k not in saved]
    if missing:
        raise StalePlanError(
            f"{planfile} is not a saved plan (no {' or '.join(missing)}); nothing was applied", hint=hint
        )
    return dict(saved)


def _progress_hooks(g: Globals, ctx: AwsContext) -> dict[str, Any]:
    """What apply and destroy report while they work: each change, upload bytes, lock waits."""
    return {
        "on_event": apply_render.ApplyReporter(g.console).attach(ctx),
        "on_wait": lambda holder: messages.lock_wait(g.err_console, holder),
    }


@click.command()
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Also delete the bucket when it still holds objects (data is lost).")
@click.option("--lock-timeout", type=float, default=0.0, show_default=True, help="Seconds to wait for the lock.")
@click.option("--stop-running", is_flag=True,
              help="Stop the job runs and crawls still running in what is destroyed, and wait for them, first.")
@pass_globals
def destroy(g: Globals, auto_approve: bool, force: bool, lock_timeout: float, stop_running: bool) -> None:
    """Delete everything this pipeline owns (tagged as its own), in reverse dependency order. A job run or
    crawl still running in it is refused, named, unless --stop-running."""
    pipeline = g.load()
    ctx = g.context(pipeline)
    approved = _plan(g, pipeline, ctx, force=force, destroy=True)
    render_plan(g.console, approved)
    if not approved.has_changes:
        return
    found = running.find_running(ctx, approved)
    if not stop_running:
        running.refuse_running(ctx, found)  # before asking: nothing is deleted under a running job
    for r in found:
        apply_render.running_work(g.console, "Stopped first (--stop-running):", r)
    if any(c.action == "delete" for c in approved.changes):
        confirm(g.console, "Do you really want to destroy these resources?", auto_approve)
    options = ApplyOptions(auto_approve=auto_approve, force=force, lock_timeout=lock_timeout, operation="destroy",
                           stop_running=stop_running)  # fmt: skip
    result = locked_destroy(pipeline, ctx, approved, options, **_progress_hooks(g, ctx),
                            on_stopping=lambda r: apply_render.running_work(g.console, "Stopping", r))
    apply_render.summary(g.console, result, "Destroy")  # the outcome is known: complete or not
    raise_for_result(result, "destroy")


COMMANDS = (plan, apply, destroy)
