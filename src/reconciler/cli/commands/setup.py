"""`validate`, `permissions` and `import`: the spec, what an operator may do with it, and writing one."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from reconciler.aws.context import AwsContext
from reconciler.cli import messages
from reconciler.cli.app import Globals, pass_globals
from reconciler.cli.render import print_json
from reconciler.errors import ReconcilerError, UsageError
from reconciler.invocation import command, program
from reconciler.spec.model import MANAGED_TAG, OWNER_TAG
from reconciler.spec.unused import unused_notes


@click.command()
@pass_globals
def validate(g: Globals) -> None:
    """Check the spec (schema and semantics). No AWS calls."""
    pipeline = g.load()
    messages.valid(g.console, g.spec_file, pipeline, unused_notes(pipeline))


@click.command()
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
    messages.statements(g.console, statements(pipeline, account))
    messages.policy(operator_policy(pipeline, account))


def spec_region(g: Globals) -> str | None:
    """metadata.region of the spec `-f` names, when it exists and is valid (`import --out` beside it)."""
    if not g.spec_file.is_file():
        return None
    from reconciler.spec.load import load_spec

    try:
        return load_spec(g.spec_file).region
    except ReconcilerError:
        return None


@click.command("import")
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
    messages.wrote(g.console, written, after_import(g, out, ctx.endpoint_url))


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


COMMANDS = (validate, permissions, import_pipeline)
