"""The `reconcile` group and its global options, accepted before the command and after it (`Globals`)."""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Concatenate, ParamSpec, TypeVar

import click
from rich.console import Console

from reconciler.aws.context import AwsContext
from reconciler.cli import messages
from reconciler.cli.boundary import DEBUG_ENV, ReconcilerGroup
from reconciler.cli.render import make_console
from reconciler.errors import LocalEndpointError, UsageError
from reconciler.invocation import set_global_args
from reconciler.spec.model import Pipeline

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
        messages.warning(self.err_console, message)

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
        messages.spec_warnings(self.err_console, pipeline.warnings)
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
                messages.local_started(self.err_console, state, state_dir)
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

