"""Fixes to moto's EventBridge where it differs from AWS in ways our pipeline meets.

1. Rules with an SNS topic target. moto 5.2 delivers matched events to CloudWatch Logs, archives, SQS and
event buses only; a rule targeting an SNS topic makes PutEvents fail with HTTP 500 ("Expr not defined for
<class 'moto.events.models.Rule'>", moto/events/models.py Rule.send_to_targets). On AWS an SNS topic is an
EventBridge target (EventBridge User Guide, "Event bus targets": Amazon SNS topic), and the topic's
subscribers get the event, or what the target's InputTransformer makes of it, as the message
(resources/event_rule.py's rule on "Glue Job State Change"). We publish to the topic here (a plain-text
InputTemplate too, which moto's own parser refuses) and hand the other targets to moto unchanged.

2. The Resource Groups Tagging API lists EventBridge rules (GetResources resource type `events:rule`,
Resource Groups Tagging API reference, "Supported resources"); moto lists only event buses
(EventsBackend.iter_tagged_resources), so a rule tagged as ours would not be found for a delete.

Not modelled: Glue does not emit "Glue Job State Change" events on this endpoint (its job runs do not call
PutEvents); tests send the event with PutEvents, as Glue would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from reconciler_local.moto_api import EventMessageType, EventsBackend, Rule, TaggedResource, parse_arn, sns_backends
from reconciler_local.patching import graft, original


def transformed(transformer: dict[str, Any], event: Mapping[str, object]) -> str:
    """What an InputTransformer makes of the event. A template may be plain text ("<instance> is in state
    <status>", EventBridge API reference, InputTransformer): moto's EventTemplateParser json.loads every
    template, so plain text fails there. Each <name> of InputPathsMap is replaced by the value at its JSON path
    (objects as JSON, strings as they are); a template that is then JSON is sent as moto sends it (a JSON
    string as its text), anything else as the text."""
    from jsonpath_ng.ext import parse  # type: ignore[attr-defined]  # moto's own JSON path library

    text = str(transformer.get("InputTemplate", ""))
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        found = parse(path).find(event)
        value = found[0].value if found else ""
        text = text.replace(f"<{name}>", value if isinstance(value, str) else json.dumps(value))
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    return decoded if isinstance(decoded, str) else json.dumps(decoded)


class RuleChanges(Rule):
    def send_to_targets(self, original_event: EventMessageType, transform_input: bool = True) -> None:
        if not self.event_pattern.matches_event(original_event):
            return
        others = [t for t in self.targets if parse_arn(t["Arn"]).service != "sns"]
        if len(others) == len(self.targets):
            original(Rule, "send_to_targets")(self, original_event, transform_input)  # no SNS target: moto's own
            return
        for target in self.targets:
            arn = parse_arn(target["Arn"])
            if arn.service != "sns":
                continue
            transformer = target.get("InputTransformer") or {}
            if transform_input and transformer.get("InputTemplate"):
                message = transformed(transformer, original_event)
            else:
                message = json.dumps(original_event)
            sns_backends()[arn.account][arn.region].publish(message=message, arn=target["Arn"])
        if others:  # a rule with SNS and other targets (not ours): moto's for the others
            kept = self.targets
            self.targets = others
            try:
                original(Rule, "send_to_targets")(self, original_event, transform_input)
            finally:
                self.targets = kept


class EventsBackendChanges(EventsBackend):
    def iter_tagged_resources(self) -> Iterator[TaggedResource]:
        yield from original(EventsBackend, "iter_tagged_resources")(self)
        for bus in self.event_buses.values():
            for rule in bus.rules.values():
                yield TaggedResource(
                    arn=rule.arn, tags=self.tagger.get_tag_dict_for_resource(rule.arn), resource_type="events:rule"
                )


def install() -> None:
    graft(Rule, RuleChanges)
    graft(EventsBackend, EventsBackendChanges)
