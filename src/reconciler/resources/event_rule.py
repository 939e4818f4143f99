"""EventBridge rule that tells the notification topic about Glue job runs that start inside AWS.

With `spec.schedule.in_aws: true` the Glue workflow's schedule starts the quarter's job run, and no
`reconcile run` is there to notify anyone (quarterly/notify.py). Glue sends a "Glue Job State Change" event
to EventBridge for every job run that ends (AWS Glue Developer Guide, "Automating AWS Glue with EventBridge":
https://docs.aws.amazon.com/glue/latest/dg/automating-awsglue-with-cloudwatch-events.html, source `aws.glue`,
detail `jobName`, `state` one of SUCCEEDED / FAILED / TIMEOUT / STOPPED, `jobRunId`, `message`). This rule
matches the failed ones of the scheduled job and targets the SNS topic of `spec.notify`.

It is derived, not declared: the rule exists exactly when the spec has an SNS topic (managed or an existing
ARN), `spec.schedule.in_aws` is true and `spec.notify.events` holds `run_failed` or `gate_failed` (a gate
failure is a failed job run, so EventBridge cannot tell them apart). A SUCCEEDED job run is not matched: for
a run the workflow starts, success is not `published` (`reconcile promote` publishes it later).

API (Amazon EventBridge API reference, https://docs.aws.amazon.com/eventbridge/latest/APIReference/):
PutRule (Name, EventPattern, State, Description, Tags; "If you're updating an existing rule, the rule is
replaced with what you specify in this PutRule command"; "If you are updating an existing rule, any tags you
specify in the PutRule operation are ignored. To update the tags of an existing rule, use TagResource and
UntagResource"), DescribeRule (ResourceNotFoundException when absent), PutTargets / ListTargetsByRule /
RemoveTargets, DeleteRule ("Before you can delete the rule, you must remove all targets, using
RemoveTargets"), TagResource / UntagResource / ListTagsForResource (ResourceARN). Rule names: up to 64
characters of `[\\.\\-_A-Za-z0-9]` (PutRule Name). The topic's resource policy must allow
events.amazonaws.com to sns:Publish (EventBridge User Guide, "Using resource-based policies for Amazon
EventBridge", section "Amazon SNS permissions":
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions):
resources/topic.py adds that statement to a managed topic; for an existing ARN the plan warns.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError, AwsError
from reconciler.iam_statement import Statement
from reconciler.resources import fields
from reconciler.resources.base import (
    Account,
    AttrChange,
    Attrs,
    Desired,
    KeyValueTags,
    Observed,
    ResourceKind,
    aws_error,
    desired_tags,
    is_not_found,
    tagged_as_ours,
)
from reconciler.resources.fields import Field
from reconciler.resources.glue_common import observed_owner_is
from reconciler.spec.model import Pipeline

#: The Glue job states the rule matches (Glue Developer Guide, "Glue Job State Change" detail.state).
FAILED_STATES = ("FAILED", "TIMEOUT", "STOPPED")
#: The id of the rule's one target (PutTargets Targets[].Id: up to 64 characters).
TARGET_ID = "notify-topic"

#: Every attribute of a rule, stated once (EventBridge API reference: PutRule / DescribeRule, PutTargets).
FIELDS: tuple[Field, ...] = (
    Field("description", "Description", default="", note="derived: says which pipeline and topic"),
    Field("event_pattern", "EventPattern", read=json.loads, write=lambda p: json.dumps(p, sort_keys=True),
          default=None, note="derived: source aws.glue, the scheduled job, the failed states; compared as JSON"),
    Field("state", "State", default="ENABLED", sample="DISABLED"),
    Field("targets", note="derived: the notify topic; read with ListTargetsByRule, written with PutTargets and "
          "RemoveTargets (ids not declared are removed)"),
)  # fmt: skip


def rule_name(pipeline: Pipeline) -> str:
    return f"{pipeline.name}-glue-job-failed"[:64]


def topic_of(pipeline: Pipeline, account: Account) -> str | None:
    """The ARN of spec.notify's SNS topic, managed or existing; None without one."""
    notify = pipeline.notify
    if notify is None:
        return None
    if notify.managed_topic is not None:
        return account.arn("sns", notify.managed_topic.name)
    return notify.sns_topic_arn


def rule_wanted(pipeline: Pipeline) -> bool:
    """Whether the spec derives the rule: an SNS topic, in_aws, and a failure event to send."""
    notify, schedule = pipeline.notify, pipeline.schedule
    if notify is None or schedule is None or not schedule.in_aws:
        return False
    has_topic = notify.managed_topic is not None or bool(notify.sns_topic_arn)
    return has_topic and bool({"run_failed", "gate_failed"} & set(notify.events))


