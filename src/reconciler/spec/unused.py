"""Settings the spec declares that nothing reads with the rest of the spec as it is: editing them changes
nothing, so `validate` and `plan` say so."""

from __future__ import annotations

from reconciler.spec.model import Pipeline


def unused_notes(pipeline: Pipeline) -> list[str]:
    """spec.schedule.cron with in_aws false: the workflow's start trigger is ON_DEMAND (the cron line or CI
    runs `reconcile run`), so the cron expression is never sent to AWS and editing it plans no change."""
    schedule = pipeline.schedule
    if schedule is None or schedule.in_aws or not schedule.cron:
        return []
    return [
        f"spec.schedule.cron ({schedule.cron}) is unused while spec.schedule.in_aws is false: the workflow's "
        "start trigger is ON_DEMAND, so editing cron changes nothing in AWS; whatever calls `reconcile run` "
        "(a cron line, CI) sets the time (docs/scheduling.md)"
    ]
