"""spec.notify: the checks a schema cannot state, the validate warnings, and the model build.

The schema (schema/pipeline.v1.json, spec.notify) states the shape; here: a notify section must name someone
to tell, `slow` and `slow_after_minutes` go together, and a webhook whose environment variable is not set is
a *warning* (the URL is read at run time, where the same missing variable is a warning of the run), never an
error: a machine that only plans or validates need not hold the webhook's secret URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DocPath = tuple[str | int, ...]

__all__ = ["notify_env_findings", "notify_findings"]


def _notify(doc: Any) -> dict[str, Any] | None:
    spec = doc.get("spec") if isinstance(doc, dict) else None
    notify = spec.get("notify") if isinstance(spec, dict) else None
    return notify if isinstance(notify, dict) else None


def url_envs(notify: Mapping[str, Any]) -> list[tuple[int, str]]:
    hooks = notify.get("webhooks")
    return [
        (i, hook["url_env"])
        for i, hook in enumerate(hooks if isinstance(hooks, list) else [])
        if isinstance(hook, dict) and isinstance(hook.get("url_env"), str)
    ]


def notify_findings(doc: Any) -> list[tuple[DocPath, str]]:
    """Semantic problems of spec.notify, as (path, message)."""
    notify = _notify(doc)
    if notify is None:
        return []
    found: list[tuple[DocPath, str]] = []
    base: DocPath = ("spec", "notify")
    if not notify.get("webhooks") and not notify.get("sns_topic_arn") and not notify.get("sns_topic"):
        found.append((base, "names nobody to tell: add webhooks (url_env: NAME), sns_topic_arn or sns_topic, "
                            "or remove it"))  # fmt: skip
    if notify.get("sns_topic_arn") and notify.get("sns_topic"):
        found.append(((*base, "sns_topic"), "and sns_topic_arn exclude each other: name an existing topic by its "
                                            "ARN, or let the pipeline manage one"))  # fmt: skip
    events = notify.get("events")
    events = events if isinstance(events, list) else []
    slow_after = notify.get("slow_after_minutes")
    if "slow" in events and slow_after is None:
        found.append(((*base, "events"), "lists slow but spec.notify.slow_after_minutes is not set"))
    if slow_after is not None and "slow" not in events:
        found.append(((*base, "slow_after_minutes"), "is set but spec.notify.events does not list slow"))
    return found


def notify_env_findings(doc: Any, env: Mapping[str, str]) -> list[tuple[DocPath, str]]:
    """Validate *warnings*: a webhook whose environment variable is not set here; an existing topic that the
    EventBridge rule (resources/event_rule.py) publishes to, whose policy we do not manage."""
    notify = _notify(doc)
    if notify is None:
        return []
    found: list[tuple[DocPath, str]] = [
        (("spec", "notify", "webhooks", i, "url_env"),
         f"environment variable {name} is not set here: `reconcile run` would skip this webhook with a warning")
        for i, name in url_envs(notify)
        if not env.get(name)
    ]  # fmt: skip
    spec = doc.get("spec") or {}
    schedule = spec.get("schedule") if isinstance(spec, dict) else None
    events = notify.get("events", ["run_failed", "gate_failed"])
    failures = isinstance(events, list) and bool({"run_failed", "gate_failed"} & set(events))
    if notify.get("sns_topic_arn") and isinstance(schedule, dict) and schedule.get("in_aws") is True and failures:
        found.append((("spec", "notify", "sns_topic_arn"),
                      "spec.schedule.in_aws is true, so an EventBridge rule publishes the Glue workflow's failed job "
                      "runs to this topic: its access policy must allow events.amazonaws.com to sns:Publish, which "
                      "the pipeline does not set on a topic it does not own (docs/notify.md)"))  # fmt: skip
    return found


