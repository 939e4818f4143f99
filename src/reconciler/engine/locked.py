"""The locked apply and destroy flows shared by the CLI's apply, destroy and run commands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.aws import lock
from reconciler.aws.context import AwsContext
from reconciler.engine.apply import ApplyResult, EventHook, check_applicable, create_bucket_exclusive, execute
from reconciler.engine.diff import CREATE
from reconciler.engine.plan import Plan, build_plan
from reconciler.errors import StalePlanError
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
    bucket = pipeline.bucket.name
    bucket_change = next((c for c in approved.changes if c.address == f"bucket.{bucket}"), None)
    created_now = False
    # Nothing is written when a declared name is someone else's: not even our lock into their bucket.
    check_applicable(approved)
    if bucket_change is not None and bucket_change.action == CREATE:
        created_now = create_bucket_exclusive(ctx, pipeline)
    with lock.held(ctx, bucket, options.operation, timeout=options.lock_timeout, on_wait=on_wait) as held:
        plan = approved
        # An approved plan is made again under the lock, unless the bucket did not exist (nobody else can
        # have changed anything), or it is auto-approved and no other reconciler held the lock since it
        # was made (the serial): a saved or interactively approved plan is always checked against a new one.
        unchanged = options.auto_approve and not options.saved_plan and held.unchanged_since(approved.serial)
        if not created_now and not unchanged:
            plan = build_plan(
                pipeline, ctx, kinds=kinds, adopt=options.adopt, force=options.force, targets=options.targets
            )
            if plan.fingerprint != approved.fingerprint and (options.saved_plan or not options.auto_approve):
                raise StalePlanError(
                    "the live state changed since the plan was made; nothing was applied",
                    hint="run plan (or apply) again and review the new plan",
                )
        result = execute(plan, ctx, pipeline, kinds=kinds, force=options.force, on_event=on_event)
    return plan, result


def locked_destroy(
    pipeline: Pipeline,
    ctx: AwsContext,
    approved: Plan,
    options: ApplyOptions,
    *,
    on_event: EventHook | None = None,
    on_wait: Callable[[lock.LockInfo], None] | None = None,
) -> ApplyResult:
    """Destroy under the lock when the bucket exists (the lock lives in it, and goes with it)."""
    bucket = pipeline.bucket.name
    if approved.observed.get(f"bucket.{bucket}") is None and not any(
        c.kind == "bucket" and c.name == bucket for c in approved.changes
    ):
        return execute(approved, ctx, pipeline, force=options.force, on_event=on_event)
    with lock.held(ctx, bucket, "destroy", timeout=options.lock_timeout, on_wait=on_wait):
        plan = build_plan(pipeline, ctx, force=options.force, destroy=True)
        if plan.fingerprint != approved.fingerprint and not options.auto_approve:
            raise StalePlanError("the live state changed since the destroy plan was shown; nothing was deleted")
        return execute(plan, ctx, pipeline, force=options.force, on_event=on_event)
