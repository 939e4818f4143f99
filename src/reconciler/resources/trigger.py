"""Glue triggers of the quarterly workflow: a SCHEDULED start trigger for the crawler and a
CONDITIONAL trigger (CrawlState=SUCCEEDED) for the job.

UpdateTrigger replaces Name, Description, Schedule, Actions, Predicate and EventBatchingCondition;
Type and WorkflowName cannot change (replace). Enabling is StartTrigger / StopTrigger."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError
from reconciler.resources.base import Account, AttrChange, Attrs, Desired, aws_error, is_not_found
from reconciler.resources.glue_common import GlueBatchApi, TagListedGlueKind, sync_tags
from reconciler.spec.model import Pipeline


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


def flatten_trigger(t: dict[str, Any]) -> Attrs:
    actions = []
    for a in t.get("Actions", []):
        actions.append({"crawler": a["CrawlerName"]} if a.get("CrawlerName") else {"job": a.get("JobName", "")})
    predicate = None
    if t.get("Predicate") and t["Predicate"].get("Conditions"):
        conditions = []
        for c in t["Predicate"]["Conditions"]:
            if c.get("CrawlerName"):
                conditions.append({"crawler": c["CrawlerName"], "state": c.get("CrawlState", "")})
            else:
                conditions.append({"job": c.get("JobName", ""), "state": c.get("State", "")})
        predicate = {"logical": t["Predicate"].get("Logical") or "AND", "conditions": conditions}
    return {
        "type": t.get("Type", ""),
        "workflow": t.get("WorkflowName"),
        "description": t.get("Description", "") or "",
        "schedule": t.get("Schedule") or None,
        "actions": actions,
        "predicate": predicate,
        "enabled": t.get("State") in {"ACTIVATED", "ACTIVATING"},
    }


class TriggerKind(TagListedGlueKind):
    kind: ClassVar[str] = "trigger"
    level: ClassVar[int] = 5
    depends_on: ClassVar[frozenset[str]] = frozenset({"workflow", "crawler", "job"})
    api: ClassVar[GlueBatchApi] = GlueBatchApi(
        "list_triggers", "TriggerNames", "batch_get_triggers", "TriggerNames", "Triggers", "trigger"
    )
    immutable: ClassVar[frozenset[str]] = frozenset({"type", "workflow"})

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        s = pipeline.schedule
        if s is None:
            return []
        start: Attrs = {
            "type": "SCHEDULED",
            "workflow": s.workflow,
            "description": f"Starts crawler {s.crawler} on {s.cron}",
            "schedule": s.cron,
            "actions": [{"crawler": s.crawler}],
            "predicate": None,
            "enabled": s.enabled,
        }
        after: Attrs = {
            "type": "CONDITIONAL",
            "workflow": s.workflow,
            "description": f"Starts job {s.job} when crawler {s.crawler} succeeded",
            "schedule": None,
            "actions": [{"job": s.job}],
            "predicate": {"logical": "AND", "conditions": [{"crawler": s.crawler, "state": "SUCCEEDED"}]},
            "enabled": s.enabled,
        }
        tags = pipeline.all_tags
        return [
            Desired(self.kind, start_trigger_name(s.workflow), start, tags),
            Desired(self.kind, job_trigger_name(s.workflow), after, tags),
        ]

    def flatten(self, item: dict[str, Any]) -> Attrs:
        return flatten_trigger(item)

    def read_one(self, ctx: AwsContext, name: str) -> dict[str, Any] | None:
        try:
            return dict(ctx.call("glue", "get_trigger", Name=name)["Trigger"])
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"Glue trigger {name!r}", exc) from exc

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        a = desired.attrs
        params: dict[str, Any] = {
            "Name": desired.name,
            "Type": a["type"],
            "Description": a["description"],
            "Actions": expand_actions(a["actions"]),
            "StartOnCreation": a["enabled"],
            "Tags": dict(desired.tags),
        }
        if a["workflow"]:
            params["WorkflowName"] = a["workflow"]
        if a["schedule"]:
            params["Schedule"] = a["schedule"]
        if a["predicate"]:
            params["Predicate"] = expand_predicate(a["predicate"])
        try:
            ctx.call("glue", "create_trigger", **params)
        except AwsApiError as exc:
            raise aws_error("creating", f"Glue trigger {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        a = desired.attrs
        changed = {c.top for c in changes}
        if changed & {"description", "schedule", "actions", "predicate"}:
            update: dict[str, Any] = {
                "Name": desired.name,
                "Description": a["description"],
                "Actions": expand_actions(a["actions"]),
            }
            if a["schedule"]:
                update["Schedule"] = a["schedule"]
            if a["predicate"]:
                update["Predicate"] = expand_predicate(a["predicate"])
            try:
                ctx.call("glue", "update_trigger", Name=desired.name, TriggerUpdate=update)
            except AwsApiError as exc:
                raise aws_error("updating", f"Glue trigger {desired.name!r}", exc) from exc
        if "enabled" in changed:
            op = "start_trigger" if a["enabled"] else "stop_trigger"
            ctx.call("glue", op, Name=desired.name)
        if "tags" in changed:
            sync_tags(ctx, ctx.glue_arn("trigger", desired.name), dict(desired.tags))

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            ctx.call("glue", "delete_trigger", Name=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"Glue trigger {name!r}", exc) from exc
