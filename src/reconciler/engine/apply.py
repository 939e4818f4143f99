"""Executing a plan: dependency order, independent resources of one level in parallel, retried
transient errors (inside AwsContext.call), fail fast on anything else with AWS's code and message.

Every step is idempotent: creates tolerate what a crashed earlier apply left behind where AWS lets
us tell, and a re-run re-plans from live state (level-based, never from remembered events).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import groupby

from reconciler.aws.context import AwsContext
from reconciler.aws.retry import error_code, while_bucket_is_new
from reconciler.engine.diff import ADOPT, BLOCKED, CONFLICT, CREATE, DELETE, NOOP, REPLACE, UPDATE, Change, decide
from reconciler.engine.plan import Plan
from reconciler.errors import AwsApiError, AwsError, ConflictError, ReconcilerError
from reconciler.invocation import command
from reconciler.resources import ResourceKind, all_kinds
from reconciler.resources.base import Desired, aws_error, desired_tags
from reconciler.resources.upload import first_keys, foreign_keys
from reconciler.spec.model import Pipeline

APPLY_CONCURRENCY = 4

#: (change, phase, error) with phase "start" | "done" | "failed"
EventHook = Callable[[Change, str, BaseException | None], None]


@dataclass
class ApplyResult:
    done: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, BaseException]] = field(default_factory=list)
    blocked: list[Change] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked


def check_applicable(plan: Plan, *, force: bool = False) -> None:
    """Refuse before any write when a declared name belongs to someone else, or (without `force`) when an
    upload would overwrite objects this tool did not write (resources/upload.py `foreign_keys`)."""
    if plan.conflicts:
        lines = "\n".join(f"  {c.address}: {c.reason}" for c in plan.conflicts)
        raise ConflictError(
            f"{len(plan.conflicts)} declared resource(s) exist but are not this pipeline's:\n{lines}",
            hint="rename them in the spec, or take them over with --adopt ADDRESS (or --adopt all)",
        )
    foreign = {
        c.address: keys for c in plan.changes
        if c.kind == "upload" and (keys := foreign_keys(c.attrs, plan.observed.get(c.address)))
    }  # fmt: skip
    if foreign and not force:
        lines = "\n".join(f"  {address}: {first_keys(keys)}" for address, keys in foreign.items())
        raise ConflictError(
            f"the uploads would replace {sum(map(len, foreign.values()))} object(s) that this tool did not write "
            f"(no sha256 metadata of ours); nothing was changed:\n{lines}",
            hint=f"check whose they are; to replace them anyway: {command('apply', '--force')}",
        )


# "The name is taken" on create, per service.
ALREADY_EXISTS = frozenset({"AlreadyExistsException", "EntityAlreadyExists", "BucketAlreadyOwnedByYou"})


def _aws_code(exc: BaseException | None) -> str:
    """AWS's error code of `exc` or of the mapped AWS error it was raised from."""
    while exc is not None:
        if isinstance(exc, AwsApiError):
            return error_code(exc)
        exc = exc.__cause__
    return ""


def _create(kind: ResourceKind, desired: Desired, ctx: AwsContext, pipeline: Pipeline) -> None:
    """Create; if the name turns out to be taken by a resource *this pipeline* owns, finish it instead.

    That happens when an earlier attempt of this very create succeeded but its answer was lost (a
    dropped connection: our retry then meets our own resource), or when a crashed apply created it
    between our plan and our create. Under the lock nobody else creates resources tagged as ours, so
    the resource is the one we meant to create: converge its attributes with an update. A taken name
    that is not ours stays an error (a conflict is never adopted silently).
    """
    try:
        kind.create(ctx, desired, pipeline)
    except ReconcilerError as exc:
        if _aws_code(exc) not in ALREADY_EXISTS:
            raise
        observed = kind.read(ctx, desired.name, pipeline)
        if observed is None or observed.owner() != pipeline.name:
            raise
        rest = decide(kind.kind, kind.level, kind.immutable, desired, observed, pipeline.name)
        if rest.action == UPDATE:
            kind.update(ctx, desired, rest.attrs, pipeline)
        elif rest.action != NOOP:
            raise


def _execute_one(kind: ResourceKind, change: Change, ctx: AwsContext, pipeline: Pipeline, force: bool) -> None:
    if change.action == CREATE:
        assert change.desired is not None
        _create(kind, change.desired, ctx, pipeline)
    elif change.action in {UPDATE, ADOPT}:
        assert change.desired is not None
        kind.update(ctx, change.desired, change.attrs, pipeline)
    elif change.action == REPLACE:
        assert change.desired is not None
        kind.delete(ctx, change.name, pipeline, force=force)
        _create(kind, change.desired, ctx, pipeline)
    elif change.action == DELETE:
        kind.delete(ctx, change.name, pipeline, force=force)


