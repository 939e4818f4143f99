"""Work still running in what a destroy is about to delete: Glue job runs of its jobs and crawls of its
crawlers (a crashed `reconcile run` leaves its job run going). Deleting a job, its role and its bucket under
a running job run leaves that run failing half-way or writing into whatever takes the names next, so destroy
refuses, naming each run and how to stop it, or with `--stop-running` stops them and waits until they have
stopped, before deleting anything.

What runs, how to stop it and whether it still runs is each kind's (ResourceKind.running, stop_running,
still_running, for the kinds with `runs`: resources/job.py, resources/crawler.py); this module collects them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from reconciler.aws import wait
from reconciler.aws.context import AwsContext
from reconciler.aws.wait import Clock, Poll
from reconciler.engine.diff import DELETE
from reconciler.engine.plan import Plan
from reconciler.errors import ReconcilerError, RunError
from reconciler.invocation import command
from reconciler.resources import KINDS, ResourceKind
from reconciler.resources.base import Running as Running  # re-exported: it was defined here

STOP_TIMEOUT_SECONDS = 600.0


def _kinds_that_run() -> dict[str, ResourceKind]:
    return {k.kind: k() for k in KINDS if k.runs}


def find_running(ctx: AwsContext, plan: Plan) -> list[Running]:
    """Work in progress (ResourceKind.running: job runs, crawls) in the resources `plan` deletes."""
    kinds = _kinds_that_run()
    found: list[Running] = []
    for change in plan.changes:
        if change.action == DELETE and change.kind in kinds:
            found += kinds[change.kind].running(ctx, change.name)
    return found


def refuse_running(ctx: AwsContext, running: list[Running], operation: str = "destroy") -> None:
    """RunError naming each run in progress and how to stop it; nothing has been deleted yet."""
    if not running:
        return
    lines = "\n".join(f"  {r.describe()}; stop it with: {r.stop_command(ctx)}" for r in running)
    raise RunError(
        f"{len(running)} job run(s) or crawl(s) of this pipeline are still running; nothing was deleted:\n{lines}",
        hint=f"let them finish, stop them as above, or stop them and {operation}: "
        f"{command(operation, '--stop-running')}",
    )


def stop_and_wait(
    ctx: AwsContext,
    running: list[Running],
    *,
    timeout: float = STOP_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    on_stopping: Callable[[Running], None] | None = None,
) -> None:
    """Stop every job run and crawl in `running` and wait until none is in progress any more."""
    kinds = _kinds_that_run()
    for r in running:
        if on_stopping is not None:
            on_stopping(r)
        kinds[r.kind].stop_running(ctx, r)

    def status() -> tuple[list[Running], str]:
        still = [r for r in running if kinds[r.kind].still_running(ctx, r)]
        return still, "running" if still else "stopped"

    try:
        wait.until(status, pending={"running"}, target={"stopped"}, timeout=timeout, poll=Poll(0.25, cap=5.0),
                   clock=Clock(sleep=sleep))  # fmt: skip
    except wait.WaitTimeout as timed_out:
        raise ReconcilerError(
            f"still running {timeout:.0f}s after being stopped: " + "; ".join(r.describe() for r in timed_out.last)
            + "; nothing was deleted",
            hint=f"wait until they have stopped, then: {command('destroy')}",
        ) from None