def rule_arn(account: Account | AwsContext, pipeline: Pipeline) -> str:
    """arn:aws:events:REGION:ACCOUNT:rule/NAME (a rule on the default event bus, as PutRule returns it)."""
    return f"arn:{account.partition}:events:{account.region}:{account.account_id}:rule/{rule_name(pipeline)}"


def event_pattern(pipeline: Pipeline) -> dict[str, Any]:
    jobs = [pipeline.schedule.job] if pipeline.schedule is not None else []
    return {
        "source": ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": jobs, "state": list(FAILED_STATES)},
    }


def target(pipeline: Pipeline, topic_arn: str) -> dict[str, Any]:
    """The topic, with an InputTransformer that makes the event a readable line (EventBridge API reference,
    InputTransformer: a plain-text InputTemplate such as "<instance> is in state <status>" is sent as text, its
    <name>s filled from InputPathsMap; no JSON quoting, so a quote in Glue's message cannot break it)."""
    workflow = pipeline.schedule.workflow if pipeline.schedule is not None else ""
    template = (
        f"{pipeline.name}: Glue job <job> run <run> ended <state> at <time> (started inside AWS by Glue "
        f"workflow {workflow}): <message> Inspect it with: aws glue get-job-run --job-name <job> --run-id <run>"
    )
    paths = {"job": "$.detail.jobName", "run": "$.detail.jobRunId", "state": "$.detail.state",
             "message": "$.detail.message", "time": "$.time"}  # fmt: skip
    return {"id": TARGET_ID, "arn": topic_arn, "input_paths": paths, "input_template": template}


def _expand_target(t: dict[str, Any]) -> dict[str, Any]:
    return {"Id": t["id"], "Arn": t["arn"],
            "InputTransformer": {"InputPathsMap": t["input_paths"], "InputTemplate": t["input_template"]}}  # fmt: skip


def _flatten_target(t: dict[str, Any]) -> dict[str, Any]:
    transformer = t.get("InputTransformer") or {}
    return {"id": str(t.get("Id", "")), "arn": str(t.get("Arn", "")),
            "input_paths": dict(transformer.get("InputPathsMap") or {}),
            "input_template": str(transformer.get("InputTemplate", ""))}  # fmt: skip


TAGS = KeyValueTags("events", "ResourceARN")  # EventBridge's tag API (Amazon EventBridge API reference)


def get_rule_tags(ctx: AwsContext, arn: str) -> dict[str, str]:
    return TAGS.read(ctx, arn)


