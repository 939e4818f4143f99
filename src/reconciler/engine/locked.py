"""The one locked apply path, shared by `apply`, `destroy` and `run`.

`locked_session` is how each of them opens: check the plan, create the bucket exclusively, take the lock.

`locked_apply` takes the lock and calls `apply_held`; `run` holds the lock for its whole length and calls
`apply_held` itself for its reconcile step. `apply_held` is where the plan that is *executed* is decided
(the approved plan, or a new one made under the lock) and where that plan's access-widening changes are
checked, so a plan re-made under the lock can never widen access that nobody approved."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from reconciler.aws import lock
from reconciler.aws.context import AwsContext
from reconciler.engine import running
from reconciler.engine.apply import (
    ApplyResult,
    EventHook,
    check_applicable,
    create_bucket_exclusive,
    execute,
    raise_for_result_and,
)
from reconciler.engine.destructive import destructive
from reconciler.engine.diff import CREATE
from reconciler.engine.plan import Plan, build_plan
from reconciler.engine.security import broadening
from reconciler.errors import ApprovalError, ReconcilerError, StalePlanError
from reconciler.invocation import command
from reconciler.resources import ResourceKind
from reconciler.spec.model import Pipeline


@dataclass(frozen=True)
class ApplyOptions:
    auto_approve: bool = False
    saved_plan: bool = False
    force: bool = False
    adopt: frozenset[str] = frozenset()
    lock_timeout: float = 0.0
    operation: str = "apply"
    targets: frozenset[str] = frozenset()
    #: widening changes need no further approval (--approve-broadening)
    approve_broadening: bool = False
    #: the widening changes a person approved when shown the plan (each `broadening()` line)
    approved_broadening: frozenset[str] = frozenset()
    #: destroy: stop the job runs and crawls still running in what it deletes (else it refuses: engine/running.py)
    stop_running: bool = False
    #: `run`: refuse deletes, replacements and data-losing updates beyond `approved_destructive` (the lines of
    #: engine.destructive a person approved, or all of them with --allow-destroy)
    refuse_destructive: bool = False
    approved_destructive: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Session:
    held: lock.Held
    #: this session created the bucket and nobody held its lock before: nobody else can have changed anything
    fresh_bucket: bool


@contextmanager
def locked_session(
    pipeline: Pipeline,
    ctx: AwsContext,
    operation: str,
    *,
    plan: Plan | None,
    force: bool = False,
    timeout: float = 0.0,
    on_wait: Callable[[lock.LockInfo], None] | None = None,
    on_takeover: Callable[[lock.LockInfo, str], None] | None = None,
) -> Iterator[Session]:
    """The opening of every locked operation (apply, destroy, run): check `plan`, create the bucket exclusively
    when `plan` creates it (the lock lives in it), take the lock; release it at the end. `plan` None (a destroy,
    a run that applies nothing): only the lock."""
    created_now = just_created = False
    if plan is not None:
        # Nothing is written when a declared name is someone else's: not even our lock into their bucket.
        check_applicable(plan, force=force)
        bucket_change = next((c for c in plan.changes if c.address == f"bucket.{pipeline.bucket.name}"), None)
        just_created = bucket_change is not None and bucket_change.action == CREATE
        if just_created:
            created_now = create_bucket_exclusive(ctx, pipeline)
    # The bucket is moments old when we just called CreateBucket (ours, or a concurrent first apply's that
    # answered BucketAlreadyOwnedByYou): the lock PUT may meet the new-bucket window (aws/retry.py).
    with lock.held(
        ctx, pipeline.bucket.name, operation, timeout=timeout, on_wait=on_wait, on_takeover=on_takeover,
        fresh_bucket=just_created,
    ) as held:  # fmt: skip
        # In us-east-1 CreateBucket answers 200 to the owner for a bucket that exists (terraform-provider-aws
        # internal/service/s3/bucket.go notes it: no BucketAlreadyOwnedByYou there), so two first applies may
        # both believe they created it. The lock is the arbiter: the bucket is ours alone only if nobody held
        # the lock before us (no serial yet: lock.held reads it under the lock, and every holder bumps it first).
        yield Session(held, created_now and held.previous_serial == lock.NO_SERIAL)


def locked_apply(
    pipeline: Pipeline,
    ctx: AwsContext,
    approved: Plan,
    options: ApplyOptions,
    *,
    kinds: list[ResourceKind] | None = None,
    on_event: EventHook | None = None,
    on_wait: Callable[[lock.LockInfo], None] | None = None,
) -> tuple[Plan, ApplyResult]:
    """Take the lock, make sure the approved plan still holds, execute it, release the lock."""
    done: list[ApplyResult] = []
    try:
        with locked_session(
            pipeline, ctx, options.operation, plan=approved, force=options.force, timeout=options.lock_timeout,
            on_wait=on_wait,
        ) as session:  # fmt: skip
            outcome = apply_held(
                pipeline, ctx, approved, options, session.held, kinds=kinds, on_event=on_event,
                fresh_bucket=session.fresh_bucket,
            )  # fmt: skip
            done.append(outcome[1])
            return outcome
    except ReconcilerError as release_error:
        if done:  # the changes ran and the release failed: failed changes stay the error reported
            raise_for_result_and(done[0], options.operation, release_error)
        raise


def apply_held(
    pipeline: Pipeline,
    ctx: AwsContext,
    approved: Plan,
    options: ApplyOptions,
    held: lock.Held,
    *,
    kinds: list[ResourceKind] | None = None,
    on_event: EventHook | None = None,
    fresh_bucket: bool = False,
) -> tuple[Plan, ApplyResult]:
    """Under the lock: decide the plan to execute, check its widening changes, execute it."""
    plan = approved
    # An approved plan is made again under the lock, unless the bucket did not exist (nobody else can
    # have changed anything), or it is auto-approved and no other reconciler held the lock since it
    # was made (the serial): a saved or interactively approved plan is always checked against a new one.
    unchanged = options.auto_approve and not options.saved_plan and held.unchanged_since(approved.serial)
    if not fresh_bucket and not unchanged:
        plan = build_plan(
            pipeline, ctx, kinds=kinds, adopt=options.adopt, force=options.force, targets=options.targets,
            destroy=options.operation == "destroy",
        )  # fmt: skip
        if plan.fingerprint != approved.fingerprint and (options.saved_plan or not options.auto_approve):
            raise StalePlanError(
                "the live state changed since the plan was made; nothing was applied",
                hint="run plan (or apply) again and review the new plan",
            )
    check_broadening(plan, options)
    if options.refuse_destructive:
        check_destructive(plan, options)
    result = execute(plan, ctx, pipeline, kinds=kinds, force=options.force, on_event=on_event)
    return plan, result


def check_broadening(plan: Plan, options: ApplyOptions) -> None:
    """Refuse a plan that widens access beyond what was approved (`cdk deploy --require-approval
    broadening`), checked on the plan that is about to be executed."""
    unapproved = [w for w in broadening(plan.changes) if w not in options.approved_broadening]
    if unapproved and not options.approve_broadening:
        raise ApprovalError(
            f"the {options.operation} would widen access; nothing was changed:\n"
            + "\n".join(f"  {w}" for w in unapproved),
            hint=f"review it with `{command('plan')}`, then pass --approve-broadening (or answer on a terminal)",
        )


def check_destructive(plan: Plan, options: ApplyOptions) -> None:
    """Refuse a plan (made again under the lock) that destroys more than was approved before the lock."""
    unapproved = [line for line in destructive(plan.changes) if line not in options.approved_destructive]
    if unapproved:
        raise ApprovalError(
            f"the {options.operation} would destroy what nobody approved; nothing was changed:\n"
            + "\n".join(f"  {line}" for line in unapproved),
            hint=f"review it with `{command('plan')}`, then pass --allow-destroy (or answer yes on a terminal)",
        )


def locked_destroy(
    pipeline: Pipeline,
    ctx: AwsContext,
    approved: Plan,
    options: ApplyOptions,
    *,
    on_event: EventHook | None = None,
    on_wait: Callable[[lock.LockInfo], None] | None = None,
    on_stopping: Callable[[running.Running], None] | None = None,
) -> ApplyResult:
    """Destroy under the lock when the bucket exists (the lock lives in it, and goes with it). Job runs and
    crawls still running in what it deletes are stopped first with `options.stop_running`, else refused:
    nothing is deleted under them (engine/running.py)."""
    bucket = pipeline.bucket.name

    def not_under_running_work() -> None:
        found = running.find_running(ctx, approved)
        if found and options.stop_running:
            running.stop_and_wait(ctx, found, on_stopping=on_stopping)
        else:
            running.refuse_running(ctx, found)

    if approved.observed.get(f"bucket.{bucket}") is None and not any(
        c.kind == "bucket" and c.name == bucket for c in approved.changes
    ):
        not_under_running_work()
        return execute(approved, ctx, pipeline, force=options.force, on_event=on_event)
    done: list[ApplyResult] = []
    try:
        with locked_session(pipeline, ctx, "destroy", plan=None, timeout=options.lock_timeout,
                            on_wait=on_wait) as session:  # fmt: skip
            not_under_running_work()  # under the lock: no `reconcile run` of ours starts one meanwhile
            destroy = replace(options, operation="destroy")
            done.append(apply_held(pipeline, ctx, approved, destroy, session.held, on_event=on_event)[1])
            return done[0]
    except ReconcilerError as release_error:
        if done:  # as in locked_apply
            raise_for_result_and(done[0], "destroy", release_error)
        raise
