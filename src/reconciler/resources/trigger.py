"""Glue triggers of the quarterly workflow: a SCHEDULED start trigger for the crawler and a
CONDITIONAL trigger (CrawlState=SUCCEEDED) for the job.

UpdateTrigger replaces Description, Schedule, Actions, Predicate and EventBatchingCondition (TriggerUpdate
also has a Name, "Reserved for future use" in the botocore glue model: never sent); Type and WorkflowName
cannot change (replace). Enabling is StartTrigger / StopTrigger.

A trigger passes through CREATING, UPDATING, ACTIVATING, DEACTIVATING and DELETING (botocore glue model,
TriggerState). Every write waits for its trigger to settle, as terraform-provider-aws does
(internal/service/glue/wait.go: waitTriggerCreated, waitTriggerDeleted), and a read that meets a
transition waits for it too, so a plan never diffs a half-made trigger."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from reconciler.aws import wait
from reconciler.aws.context import AwsContext
from reconciler.aws.wait import Clock, Poll
from reconciler.errors import AwsApiError, AwsError
from reconciler.iam_statement import Statement
from reconciler.resources import fields
from reconciler.resources.base import Account, AttrChange, Attrs, Desired, aws_error, desired_tags, is_not_found
from reconciler.resources.fields import Field
from reconciler.resources.glue_common import (
    TRIGGER_PROPAGATION_MESSAGES,
    GlueBatchApi,
    TagListedGlueKind,
    renamed_statement,
    retry_iam_propagation,
    sync_tags,
)
from reconciler.spec import model
from reconciler.spec.model import Pipeline

#: TriggerState values that are on their way to another (botocore glue model, TriggerState enum).
TRANSITIONAL_STATES = frozenset({"CREATING", "UPDATING", "ACTIVATING", "DEACTIVATING", "DELETING"})
#: How long a trigger may stay in transition before we give up (terraform-provider-aws waitTriggerCreated
#: uses the resource's create timeout, 5 minutes by default).
SETTLE_TIMEOUT = 300.0
#: the state the waiter is told for a trigger in no transitional state, or gone
SETTLED = "settled"


def settle_sleep(seconds: float) -> None:
    """The wait between polls of a trigger in transition (a test replaces it, with monkeypatch.setattr)."""
    time.sleep(seconds)


def wait_trigger_settled(ctx: AwsContext, name: str, timeout: float = SETTLE_TIMEOUT) -> dict[str, Any] | None:
    """Poll GetTrigger until `name` is in no transitional state; its definition then, or None once gone
    (a DELETING trigger ends as EntityNotFoundException: waitTriggerDeleted's empty target)."""

    def status() -> tuple[dict[str, Any] | None, str]:
        try:
            trigger: dict[str, Any] = dict(ctx.call_fresh("glue", "get_trigger", Name=name)["Trigger"])
        except AwsApiError as exc:
            if is_not_found(exc):
                return None, SETTLED
            raise aws_error("waiting for", f"Glue trigger {name!r}", exc) from exc
        state = str(trigger.get("State", ""))
        return trigger, state if state in TRANSITIONAL_STATES else SETTLED

    try:
        return wait.until(status, pending=TRANSITIONAL_STATES, target={SETTLED}, timeout=timeout,
                          poll=Poll(0.5, cap=5.0, before_deadline=True), clock=Clock(sleep=settle_sleep))  # fmt: skip
    except wait.WaitTimeout as timed_out:
        raise AwsError(f"Glue trigger {name!r} still {timed_out.state} after {timeout:.0f}s; try again later") from None


def start_trigger_name(workflow: str) -> str:
    return f"{workflow}-start"


def job_trigger_name(workflow: str) -> str:
    return f"{workflow}-after-crawl"


def expand_actions(actions: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [{"CrawlerName": a["crawler"]} if "crawler" in a else {"JobName": a["job"]} for a in actions]


def expand_predicate(predicate: dict[str, Any] | None) -> dict[str, Any] | None:
    if predicate is None:
        return None
    conditions = []
    for cond in predicate["conditions"]:
        c: dict[str, Any] = {"LogicalOperator": "EQUALS"}
        if "crawler" in cond:
            c |= {"CrawlerName": cond["crawler"], "CrawlState": cond["state"]}
        else:
            c |= {"JobName": cond["job"], "State": cond["state"]}
        conditions.append(c)
    # moto answers HTTP 500 without Logical, and AWS defaults it to AND: always send it.
    return {"Logical": predicate["logical"], "Conditions": conditions}


def flatten_actions(actions: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"crawler": a["CrawlerName"]} if a.get("CrawlerName") else {"job": a.get("JobName", "")} for a in actions]


def flatten_predicate(predicate: dict[str, Any]) -> dict[str, Any] | None:
    if not predicate.get("Conditions"):
        return None
    conditions = []
    for c in predicate["Conditions"]:
        if c.get("CrawlerName"):
            conditions.append({"crawler": c["CrawlerName"], "state": c.get("CrawlState", "")})
        else:
            conditions.append({"job": c.get("JobName", ""), "state": c.get("State", "")})
    return {"logical": predicate.get("Logical") or "AND", "conditions": conditions}


#: Every attribute of a trigger, stated once (botocore glue model, CreateTrigger / Trigger). All are derived
#: from spec.schedule: which trigger it is (start or after-crawl), the cron, the crawler and the job.
FIELDS: tuple[Field, ...] = (
    # Type and WorkflowName are not in TriggerUpdate (botocore glue model): a change means replace.
    Field("type", "Type", default="", immutable=True,
          note="start: SCHEDULED with spec.schedule.in_aws, else ON_DEMAND; after-crawl: CONDITIONAL"),
    Field("workflow", "WorkflowName", optional=True, immutable=True, note="spec.schedule.workflow"),
    Field("description", "Description", default="", sample="Changed by the acceptance test",
          note="says what the trigger starts, and when"),
    Field("schedule", "Schedule", optional=True, sample="cron(15 12 * * ? *)",
          note="spec.schedule.cron on the start trigger; none on the after-crawl trigger"),
    Field("actions", "Actions", write=expand_actions, read=flatten_actions, default=[],
          sample=[{"job": "car-brands-prepare"}], note="the crawler (start) or the job (after-crawl)"),
    Field("predicate", "Predicate", write=expand_predicate, read=flatten_predicate, optional=True,
          sample={"logical": "AND", "conditions": [{"crawler": "car-brands-raw", "state": "FAILED"}]},
          note="after-crawl only: the crawl SUCCEEDED"),
    # Written with StartOnCreation on create and StartTrigger / StopTrigger later; read from State.
    Field("enabled", "State", spec="enabled", writable=False, read=lambda state: state in {"ACTIVATED", "ACTIVATING"},
          default=False, sample=False),
)  # fmt: skip


def flatten_trigger(t: dict[str, Any]) -> Attrs:
    return fields.flatten(FIELDS, t)


class TriggerKind(TagListedGlueKind):
    kind: ClassVar[str] = "trigger"
    level: ClassVar[int] = 5
    depends_on: ClassVar[frozenset[str]] = frozenset({"workflow", "crawler", "job"})
    api: ClassVar[GlueBatchApi] = GlueBatchApi(
        "list_triggers", "TriggerNames", "batch_get_triggers", "TriggerNames", "Triggers", "trigger"
    )
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "schedule")
    spec_model: ClassVar[type | None] = model.Schedule
    tagging_type: ClassVar[str | None] = None  # ListTriggers filters by tag (TagListedGlueKind)
    runs: ClassVar[bool] = False  # what a trigger starts is a crawl or a job run

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        triggers = self.glue_tag_arns(pipeline, account)
        if not triggers:
            return []
        return [
            renamed_statement("trigger", ("glue:GetTrigger", "glue:DeleteTrigger", "glue:StopTrigger"), pipeline,
                              account),
            Statement("Triggers", (
                "glue:CreateTrigger", "glue:GetTrigger", "glue:BatchGetTriggers", "glue:UpdateTrigger",
                "glue:DeleteTrigger", "glue:StartTrigger", "glue:StopTrigger",
            ), triggers, "the workflow's start and after-crawl triggers"),
        ]  # fmt: skip

    def glue_tag_arns(self, pipeline: Pipeline, account: Account) -> tuple[str, ...]:
        s = pipeline.schedule
        names = (start_trigger_name(s.workflow), job_trigger_name(s.workflow)) if s else ()
        return tuple(account.arn("glue", f"trigger/{n}") for n in names)

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        return []  # the role runs the crawler and the job, not the triggers

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        s = pipeline.schedule
        if s is None:
            return []
        # Exactly one scheduler (docs/scheduling.md): the cron only with spec.schedule.in_aws, else ON_DEMAND,
        # which has no active state ("True is not supported for ON_DEMAND triggers", CreateTrigger
        # StartOnCreation, AWS Glue API reference) and fires only on StartWorkflowRun.
        on_cron = {"type": "SCHEDULED", "schedule": s.cron, "description": f"Starts crawler {s.crawler} on {s.cron}"}
        on_demand = {"type": "ON_DEMAND", "enabled": False,
                     "description": f"Starts crawler {s.crawler} on demand (the schedule is outside AWS)"}  # fmt: skip
        start = fields.desired(
            FIELDS, s, workflow=s.workflow, actions=[{"crawler": s.crawler}], **(on_cron if s.in_aws else on_demand),
        )  # fmt: skip
        after = fields.desired(
            FIELDS, s, type="CONDITIONAL", workflow=s.workflow,
            description=f"Starts job {s.job} when crawler {s.crawler} succeeded", actions=[{"job": s.job}],
            predicate={"logical": "AND", "conditions": [{"crawler": s.crawler, "state": "SUCCEEDED"}]},
        )  # fmt: skip
        tags = desired_tags(pipeline)
        return [
            Desired(self.kind, start_trigger_name(s.workflow), start, tags),
            Desired(self.kind, job_trigger_name(s.workflow), after, tags),
        ]

    def flatten(self, item: dict[str, Any]) -> Attrs:
        return flatten_trigger(item)

    def settle(self, ctx: AwsContext, item: dict[str, Any]) -> dict[str, Any] | None:
        if item.get("State") in TRANSITIONAL_STATES:
            return wait_trigger_settled(ctx, item["Name"])
        return item

    def read_one(self, ctx: AwsContext, name: str) -> dict[str, Any] | None:
        try:
            item = dict(ctx.call("glue", "get_trigger", Name=name)["Trigger"])
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"Glue trigger {name!r}", exc) from exc
        return self.settle(ctx, item)

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        params: dict[str, Any] = {
            "Name": desired.name,
            **fields.expand(FIELDS, desired.attrs),
            "StartOnCreation": desired.attrs["enabled"],
            "Tags": dict(desired.tags),
        }
        try:
            retry_iam_propagation(lambda: ctx.call("glue", "create_trigger", **params), TRIGGER_PROPAGATION_MESSAGES)
        except AwsApiError as exc:
            raise aws_error("creating", f"Glue trigger {desired.name!r}", exc) from exc
        wait_trigger_settled(ctx, desired.name)  # waitTriggerCreated

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        a = desired.attrs
        changed = {c.top for c in changes}
        if changed - fields.immutable(FIELDS) - {"enabled", "tags"}:
            # UpdateTrigger replaces the whole TriggerUpdate: send every updatable field (not Name: reserved).
            updatable = [f for f in FIELDS if not f.immutable]
            update: dict[str, Any] = fields.expand(updatable, a)
            wait_trigger_settled(ctx, desired.name)
            try:
                ctx.call("glue", "update_trigger", Name=desired.name, TriggerUpdate=update)
            except AwsApiError as exc:
                raise aws_error("updating", f"Glue trigger {desired.name!r}", exc) from exc
            wait_trigger_settled(ctx, desired.name)
        if "enabled" in changed:
            op = "start_trigger" if a["enabled"] else "stop_trigger"
            wait_trigger_settled(ctx, desired.name)
            ctx.call("glue", op, Name=desired.name)
            wait_trigger_settled(ctx, desired.name)  # ACTIVATING / DEACTIVATING
        if "tags" in changed:
            sync_tags(ctx, ctx.glue_arn("trigger", desired.name), dict(desired.tags))

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            if wait_trigger_settled(ctx, name) is None:
                return
            ctx.call("glue", "delete_trigger", Name=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"Glue trigger {name!r}", exc) from exc
        # waitTriggerDeleted: a replace must not meet its own half-deleted trigger when it creates it again.
        wait_trigger_settled(ctx, name)