def list_targets(ctx: AwsContext, name: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = ""
    while True:
        page = ctx.call("events", "list_targets_by_rule", Rule=name, **({"NextToken": token} if token else {}))
        out += page.get("Targets", [])
        token = str(page.get("NextToken") or "")
        if not token:
            return out


#: PutTargets / RemoveTargets answer HTTP 200 with FailedEntryCount / FailedEntries {TargetId, ErrorCode,
#: ErrorMessage} when some entries failed (botocore's events model, PutTargetsResponse, RemoveTargetsResponse;
#: terraform-provider-aws internal/service/events/target.go fails on a non-zero FailedEntryCount). An entry whose
#: ErrorCode is ConcurrentModificationException ("too many requests were made at the same time", the model's
#: PutTargetsResultEntry.ErrorCode documentation) is sent again, at most ENTRY_ATTEMPTS times in all.
ENTRY_ATTEMPTS = 4
RETRIED_ENTRY_CODES = frozenset({"ConcurrentModificationException", "InternalException"})


def entries_checked(ctx: AwsContext, operation: str, rule: str, **kwargs: Any) -> None:
    """PutTargets (Targets=) or RemoveTargets (Ids=) on `rule`, checking FailedEntryCount: the failed entries
    with a transient code are sent again; what still fails is an AwsError naming each target and its error."""
    key = "Targets" if operation == "put_targets" else "Ids"
    pending = list(kwargs[key])
    failed: list[dict[str, Any]] = []
    for attempt in range(ENTRY_ATTEMPTS):
        answer = ctx.call("events", operation, Rule=rule, **{key: pending})
        failed = list(answer.get("FailedEntries") or []) if answer.get("FailedEntryCount") else []
        if not failed:
            return
        failed_ids = {str(f.get("TargetId")) for f in failed}
        if any(f.get("ErrorCode") not in RETRIED_ENTRY_CODES for f in failed) or attempt == ENTRY_ATTEMPTS - 1:
            break
        pending = [p for p in pending if str(p["Id"] if isinstance(p, dict) else p) in failed_ids]
        time.sleep(0.5 * 2**attempt)
    what = "adding targets to" if operation == "put_targets" else "removing targets from"
    detail = "; ".join(f"{f.get('TargetId')}: {f.get('ErrorCode')}: {f.get('ErrorMessage')}" for f in failed)
    raise AwsError(f"{what} EventBridge rule {rule!r}: {len(failed)} entr{'y' if len(failed) == 1 else 'ies'} "
                   f"failed ({detail})", hint="apply again: it continues from the live state")  # fmt: skip


class EventRuleKind(ResourceKind):
    kind: ClassVar[str] = "event_rule"
    level: ClassVar[int] = 6  # after the topic it targets (deleted before it)
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    depends_on: ClassVar[frozenset[str]] = frozenset({"topic"})
    spec_section: ClassVar[tuple[str, ...] | None] = None  # derived: from spec.notify and spec.schedule.in_aws
    tagging_type: ClassVar[str | None] = "events:rule"
    runs: ClassVar[bool] = False

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        if not rule_wanted(pipeline):
            return []
        # Amazon EventBridge actions (Service Authorization Reference, "Actions defined by Amazon EventBridge":
        # each on resource type `rule`, arn:...:events:REGION:ACCOUNT:rule/NAME). An SNS target is authorised by
        # the topic's policy, not by a role, so PutTargets needs no iam:PassRole (PutTargets API reference).
        return [Statement("NotifyEventRule", (
            "events:PutRule", "events:DescribeRule", "events:DeleteRule", "events:PutTargets",
            "events:RemoveTargets", "events:ListTargetsByRule", "events:TagResource", "events:UntagResource",
            "events:ListTagsForResource",
        ), (rule_arn(account, pipeline),), "the EventBridge rule that tells the topic about failed job runs "
           "the Glue workflow starts (docs/notify.md)")]  # fmt: skip

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        return []  # EventBridge publishes to the topic by the topic's policy

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        topic = topic_of(pipeline, account)
        if not rule_wanted(pipeline) or topic is None:
            return []
        attrs = fields.desired(
            FIELDS, pipeline,
            description=f"Tells {topic.rsplit(':', 1)[-1]} when a Glue job run of pipeline {pipeline.name} fails",
            event_pattern=event_pattern(pipeline), targets=[target(pipeline, topic)],
        )  # fmt: skip
        return [Desired(self.kind, rule_name(pipeline), attrs, desired_tags(pipeline))]

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        try:
            rule = ctx.call("events", "describe_rule", Name=name)
            targets = list_targets(ctx, name)
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"EventBridge rule {name!r}", exc) from exc
        attrs: Attrs = fields.flatten(FIELDS, rule)
        attrs["targets"] = sorted((_flatten_target(t) for t in targets), key=lambda t: str(t["id"]))
        return Observed(attrs, get_rule_tags(ctx, str(rule.get("Arn") or rule_arn(ctx, pipeline))))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """The derived name and the rules the Tagging API lists under our owner tag (the one shared request,
        base.tagging_types()), each confirmed by its own ListTagsForResource."""
        candidates = {*(d.name for d in self.desired(pipeline, Account("", ctx.region))),
                      *tagged_as_ours(ctx, pipeline, "events:rule")}  # fmt: skip
        return sorted(n for n in candidates if observed_owner_is(get_rule_tags(ctx, self._arn(ctx, n)), pipeline))

    @staticmethod
    def _arn(ctx: AwsContext, name: str) -> str:
        return f"arn:{ctx.partition}:events:{ctx.region}:{ctx.account_id}:rule/{name}"

    def _put_rule(self, ctx: AwsContext, desired: Desired, **extra: Any) -> None:
        ctx.call("events", "put_rule", Name=desired.name, **fields.expand(FIELDS, desired.attrs), **extra)

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        try:
            self._put_rule(ctx, desired, Tags=[{"Key": k, "Value": v} for k, v in sorted(dict(desired.tags).items())])
            entries_checked(ctx, "put_targets", desired.name,
                            Targets=[_expand_target(t) for t in desired.attrs["targets"]])  # fmt: skip
        except AwsApiError as exc:
            raise aws_error("creating", f"EventBridge rule {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        tops = {c.top for c in changes}
        if tops & {"description", "event_pattern", "state"}:
            self._put_rule(ctx, desired)  # PutRule replaces the rule's definition (not its tags or targets)
        if "targets" in tops:
            wanted = desired.attrs["targets"]
            entries_checked(ctx, "put_targets", desired.name, Targets=[_expand_target(t) for t in wanted])
            extra = [str(t.get("Id")) for t in list_targets(ctx, desired.name)
                     if t.get("Id") not in {w["id"] for w in wanted}]  # fmt: skip
            if extra:
                entries_checked(ctx, "remove_targets", desired.name, Ids=extra)
        if "tags" in tops:
            TAGS.sync(ctx, self._arn(ctx, desired.name), desired.tags)

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            ids = [str(t["Id"]) for t in list_targets(ctx, name)]
            if ids:
                entries_checked(ctx, "remove_targets", name, Ids=ids)
            ctx.call("events", "delete_rule", Name=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"EventBridge rule {name!r}", exc) from exc
