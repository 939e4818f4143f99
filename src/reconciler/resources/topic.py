"""SNS topic the pipeline creates and owns for its notifications (spec.notify.sns_topic.managed).

API (Amazon SNS API reference): CreateTopic (Name, Attributes, Tags; "This action is idempotent, so if the
requester already owns a topic with the specified name, that topic's ARN is returned without creating a new
topic"), GetTopicAttributes (error `NotFound` when absent), SetTopicAttributes (one attribute per call),
ListTagsForResource / TagResource / UntagResource, DeleteTopic ("Deleting a topic that does not exist does not
result in an error"). Topic names: up to 256 letters, digits, hyphens and underscores (CreateTopic Name).
Because CreateTopic answers 200 for an existing topic, ownership is decided by the plan's read (our tags),
as for every kind: a topic under the declared name without our tags is a conflict, never silently ours.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError
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
from reconciler.resources.event_rule import rule_arn, rule_wanted
from reconciler.resources.fields import Field
from reconciler.resources.glue_common import observed_owner_is
from reconciler.spec import model
from reconciler.spec.model import Pipeline

#: The Sid of the topic policy statement that lets our EventBridge rule publish (resources/event_rule.py).
EVENTS_SID = "ReconcilerEventBridgePublish"

#: Every attribute of a topic, stated once (SNS API reference: CreateTopic Attributes, GetTopicAttributes).
FIELDS: tuple[Field, ...] = (
    Field("display_name", "Attributes.DisplayName", spec="display_name", default="", sample="Car brands alerts"),
    Field("eventbridge_publish", default=False, security=True,
          note="derived: true when resources/event_rule.py's rule targets the topic; the statement "
          f"{EVENTS_SID!r} of Attributes.Policy (read from GetTopicAttributes, written with SetTopicAttributes; "
          "the topic's other statements are kept)"),
)  # fmt: skip


def events_statement(topic: str, rule: str) -> dict[str, Any]:
    """Lets EventBridge publish to the topic for our rule only (EventBridge User Guide, "Amazon SNS
    permissions": https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions,
    Principal events.amazonaws.com, sns:Publish, Condition ArnEquals aws:SourceArn the rule)."""
    return {"Sid": EVENTS_SID, "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish", "Resource": topic,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}  # fmt: skip


def _policy(attributes: dict[str, Any]) -> dict[str, Any]:
    raw = attributes.get("Policy")
    try:
        doc = json.loads(raw) if raw else {}
    except ValueError:
        doc = {}
    return doc if isinstance(doc, dict) else {}


def _statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc.get("Statement", [])
    return [s for s in (found if isinstance(found, list) else [found]) if isinstance(s, dict)]


def _normalised(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement compared as IAM reads it: a one-element list is its element, action names are
    case-insensitive (IAM User Guide, "IAM JSON policy elements: Action": "Action ... values are
    case-insensitive"), so "SNS:Publish" and ["sns:Publish"] are the same grant."""

    def one(value: Any) -> Any:
        return value[0] if isinstance(value, list) and len(value) == 1 else value

    action = one(statement.get("Action"))
    actions = sorted(a.lower() for a in (action if isinstance(action, list) else [action]) if isinstance(a, str))
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        principal = {k: one(v) for k, v in principal.items()}
    return {**statement, "Action": actions, "Principal": principal, "Resource": one(statement.get("Resource"))}


