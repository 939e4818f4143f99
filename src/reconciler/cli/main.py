"""`reconcile`: the command line. Thin: parse options, call the library, map errors to exit codes."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Concatenate, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from reconciler.aws import lock as pipeline_lock
from reconciler.aws.context import AwsContext
from reconciler.cli.boundary import DEBUG_ENV, ReconcilerGroup, Terminated, interrupt_exit_code, interrupt_of
from reconciler.cli.history_table import history_lines
from reconciler.cli.options import QUARTER
from reconciler.cli.plan_header import target_line
from reconciler.cli.progress import RunProgress, short_id
from reconciler.cli.render import make_console, print_json, render_plan
from reconciler.engine import running
from reconciler.engine.apply import ApplyResult, check_applicable, raise_for_result
from reconciler.engine.diff import Change
from reconciler.engine.locked import ApplyOptions, locked_apply, locked_destroy
from reconciler.engine.plan import Plan, build_plan
from reconciler.engine.security import broadening
from reconciler.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    ApprovalError,
    GateError,
    LocalEndpointError,
    PublishError,
    ReconcilerError,
    StalePlanError,
    UsageError,
)
from reconciler.invocation import command, local_command, program, set_global_args, set_program
from reconciler.masking import mask_text, mask_value
from reconciler.quarterly import history as run_history
from reconciler.quarterly import publish, refresh
from reconciler.quarterly.estimate import cost_estimate, estimate_lines
from reconciler.quarterly.run import RunOptions, RunSummary, run_pipeline
from reconciler.quarterly.run import outcome as run_outcome
from reconciler.spec.checks import run_argument_problems
from reconciler.spec.model import MANAGED_TAG, OWNER_TAG, Pipeline
from reconciler.spec.unused import unused_notes

LOCAL_STATE_DIR = Path(".reconciler")
DEFAULT_SPEC = Path("pipeline.yaml")
#: how the CLI builds its AWS context; benchmarks swap it to count calls
context_factory: type[AwsContext] = AwsContext


@dataclass
class Globals:
    spec_file: Path
    endpoint_url: str | None
    local: bool
    region: str | None
    profile: str | None
    console: Console
    err_console: Console
    no_color: bool = False
    debug: bool = False

    def merged(self, spec_file: Path | None, endpoint_url: str | None, local: bool, region: str | None,
               profile: str | None, no_color: bool, debug: bool) -> Globals:  # fmt: skip
        """These options given after the command win over the same options given before it."""
        no_color = no_color or self.no_color
        return Globals(
            spec_file=spec_file if spec_file is not None else self.spec_file,
            endpoint_url=endpoint_url if endpoint_url is not None else self.endpoint_url,
            local=local or self.local, region=region if region is not None else self.region,
            profile=profile if profile is not None else self.profile,
            console=self.console if no_color == self.no_color else make_console(no_color),
            err_console=self.err_console if no_color == self.no_color else make_console(no_color, stderr=True),
            no_color=no_color, debug=debug or self.debug,
        )  # fmt: skip

    def check(self) -> None:
        if self.local and self.endpoint_url:
            raise click.UsageError("--local and --endpoint-url exclude each other")

    def warn(self, message: str) -> None:
        """A warning on stderr: something went wrong that does not fail the command."""
        self.err_console.print(f"[bold yellow]Warning:[/] {escape(message)}")

    def global_args(self) -> list[str]:
        """The options to repeat in a suggested command so that it reaches the same pipeline the same way."""
        words: list[str] = []
        if self.spec_file != DEFAULT_SPEC:
            words += ["-f", str(self.spec_file)]
        if self.local:
            words.append("--local")
        if self.endpoint_url:
            words += ["--endpoint-url", self.endpoint_url]
        if self.region:
            words += ["--region", self.region]
        if self.profile:
            words += ["--profile", self.profile]
        return words

    def load(self) -> Pipeline:
        """The spec; its warnings (a literal secret) on stderr, located like problems, for every command."""
        from reconciler.spec.load import load_spec

        pipeline = load_spec(self.spec_file)
        self.check_region(pipeline)
        for warning in pipeline.warnings:
            self.err_console.print(f"[yellow]{escape(str(warning))}[/]")
        return pipeline

    def check_region(self, pipeline: Pipeline) -> None:
        """`--region` may only repeat metadata.region: a pipeline lives in one region (its bucket, its role's
        and Glue resources' ARNs, its lock), so a second region on the command line would move some of it and
        not the rest. The spec's region can come from the environment instead: ${AWS_REGION:-eu-central-1}."""
        if self.region is None or self.region == pipeline.region:
            return
        raise UsageError(
            f"--region {self.region} differs from metadata.region {pipeline.region!r} of {self.spec_file}; "
            "a pipeline lives in one region, so --region may only repeat it",
            hint="change metadata.region (e.g. region: ${AWS_REGION:-" + pipeline.region + "} and "
            f"AWS_REGION={self.region} in the environment), or leave --region out",
        )

    def local_state_dir(self) -> Path:
        """Where the spec's local endpoint lives: `<spec dir>/.reconciler/`, from whatever working directory, so
        `-f /path/pipeline.yaml --local` always reaches /path's endpoint (and its saved state)."""
        return self.spec_file.absolute().parent / LOCAL_STATE_DIR

    def context(self, pipeline: Pipeline | None, region: str | None = None) -> AwsContext:
        """`region` stands in for metadata.region when there is no spec yet (`reconcile import`)."""
        endpoint = self.endpoint_url
        if self.local and endpoint is None:
            state_dir = self.local_state_dir()
            state, started = local_lifecycle().ensure_running_state(state_dir)
            endpoint = state.url
            self.save_local_state_on_exit(state.url)
            if started:
                self.err_console.print(escape(
                    f"Started the local AWS endpoint at {state.url} (pid {state.pid}, state in {state_dir}/); "
                    f"stop it with: {local_command('down')}"))
        if endpoint is not None and self.local:
            # The local endpoint accepts any credentials: never send real ones to it.
            os.environ["AWS_ACCESS_KEY_ID"] = "testing"
            os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
            os.environ.pop("AWS_SESSION_TOKEN", None)
        region = self.region or (pipeline.region if pipeline is not None else region)
        return context_factory(region=region or "", endpoint_url=endpoint, profile=self.profile)


    def save_local_state_on_exit(self, url: str) -> None:
        """When the command ends (done, failed or interrupted), the local endpoint writes its state to disk and
        the command waits for it. In a one-command container (`docker run ... --local run`) the endpoint dies
        with the command, SIGKILLed, before its own saver's next turn."""
        context = click.get_current_context(silent=True)
        if context is None:
            return
        root = context.find_root()
        if root.meta.get(LOCAL_SAVE_KEY) == url:
            return
        root.meta[LOCAL_SAVE_KEY] = url

        def save() -> None:
            try:
                local_lifecycle().save(url)
            except LocalEndpointError as error:
                self.warn(f"{error}; the endpoint's last changes may be lost if it stops now")

        root.call_on_close(save)


LOCAL_SAVE_KEY = "reconciler.local-endpoint-save"


def local_lifecycle() -> ModuleType:
    """The embedded endpoint's lifecycle module, imported only when needed: it is an optional extra."""
    if importlib.util.find_spec("moto") is None:
        raise LocalEndpointError(
            "the local endpoint is not installed: pip install 'pipeline-reconciler[local]'",
            hint="or point the tool at another endpoint with --endpoint-url URL",
        )
    try:
        import reconciler_local.lifecycle as lifecycle
    except ImportError as exc:
        raise LocalEndpointError(
            f"the local endpoint is not installed ({exc}): pip install 'pipeline-reconciler[local]'"
        ) from exc
    return lifecycle


P = ParamSpec("P")
R = TypeVar("R")


def global_options(*, top: bool) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """The global options, accepted before the command (`top`, on the group) and after it (on every
    command, merged into the group's values: `reconcile plan --local -f other.yaml`)."""
    options = [
        click.option("-f", "--file", "spec_file", default=DEFAULT_SPEC if top else None, show_default=top,
                     type=click.Path(path_type=Path), help="The pipeline spec."),
        click.option("--endpoint-url", default=None, help="AWS endpoint (default: boto3's chain, AWS_ENDPOINT_URL)."),
        click.option("--local", is_flag=True, help="Use the embedded local AWS endpoint, starting it if needed."),
        click.option("--region", default=None, help="Must equal metadata.region (refused when it differs)."),
        click.option("--profile", default=None, help="AWS profile (default: boto3's chain)."),
        click.option("--no-color", is_flag=True, help="No colours (NO_COLOR is honoured too)."),
        click.option("--debug", is_flag=True, help=f"Show the traceback of an error ({DEBUG_ENV}=1 too)."),
    ]  # fmt: skip

    def decorate(f: Callable[..., R]) -> Callable[..., R]:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


GLOBAL_NAMES = ("spec_file", "endpoint_url", "local", "region", "profile", "no_color", "debug")


def pass_globals(f: Callable[Concatenate[Globals, P], R]) -> Callable[..., R]:
    """Pass the command the global options in force: the group's, overridden by any given after the
    command. Also records them for the hints (`reconciler.invocation.command`)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        given = {name: kwargs.pop(name) for name in GLOBAL_NAMES}
        ctx = click.get_current_context()
        g = ctx.find_object(Globals)
        assert g is not None, "the group callback creates Globals"
        g = g.merged(**given)
        g.check()
        ctx.obj = g
        set_global_args(g.global_args())
        return f(g, *args, **kwargs)

    return global_options(top=False)(wrapper)


def confirm(console: Console, question: str, auto_approve: bool) -> None:
    """Ask on a TTY; refuse without one unless --auto-approve (CI-safe)."""
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise ApprovalError(
            "refusing to change anything without confirmation: no terminal to ask on",
            hint="pass --auto-approve to run unattended",
        )
    console.print(f"[bold]{question}[/] Only 'yes' will be accepted.")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        raise ApprovalError("cancelled: nothing was changed")


class ApplyReporter:
    """Progress of an apply: one line per change, and byte progress bars for uploads."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started: dict[str, float] = {}
        self.progress: Progress | None = None
        self.tasks: dict[str, Any] = {}
        self.lock = threading.Lock()

    def attach(self, ctx: AwsContext) -> ApplyReporter:
        ctx.on_upload_bytes = self.upload_bytes
        return self

    def __call__(self, change: Change, phase: str, error: BaseException | None) -> None:
        if phase == "start":
            self.started[change.address] = time.monotonic()
            if change.kind == "upload" and change.desired is not None:
                self._start_bar(change)
            return
        took = time.monotonic() - self.started.get(change.address, time.monotonic())
        if change.kind == "upload":
            self._stop_bar(change.name)
        if phase == "done":
            self.console.print(f"[green]✓[/] {change.address}: {change.action} done ({took:.1f}s)")
        else:
            self.console.print(f"[red]✗[/] {change.address}: {change.action} failed: {error}")

    def _start_bar(self, change: Change) -> None:
        assert change.desired is not None
        objects = change.desired.attrs["objects"]
        keys = {a.keys[1] for a in change.attrs if len(a.keys) > 1} if change.attrs else set(objects)
        total = sum(objects[k]["size"] for k in keys if k in objects)
        with self.lock:
            if self.progress is None:
                self.progress = Progress(
                    TextColumn("  uploading {task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), console=self.console, transient=True,
                )  # fmt: skip
                self.progress.start()
            self.tasks[change.name] = self.progress.add_task(change.name, total=total)

    def upload_bytes(self, name: str, n: int) -> None:
        with self.lock:
            if self.progress is not None and name in self.tasks:
                self.progress.advance(self.tasks[name], n)

    def _stop_bar(self, name: str) -> None:
        with self.lock:
            if self.progress is None:
                return
            task = self.tasks.pop(name, None)
            if task is not None:
                self.progress.remove_task(task)
            if not self.tasks:
                self.progress.stop()
                self.progress = None


def summary_line(result: ApplyResult, verb: str, *, overtaken: bool = False) -> str:
    """Terraform's words: `Apply complete! Resources: 1 added, 2 changed, 0 destroyed.` (a replacement
    counts as one added and one destroyed). `overtaken`: the plan shown had changes, and another apply
    made them while this one waited for the lock."""
    added = sum(1 for c in result.done if c.action in ("create", "replace"))
    changed = sum(1 for c in result.done if c.action in ("update", "adopt"))
    destroyed = sum(1 for c in result.done if c.action in ("delete", "replace"))
    destroyed += sum(len(c.deleted_objects) for c in result.done)  # objects an upload pruned
    counted = f"{added} added, {changed} changed, {destroyed} destroyed"
    if result.ok:
        resources = f"{destroyed} destroyed" if verb == "Destroy" else counted
        line = f"{verb} complete! Resources: {resources}."
        if overtaken:
            line += " Another apply made the planned changes while this one waited for the lock."
        return line
    return f"{verb} incomplete: {counted}, {len(result.failed)} failed, {len(result.blocked)} refused."


def parse_adopt(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(values)


target_option = click.option(
    "--target", multiple=True, metavar="ADDRESS",
    help="Only this resource (KIND.NAME, repeatable) and the kinds it depends on, as Terraform's -target.",
)  # fmt: skip


def warn_targeting(g: Globals, targets: tuple[str, ...]) -> None:
    if targets:
        g.err_console.print(
            "[yellow]Resource targeting is in effect:[/] only "
            + ", ".join(targets)
            + " and what they depend on are planned; the rest of the pipeline may still differ from the spec."
        )


@click.group(cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@global_options(top=True)
@click.version_option(package_name="pipeline-reconciler")
@click.pass_context
def cli(
    ctx: click.Context,
    spec_file: Path,
    endpoint_url: str | None,
    local: bool,
    region: str | None,
    profile: str | None,
    no_color: bool,
    debug: bool,
) -> None:
    """Keep an AWS Glue batch pipeline exactly as pipeline.yaml declares it, and run it every quarter.

    The global options (-f, --local, --endpoint-url, --region, --profile, --no-color, --debug) may be
    given before or after the command.

    \b
    Examples:
      reconcile --local run          the quarterly run, on the local endpoint
      reconcile plan                 what differs from pipeline.yaml, in AWS
      reconcile --local history      every run (show RUN_ID: one of them)
      reconcile --local run --quarter 2026-Q4
    """
    g = Globals(
        spec_file, endpoint_url, local, region, profile, make_console(no_color),
        make_console(no_color, stderr=True), no_color=no_color, debug=debug,
    )  # fmt: skip
    g.check()
    ctx.obj = g
    set_global_args(g.global_args())


@cli.command()
@pass_globals
def validate(g: Globals) -> None:
    """Check the spec (schema and semantics). No AWS calls."""
    pipeline = g.load()
    g.console.print(f"[green]Valid:[/] {g.spec_file} (pipeline {pipeline.name!r}, apiVersion reconciler/v1)")
    for note in unused_notes(pipeline):
        g.console.print(f"Note: {note}", markup=False)
    if pipeline.schedule is not None and pipeline.schedule.in_aws:
        g.console.print(
            f"Note: spec.schedule.in_aws is true: Glue workflow {pipeline.schedule.workflow!r} is the one scheduler; "
            "`reconcile run` without --quarter (the cron line, the GitHub workflow) refuses to run, so do not "
            "schedule it too (docs/scheduling.md)."
        )


def _plan(g: Globals, pipeline: Pipeline, ctx: AwsContext, **kwargs: Any) -> Plan:
    with g.err_console.status("Reading live state…", spinner="dots"):
        return build_plan(pipeline, ctx, **kwargs)


@cli.command()
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
    warn_targeting(g, target)
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
        g.console.print(target_line(ctx, local=g.local), markup=False, style="dim")
        for note in unused_notes(pipeline):
            g.console.print(f"Note: {note}", markup=False, style="dim")
        render_plan(g.console, the_plan)
        for line in estimate_lines(estimate) if estimate is not None else []:
            g.console.print(line, markup=False)
        if out:
            g.console.print(f"Saved the plan to {out}; apply it with: {command('apply', str(out))}", markup=False)
    if detailed_exitcode:  # a conflict is not a change to make: apply refuses it, so say so and exit 1
        check_applicable(the_plan)
    if detailed_exitcode and the_plan.has_changes:
        sys.exit(EXIT_CHANGES)
    sys.exit(EXIT_OK)


@cli.command()
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
    warn_targeting(g, target)
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
        g.console.print(f"[bold]{summary_line(result, 'Destroy')}[/]")
        raise_for_result(result, "destroy")  # after a failed destroy: destroy again, never apply
        return
    executed, result = locked_apply(pipeline, ctx, approved, options, **_progress_hooks(g, ctx))
    overtaken = approved.has_changes and not executed.has_changes
    g.console.print(f"[bold]{summary_line(result, 'Apply', overtaken=overtaken)}[/]")
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
    if not publish.manifest_stale(ctx, pipeline):
        return
    with pipeline_lock.held(ctx, pipeline.bucket.name, "converge", timeout=lock_timeout):
        if publish.converge_if_possible(ctx, pipeline, warn=g.warn):
            g.console.print("Converged the QuickSight manifest with the publish pointer.")


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


def confirm_broadening(console: Console, plan: Plan, auto_approve: bool, approved: bool) -> None:
    """Changes that widen access need their own yes (`cdk deploy --require-approval broadening`)."""
    reasons = broadening(plan.changes)
    if not reasons or approved:
        return
    console.print("[bold red]This plan widens access:[/]")
    for reason in reasons:
        console.print(f"  [red]![/] {reason}")
    if auto_approve or not sys.stdin.isatty():
        raise ApprovalError(
            "refusing to widen access without explicit approval; nothing was changed",
            hint="review the lines above, then pass --approve-broadening (or answer on a terminal)",
        )
    confirm(console, "Do you want to widen access like this?", auto_approve=False)


def _progress_hooks(g: Globals, ctx: AwsContext) -> dict[str, Any]:
    """What apply and destroy report while they work: each change, upload bytes, lock waits."""
    return {
        "on_event": ApplyReporter(g.console).attach(ctx),
        "on_wait": lambda holder: g.err_console.print(f"Waiting for the lock: {holder.describe()}"),
    }


@cli.command()
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
        g.console.print(f"Stopped first (--stop-running): {r.describe()}", markup=False)
    if any(c.action == "delete" for c in approved.changes):
        confirm(g.console, "Do you really want to destroy these resources?", auto_approve)
    options = ApplyOptions(auto_approve=auto_approve, force=force, lock_timeout=lock_timeout, operation="destroy",
                           stop_running=stop_running)  # fmt: skip
    result = locked_destroy(pipeline, ctx, approved, options, **_progress_hooks(g, ctx),
                            on_stopping=lambda r: g.console.print(f"Stopping {r.describe()}", markup=False))
    g.console.print(f"[bold]{summary_line(result, 'Destroy')}[/]")  # the outcome is known: complete or not
    raise_for_result(result, "destroy")


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
    error boundary will give it; secret-looking values masked (reconciler/masking.py)."""
    return dict(mask_value(_run_failure(err)))


def _run_failure(err: BaseException) -> dict[str, Any]:
    interrupt = interrupt_of(err)
    code = interrupt_exit_code(interrupt) if interrupt is not None else None
    if isinstance(err, ReconcilerError):
        return {"error": err.message, "hint": err.hint, "kind": type(err).__name__, "exit_code": code or err.exit_code,
                "outcome": run_outcome(err)}  # fmt: skip
    if isinstance(err, click.ClickException):
        usage = isinstance(err, click.UsageError)
        return {"error": err.format_message(), "hint": None, "kind": type(err).__name__,
                "exit_code": EXIT_USAGE if usage else err.exit_code}  # fmt: skip
    if interrupt is not None:
        signal_name = "SIGTERM" if code == EXIT_TERMINATED else "SIGINT"
        return {"error": f"interrupted ({signal_name})", "hint": None, "kind": type(interrupt).__name__,
                "exit_code": code}  # fmt: skip
    return {"error": f"internal error: {type(err).__name__}: {err}", "hint": "run again with --debug for the traceback",
            "kind": type(err).__name__, "exit_code": EXIT_ERROR}  # fmt: skip


def rows_text(report: dict[str, Any]) -> str:
    """A report's row counts in the one vocabulary of history, show and run: read, valid, quarantined (the job's
    `rows_rejected`: the lines it wrote to quarantine/), duplicates; numbers with thousands separators."""
    def count(key: str) -> str:
        value = report.get(key)
        return f"{value:,}" if isinstance(value, int) else "-"

    return (f"read {count('rows_read')}, valid {count('rows_valid')}, quarantined {count('rows_rejected')}, "
            f"duplicates {count('duplicates_dropped')}")  # fmt: skip


def print_run_summary(console: Console, summary: RunSummary) -> None:
    console.print("[bold]Run summary[/]")
    for step, seconds in summary.steps.items():
        console.print(f"  {step:<9} {seconds:8.1f}s")
    console.print(f"  run       {summary.run_id} ({'published' if summary.published else 'not published'})")
    console.print(f"  details   {command('show', str(summary.run_id))}", markup=False)
    console.print(f"  quarter   {summary.quarter}")
    report = summary.report or {}
    if report:
        console.print(f"  rows      {rows_text(report)}")
    if summary.manifest_uri:
        copy = "not written, see the warning" if summary.warnings else summary.manifest_path
        console.print(f"  manifest  {summary.manifest_uri} (local copy: {copy})")
    if summary.removed_runs:
        console.print(f"  retention removed {len(summary.removed_runs)} old unpublished run(s)")


@cli.command()
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
        try:
            return click.confirm(f"\nInterrupted. Stop job {job} run {short_id(run_id)}? (no: it goes on running)",
                                 default=True)  # fmt: skip
        except (click.Abort, KeyboardInterrupt, EOFError) as again:  # a second Ctrl-C: leave it running, say so
            click.echo()
            return isinstance(interrupt_of(again), Terminated)  # SIGTERM while asking: stop it, as unasked

    def review_plan(plan: Plan, destructive: list[str]) -> bool:
        """The plan the run applies, shown first; destructive changes need --allow-destroy or a yes here."""
        if as_json:
            return False
        render_plan(g.console, plan)
        if not destructive or allow_destroy or not can_ask:
            return False
        g.console.print("[bold red]This run would destroy:[/]")
        for line in destructive:
            g.console.print(f"  - {line}", markup=False)
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


@cli.command()
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
    report = publish.read_report(ctx, layout, run_id)
    if report is None:
        raise PublishError(f"run {run_id} has no report: it did not finish, or does not exist",
                           hint=f"`{command('history')}` lists the runs")  # fmt: skip
    label = publish.report_quarter(report)
    current = publish.published_quarters(ctx, layout).get(label or "")
    gate = publish.read_gate(ctx, layout, run_id)
    if gate is None and label is not None:  # a run started outside `reconcile run` (the workflow, the console)
        compared = publish.comparison_run(publish.published_quarters(ctx, layout), label)
        previous = publish.read_report(ctx, layout, compared[1]) if compared else None
        failures = publish.check_gate(pipeline, report, previous, label)
        publish.write_gate(ctx, layout, run_id, failures, compared[1] if compared else None)
        gate = publish.read_gate(ctx, layout, run_id)
    g.console.print(f"Published now for {label or '?'}: {current['run_id'] if current else '(nothing)'}")
    g.console.print(f"To publish:    {run_id} (rows read {report.get('rows_read')}, valid {report.get('rows_valid')})")
    publish.check_not_older(ctx, layout, run_id, report, current, force=force)  # refused before asking
    if gate and not gate.get("passed"):
        g.console.print("[yellow]This run failed its quality gate:[/]")
        for failure in gate.get("failures", []):
            g.console.print(f"  - {failure}", markup=False)
        if not allow_failed_gate:
            raise GateError(
                f"run {run_id} failed its quality gate: nothing was published",
                hint=f"to publish it anyway: {command('promote', '--allow-failed-gate', run_id)}",
            )
    confirm(g.console, f"Publish run {run_id}?", auto_approve)
    with pipeline_lock.held(ctx, pipeline.bucket.name, "promote", timeout=lock_timeout):
        publish.converge(ctx, pipeline, layout, warn=g.warn)  # repair first: what a crash left is not ours to keep
        new = publish.promote(ctx, pipeline, layout, run_id, by="reconcile promote", force=force, warn=g.warn)
    g.console.print(f"Published {new['run_id']} for {new['quarter']} (was {new['previous_run_id'] or 'nothing'}).")
    refresh.after_publish(ctx, pipeline, run_id, say=g.console.print)  # QuickSight SPICE ingestion, if declared


@cli.command()
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
    current = publish.published_quarters(ctx, layout).get(quarter)
    if current is None:  # said before asking; checked again under the lock
        publish.unpublish_check(ctx, layout, quarter)
    else:
        g.console.print(f"Published now for {quarter}: {current['run_id']}")
    confirm(g.console, f"Withdraw {quarter} from what is published?", auto_approve)
    with pipeline_lock.held(ctx, pipeline.bucket.name, "unpublish", timeout=lock_timeout):
        gone = publish.unpublish(ctx, pipeline, layout, quarter, by="reconcile unpublish", warn=g.warn)
    g.console.print(f"Unpublished {quarter} (was {gone['run_id']}); its data stays: "
                    f"{command('promote', str(gone['run_id']))} publishes it again.")  # fmt: skip
    refresh.after_unpublish(ctx, pipeline, quarter, say=g.console.print)  # QuickSight SPICE ingestion, if declared


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable history on stdout.")
@click.option("--wide", is_flag=True, help="Every column: start time, step durations, rows, cost.")
@pass_globals
def history(g: Globals, as_json: bool, wide: bool) -> None:
    """Every run, from its run record in S3 (failed and interrupted ones too): quarter, how it ended, its
    duration, gate, and whether it is live (the run its quarter publishes now); --wide adds the start,
    step durations, rows and cost. Values are never shortened."""
    pipeline = g.load()
    ctx = g.context(pipeline)
    rows = run_history.rows(ctx, publish.Layout.of(pipeline))
    if as_json:
        print_json({"format_version": "1", "pipeline": pipeline.name, "runs": rows})
        return
    for line in history_lines(rows, wide=wide):
        click.echo(mask_text(line))


@cli.command()
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
    report = publish.read_report(ctx, layout, run_id)
    verdict = publish.read_gate(ctx, layout, run_id)
    if record is None and report is None and verdict is None:
        raise PublishError(f"no run {run_id} under {layout.run_uri(run_id)}",
                           hint=f"`{command('history')}` lists the runs")  # fmt: skip
    record = record or {"run_id": run_id}
    report = report or {}
    outputs = run_history.s3_outputs(layout, run_id, report)
    rules = run_history.gate_rules(pipeline, report, verdict)
    logs = run_history.log_locations(ctx, record)
    if as_json:
        print_json({"format_version": "1", "record": record, "report": report, "gate": verdict,
                    "gate_rules": rules, "outputs": outputs, "logs": logs})  # fmt: skip
        return
    def line(text: str) -> None:  # never wrapped or cut: ids and URIs are pasted from here
        click.echo(mask_text(text))

    published = run_id in publish.published_run_ids(ctx, layout)
    line(f"run       {run_id}")
    line(f"quarter   {record.get('quarter') or publish.report_quarter(report) or '-'}")
    state = record.get("state") or "-"
    line(f"state     {state}{' (published now)' if published and state != 'published' else ''}")
    line(f"started   {record.get('started_at') or report.get('started_at') or '-'}"
         f"   finished {record.get('finished_at') or report.get('finished_at') or '-'}")  # fmt: skip
    if record.get("adopted_by"):
        adopted = record["adopted_by"]
        line(f"adopted   by run {adopted['run_id']} at {adopted['at']} (the run that started it was killed)")
    if (record.get("error") or {}).get("message"):
        line(f"error     {record['error']['message']}")
    for name, step in (record.get("steps") or {}).items():
        line(f"  step {name:<8} {step.get('state', '-'):<9} {float(step.get('seconds') or 0):8.1f}s")
    if record.get("ingestion"):  # quarterly/refresh.py
        line(f"refresh   {refresh.describe(record['ingestion'])}")
    job_run = record.get("job_run") or {}
    if job_run:
        line(f"job run   {job_run.get('id')} {job_run.get('state')}, {job_run.get('execution_seconds')}s on "
             f"{job_run.get('number_of_workers')} x {job_run.get('worker_type')}, {job_run.get('dpu_seconds')} DPU-s")
    cost = record.get("cost") or {}
    if cost:
        line(f"cost      {run_history.describe_cost(cost)}")
    if report:
        line(f"rows      {rows_text(report)}")
        rejects = report.get("rejected_by_reason") or {}
        if rejects:
            line("rejects   " + ", ".join(f"{reason} {n:,}" for reason, n in sorted(rejects.items())))
        shares = publish.shares(report)
        if shares:
            line("brands    " + ", ".join(f"{b} {v:.1%}" for b, v in sorted(shares.items(), key=lambda x: -x[1])))
    else:
        line("report    none: the job wrote no report (it failed, or never ran)")
    if rules:
        verdict_text = "-" if verdict is None else ("passed" if verdict.get("passed") else "failed")
        line(f"gate      {verdict_text}")
        for r in rules:
            mark = "?" if r["passed"] is None else ("ok" if r["passed"] else "FAILED")
            seen = r["observed"] if r["observed"].startswith(("not ", "no ")) else f"observed {r['observed']}"
            line(f"  {mark:<6} {r['rule']}: {seen}, allowed {r['allowed']}")
            for failure in r["failures"]:
                line(f"         {failure}")
    for name, uri in outputs.items():
        line(f"output    {name}: {uri}")
    for place in logs:
        line(f"logs      {place}")


@cli.command()
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
    for text in run_outputs.render(found, every_object=every_object):
        click.echo(mask_text(text))  # never wrapped or cut: URIs are pasted from here


@cli.group()
def local() -> None:
    """The embedded local AWS endpoint (moto plus our Glue runtime)."""


@local.command("up")
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: a free one).")
@pass_globals
def local_up(g: Globals, port: int | None) -> None:
    """Start the endpoint in the background (its state is kept in the spec's .reconciler/ across restarts)."""
    lifecycle = local_lifecycle()
    try:
        state, started = lifecycle.start(g.local_state_dir(), port)
    except lifecycle.AlreadyRunningError as error:
        raise lifecycle.AlreadyRunningError(
            error.state, hint=f"run `{command('local', 'down')}` first to change the port") from None
    where = "running" if started else "already running"
    g.console.print(f"Local AWS endpoint {where} at {state.url} (pid {state.pid}), state in "
                    f"{escape(str(g.local_state_dir()))}/")
    g.console.print(f"Use it with: reconcile --local ...  or  export AWS_ENDPOINT_URL={state.url}")


@local.command("down")
@pass_globals
def local_down(g: Globals) -> None:
    """Stop the endpoint."""
    stopped = local_lifecycle().down(g.local_state_dir())
    g.console.print("Stopped the local AWS endpoint." if stopped else "The local AWS endpoint was not running.")


@local.command("status")
@pass_globals
def local_status(g: Globals) -> None:
    """Show whether the endpoint runs (exit 1 if not)."""
    state = local_lifecycle().status(g.local_state_dir())
    if state is None:
        g.console.print("The local AWS endpoint is not running.")
        sys.exit(EXIT_ERROR)
    g.console.print(f"Running at {state.url} (pid {state.pid}, since {state.started_at})")


@cli.group("lock")
def lock_group() -> None:
    """Inspect or break the pipeline lock."""


@lock_group.command("status")
@pass_globals
def lock_status(g: Globals) -> None:
    """Show who holds the lock (exit 0 either way)."""
    pipeline = g.load()
    seen = pipeline_lock.observe_lock(g.context(pipeline), pipeline.bucket.name)
    if seen is None:
        g.console.print("Not locked.")
        return
    stale = " (stale: its process is gone)" if seen.info.is_stale else ""
    g.console.print(f"Locked: {seen.info.describe()}{stale}; {seen.lease_text()}", markup=False)
    if seen.takeover_reason is not None:
        g.console.print(f"The next apply or run takes it over: {seen.takeover_reason}.", markup=False)


@lock_group.command("break")
@click.argument("lock_id")
@click.option("--force", is_flag=True, help="Also break a lock whose holder is alive on this host.")
@pass_globals
def lock_break(g: Globals, lock_id: str, force: bool) -> None:
    """Remove the lock LOCK_ID (only that one: naming it proves you looked)."""
    pipeline = g.load()
    broken = pipeline_lock.break_lock(g.context(pipeline), pipeline.bucket.name, lock_id, force=force)
    g.console.print(f"Removed {broken.describe()}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Only the policy document, as JSON on stdout.")
@click.option("--account-id", default=None, help="The account the ARNs name (default: the caller's, from STS).")
@pass_globals
def permissions(g: Globals, as_json: bool, account_id: str | None) -> None:
    """The least-privilege IAM policy an operator needs to validate, plan, apply, run, promote and destroy
    this spec; no AWS call but sts:GetCallerIdentity (needs no permission)."""
    from reconciler.permissions import operator_policy, statements
    from reconciler.resources import Account

    pipeline = g.load()
    region = g.region or pipeline.region
    if account_id is None:
        ctx = g.context(pipeline)
        account = Account(lambda: ctx.account_id, ctx.region, ctx.partition)
    else:
        account = Account(account_id, region, AwsContext(region=region).partition)
    if as_json:
        print_json(operator_policy(pipeline, account))
        return
    for statement in statements(pipeline, account):
        g.console.print(f"[bold]{statement.sid}[/]: {statement.why}", highlight=False)
    click.echo(json.dumps(operator_policy(pipeline, account), indent=2))


def spec_region(g: Globals) -> str | None:
    """metadata.region of the spec `-f` names, when it exists and is valid (`import --out` beside it)."""
    if not g.spec_file.is_file():
        return None
    from reconciler.spec.load import load_spec

    try:
        return load_spec(g.spec_file).region
    except ReconcilerError:
        return None


@cli.command("import")
@click.option("--bucket", required=True, help="The bucket the pipeline keeps its data and script in.")
@click.option("--crawler", required=True, help="The Glue crawler.")
@click.option("--job", required=True, help="The Glue job.")
@click.option("--database", default=None, help="The Glue database (default: the crawler's).")
@click.option("--workflow", default=None, help="The Glue workflow, if any.")
@click.option("--trigger", default=None, help="The workflow's start trigger, if any.")
@click.option("--role", default=None, help="The Glue role, ARN or name (default: the job's).")
@click.option("--name", default=None, help="metadata.name (default: the job's name).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="The spec to write (default: -f's).")
@click.option("--force", is_flag=True, help="Overwrite an existing spec file and script copy.")
@pass_globals
def import_pipeline(
    g: Globals, bucket: str, crawler: str, job: str, database: str | None, workflow: str | None,
    trigger: str | None, role: str | None, name: str | None, out: Path | None, force: bool,
) -> None:  # fmt: skip
    """Write a pipeline.yaml for a pipeline built by hand, with read-only calls; then plan --adopt all."""
    from reconciler.adopt import importer

    out = out if out is not None else g.spec_file
    importer.check_writable(out, force=force)  # before any AWS request
    region = g.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or spec_region(g)
    if not region:
        raise UsageError("no region: the pipeline's region is needed", hint="give --region REGION, or set AWS_REGION")
    ctx = g.context(None, region=region)
    found = importer.read_found(ctx, bucket=bucket, crawler=crawler, job=job, database=database,
                                workflow=workflow, trigger=trigger, role=role)  # fmt: skip
    written = importer.write_import(found, out, name=name, force=force)
    owner = found.bucket_tags.get(OWNER_TAG) if found.bucket_tags.get(MANAGED_TAG) == "true" else None
    if owner:
        g.warn(f"bucket {bucket!r} already belongs to pipeline {owner!r} (its {OWNER_TAG} tag): `plan --adopt all` "
               f"leaves it to {owner!r}; to manage it as that pipeline, import with --name {owner}, or take it over "
               f"by its address: --adopt bucket.{bucket}")  # fmt: skip
    g.console.print(f"Wrote {', '.join(map(str, written))}. Next: {after_import(g, out, ctx.endpoint_url)}",
                    markup=False)  # fmt: skip


def after_import(g: Globals, out: Path, endpoint_url: str | None) -> str:
    """The plan to run next on the written spec, against the same endpoint. `--local` means the endpoint of
    the spec's own directory: for a spec written elsewhere it would start a second, empty endpoint and plan
    to create what exists, so the command names this endpoint's URL instead."""
    if out == g.spec_file:
        return command("plan", "--adopt", "all")
    if g.local and endpoint_url and out.absolute().parent.resolve() != g.spec_file.absolute().parent.resolve():
        words = [a for a in g.global_args() if a != "--local"]
        words = [w for i, w in enumerate(words) if w != "-f" and (i == 0 or words[i - 1] != "-f")]
        return shlex.join([program(), "-f", str(out), "--endpoint-url", endpoint_url, *words,
                           "plan", "--adopt", "all"])  # fmt: skip
    return command("-f", str(out), "plan", "--adopt", "all")


def main() -> None:
    """The console script: the group's main is the error boundary (reconciler.cli.boundary)."""
    set_program(sys.argv[0])  # hints then name a command that works from here (.venv/bin/reconcile)
    cli.main(prog_name="reconcile")