def execute(
    plan: Plan,
    ctx: AwsContext,
    pipeline: Pipeline,
    *,
    kinds: list[ResourceKind] | None = None,
    force: bool = False,
    on_event: EventHook | None = None,
) -> ApplyResult:
    """Walk the plan level by level; stop after the first level with a failure."""
    check_applicable(plan, force=force)
    by_kind = {k.kind: k for k in (kinds if kinds is not None else all_kinds())}
    result = ApplyResult(blocked=[c for c in plan.changes if c.action == BLOCKED])
    work = [c for c in plan.changes if c.action not in {NOOP, CONFLICT, BLOCKED}]

    def run(change: Change) -> None:
        if on_event:
            on_event(change, "start", None)
        try:
            _execute_one(by_kind[change.kind], change, ctx, pipeline, force)
        except AwsApiError as exc:
            err: BaseException = aws_error("applying", change.address, exc)
            result.failed.append((change, err))
            if on_event:
                on_event(change, "failed", err)
            return
        except (ReconcilerError, OSError) as exc:
            result.failed.append((change, exc))
            if on_event:
                on_event(change, "failed", exc)
            return
        result.done.append(change)
        if on_event:
            on_event(change, "done", None)

    # Group consecutive changes of one level and direction: creates/updates go up, deletes come down.
    def stage(c: Change) -> tuple[bool, int]:
        return (c.action == DELETE, c.level)

    with ThreadPoolExecutor(max_workers=APPLY_CONCURRENCY) as pool:
        for _, group in groupby(work, key=stage):
            list(pool.map(run, list(group)))
            if result.failed:
                break
    return result


def raise_for_result_and(result: ApplyResult, operation: str, also: ReconcilerError) -> None:
    """`also` (the lock's release, which failed after the changes ran) is raised, unless some changes failed:
    then their error is the one reported, and `also` is added to its hint, as lock.held does for a step's error."""
    try:
        raise_for_result(result, operation)
    except ReconcilerError as failure:
        failure.hint = "; ".join(h for h in (failure.hint, f"also {also.message}", also.hint) if h)
        raise failure from also
    raise also


def raise_for_result(result: ApplyResult, operation: str = "apply") -> None:
    """AwsError for failed or blocked changes, its hint the command to run next: the same `operation` again
    (after a failed destroy that is destroy, never apply, which would re-create what destroy deleted)."""
    if result.failed:
        lines = "\n".join(f"  {c.address}: {exc}" for c, exc in result.failed)
        raise AwsError(
            f"{len(result.failed)} change(s) failed:\n{lines}",
            hint=f"fix the cause and run {operation} again: it continues from the live state: {command(operation)}",
        )
    if result.blocked:
        lines = "\n".join(f"  {c.address}: {c.reason}" for c in result.blocked)
        raise AwsError(
            f"{len(result.blocked)} delete(s) refused to protect data:\n{lines}",
            hint=f"to delete them and the data in them: {command(operation, '--force')}",
        )


def create_bucket_exclusive(ctx: AwsContext, pipeline: Pipeline) -> bool:
    """Create the bare bucket so the lock has a home. True if this call created it.

    Outside us-east-1 a second CreateBucket answers BucketAlreadyOwnedByYou, so of two first-ever
    applies exactly one learns it created the bucket; the other waits for the lock and re-plans. In
    us-east-1 CreateBucket answers 200 to the owner of an existing bucket (terraform-provider-aws
    internal/service/s3/bucket.go), so True there only means "maybe": the caller (engine/locked.py)
    trusts it only when no one held the lock before it (the serial).
    """
    tags = [{"Key": k, "Value": v} for k, v in sorted(desired_tags(pipeline).items())]
    config: dict[str, object] = {"Tags": tags}  # tagged as ours in the same call that creates it
    if pipeline.region != "us-east-1":
        config["LocationConstraint"] = pipeline.region
    kwargs: dict[str, object] = {"Bucket": pipeline.bucket.name, "CreateBucketConfiguration": config}
    try:
        ctx.call("s3", "create_bucket", **kwargs)
    except AwsApiError as exc:
        if exc.code in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            return False
        raise aws_error("creating", f"S3 bucket {pipeline.bucket.name!r}", exc) from exc
    # And again explicitly, for S3-compatible endpoints that ignore tags at creation; right after
    # CreateBucket it can answer NoSuchBucket for a while (aws/retry.py while_bucket_is_new, after
    # terraform-provider-aws internal/service/s3/bucket.go).
    while_bucket_is_new(
        lambda: ctx.call("s3", "put_bucket_tagging", Bucket=pipeline.bucket.name, Tagging={"TagSet": tags})
    )
    return True