def has_statement(doc: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return any(_normalised(s) == _normalised(wanted) for s in _statements(doc))


def topic_arn(ctx: AwsContext, name: str) -> str:
    """arn:aws:sns:REGION:ACCOUNT:NAME (SNS topic ARN format, the ARN CreateTopic returns)."""
    return f"arn:{ctx.partition}:sns:{ctx.region}:{ctx.account_id}:{name}"


TAGS = KeyValueTags("sns")  # ListTagsForResource / TagResource / UntagResource (Amazon SNS API reference)


def get_topic_tags(ctx: AwsContext, arn: str) -> dict[str, str]:
    return TAGS.read(ctx, arn)


class TopicKind(ResourceKind):
    kind: ClassVar[str] = "topic"
    level: ClassVar[int] = 0
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "notify", "sns_topic", "managed")
    spec_model: ClassVar[type | None] = model.ManagedTopic
    tagging_type: ClassVar[str | None] = "sns"  # topics (a subscription's ARN adds ":id")
    runs: ClassVar[bool] = False

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        out: list[Statement] = []
        notify = pipeline.notify
        if notify is not None and notify.sns_topic_arn:
            out.append(Statement("NotifyTopic", ("sns:Publish",), (notify.sns_topic_arn,),
                                 "run tells spec.notify's topic how the run ended (docs/notify.md)"))  # fmt: skip
        if notify is not None and notify.managed_topic is not None:
            # Amazon SNS actions (Service Authorization Reference, "Actions defined by Amazon SNS"); the topic's
            # tags are read and written with sns:ListTagsForResource / sns:TagResource / sns:UntagResource.
            out.append(Statement("NotifyManagedTopic", (
                "sns:CreateTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:DeleteTopic",
                "sns:Publish", "sns:ListTagsForResource", "sns:TagResource", "sns:UntagResource",
            ), (account.arn("sns", notify.managed_topic.name),),
                "the notification topic this pipeline owns"))  # fmt: skip
        return out

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        return []  # the run publishes, as the operator; EventBridge by the topic's policy

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        topic = pipeline.notify.managed_topic if pipeline.notify is not None else None
        if topic is None:
            return []
        attrs = fields.desired(FIELDS, topic, eventbridge_publish=rule_wanted(pipeline))
        return [Desired(self.kind, topic.name, attrs, desired_tags(pipeline))]

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        arn = topic_arn(ctx, name)
        try:
            attributes = ctx.call("sns", "get_topic_attributes", TopicArn=arn)
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"SNS topic {name!r}", exc) from exc
        attrs = fields.flatten(FIELDS, attributes)
        statement = events_statement(arn, rule_arn(ctx, pipeline))
        attrs["eventbridge_publish"] = has_statement(_policy(attributes.get("Attributes", {})), statement)
        return Observed(attrs, get_topic_tags(ctx, arn))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """The declared topic and those the Tagging API lists under our owner tag (the request every kind
        found that way shares: base.tagging_types()), each confirmed by its own tags."""
        declared = [d.name for d in self.desired(pipeline, Account("", ctx.region))]
        candidates = {*declared, *tagged_as_ours(ctx, pipeline, "sns")}
        return sorted(n for n in candidates if observed_owner_is(get_topic_tags(ctx, topic_arn(ctx, n)), pipeline))

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        attributes: dict[str, Any] = fields.expand(FIELDS, desired.attrs).get("Attributes", {})
        try:
            ctx.call(
                "sns", "create_topic", Name=desired.name,
                Attributes={k: v for k, v in attributes.items() if v != ""},
                Tags=[{"Key": k, "Value": v} for k, v in sorted(dict(desired.tags).items())],
            )  # fmt: skip
        except AwsApiError as exc:
            raise aws_error("creating", f"SNS topic {desired.name!r}", exc) from exc
        if desired.attrs.get("eventbridge_publish"):
            self._set_events_statement(ctx, desired.name, pipeline, wanted=True)

    def _set_events_statement(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, wanted: bool) -> None:
        """Add or remove our statement in the topic policy, keeping every other statement (SetTopicAttributes
        Policy replaces the whole document)."""
        arn = topic_arn(ctx, name)
        doc = _policy(ctx.call("sns", "get_topic_attributes", TopicArn=arn).get("Attributes", {}))
        kept = [s for s in _statements(doc) if s.get("Sid") != EVENTS_SID]
        statements = kept + ([events_statement(arn, rule_arn(ctx, pipeline))] if wanted else [])
        policy = {"Version": doc.get("Version", "2012-10-17"), **({"Id": doc["Id"]} if "Id" in doc else {}),
                  "Statement": statements}  # fmt: skip
        ctx.call("sns", "set_topic_attributes", TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy))

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        arn = topic_arn(ctx, desired.name)
        attrs: Attrs = desired.attrs
        if any(c.top == "display_name" for c in changes):
            ctx.call("sns", "set_topic_attributes", TopicArn=arn, AttributeName="DisplayName",
                     AttributeValue=str(attrs.get("display_name", "")))  # fmt: skip
        if any(c.top == "eventbridge_publish" for c in changes):
            self._set_events_statement(ctx, desired.name, pipeline, wanted=bool(attrs.get("eventbridge_publish")))
        if any(c.top == "tags" for c in changes):
            TAGS.sync(ctx, arn, desired.tags)

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            ctx.call("sns", "delete_topic", TopicArn=topic_arn(ctx, name))
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"SNS topic {name!r}", exc) from exc
