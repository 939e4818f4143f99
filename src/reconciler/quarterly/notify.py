"""Telling people how a quarterly run ended (spec.notify): Slack-compatible webhooks and an SNS topic.

`run_pipeline` runs inside `notifying(...)`: when the run ends it builds one message per selected event
(run_failed, gate_failed, published, and slow when the run took longer than slow_after_minutes) and sends it
to every webhook and the topic. A notification that cannot be sent (a variable not set, a refused
connection, an SNS error) is a `warning` event of the run and nothing more: it never fails the run or
changes its exit code.

The message names the pipeline, the quarter, the run id, the step that failed, the reason, and the command
that shows the run (`reconcile show RUN_ID`, with the global options in force: reconciler.invocation).
Everything in it is masked (reconciler.masking): a job's error may quote an argument's value. The webhook's
URL is a secret too (a Slack webhook URL is its own credential): messages name its variable, never its URL.

Webhook body: `{"text": <the message>, "reconciler": {event, pipeline, quarter, run_id, step, reason,
inspect, seconds}}`. Slack's incoming webhooks take `text` as the message ("Sending messages using
incoming webhooks", https://api.slack.com/messaging/webhooks); the structured fields are for other
receivers.

SNS: Publish with `TopicArn`, `Subject` and `Message` (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html:
Subject "must be ASCII text that begins with a letter, number, or punctuation mark; must not include line
breaks or control characters; and must be less than 100 characters long"; Message at most 256 KB). Sent
with one attempt (`call_once`): a retried Publish whose first answer was lost would tell everyone twice.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.errors import GateError, ReconcilerError
from reconciler.invocation import command
from reconciler.masking import mask_text, mask_value
from reconciler.quarterly.types import EventSink, RunSummary
from reconciler.resources.topic import topic_arn
from reconciler.spec.model import Notify, Pipeline

if TYPE_CHECKING:
    from reconciler.aws.context import AwsContext

__all__ = ["Message", "message_for", "notifying", "sns_subject", "webhook_body"]

#: seconds a webhook may take to answer before it counts as failed
WEBHOOK_TIMEOUT = 10.0
#: SNS Publish: Subject "must be less than 100 characters long" (API_Publish.html)
SUBJECT_LIMIT = 99
#: SNS Publish: "Messages must be UTF-8 encoded strings and at most 256 KB in size"
MESSAGE_LIMIT = 256 * 1024
REASON_LIMIT = 2000

_TITLES = {
    "run_failed": "run failed",
    "gate_failed": "failed the quality gate",
    "published": "published",
    "slow": "slow run",
}


@dataclass(frozen=True)
class Message:
    event: str  # run_failed | gate_failed | published | slow
    pipeline: str
    quarter: str | None
    run_id: str | None
    step: str | None
    reason: str | None
    seconds: float

    @property
    def inspect(self) -> str | None:
        return command("show", self.run_id) if self.run_id else None

    def fields(self) -> dict[str, Any]:
        return dict(mask_value({"event": self.event, "pipeline": self.pipeline, "quarter": self.quarter,
                           "run_id": self.run_id, "step": self.step, "reason": self.reason,
                           "inspect": self.inspect, "seconds": round(self.seconds, 1)}))  # fmt: skip

    def text(self) -> str:
        head = f"{self.pipeline} {self.quarter or '(no quarter)'}: {_TITLES[self.event]}"
        lines = [head, f"run: {self.run_id or '(none yet)'}"]
        if self.step:
            lines.append(f"step: {self.step}")
        if self.reason:
            lines.append(f"reason: {self.reason}")
        lines.append(f"took: {self.seconds / 60:.1f} min")
        if self.inspect:
            lines.append(f"inspect: {self.inspect}")
        return mask_text("\n".join(lines))


def message_for(event: str, pipeline: str, summary: RunSummary, step: str | None, error: BaseException | None,
                seconds: float) -> Message:  # fmt: skip
    reason = None
    if error is not None:
        reason = error.message if isinstance(error, ReconcilerError) else f"{type(error).__name__}: {error}"
        reason = reason if len(reason) <= REASON_LIMIT else reason[: REASON_LIMIT - 3] + "..."
    elif event == "slow":
        reason = "the run took longer than spec.notify.slow_after_minutes"
    return Message(event, pipeline, summary.quarter, summary.run_id, step, reason, seconds)


def webhook_body(message: Message) -> dict[str, Any]:
    """Slack's `text` plus the structured fields under `reconciler`."""
    return {"text": message.text(), "reconciler": message.fields()}


def sns_subject(message: Message) -> str:
    """An SNS Subject: ASCII, one line, no control characters, under 100 characters (API_Publish.html)."""
    text = message.text().splitlines()[0]
    ascii_only = "".join(c if " " <= c <= "~" else "?" for c in text)
    return ascii_only if len(ascii_only) <= SUBJECT_LIMIT else ascii_only[: SUBJECT_LIMIT - 3] + "..."


def events_of(notify: Notify, error: BaseException | None, seconds: float) -> list[str]:
    """The events a run that ended so (error None: published) sends, in order."""
    if error is None:
        ended = "published"
    elif isinstance(error, GateError):
        ended = "gate_failed"
    else:
        ended = "run_failed"
    chosen = [ended] if ended in notify.events else []
    slow_after = notify.slow_after_minutes
    if "slow" in notify.events and slow_after is not None and seconds > slow_after * 60:
        chosen.append("slow")
    return chosen


def post_webhook(url: str, body: Mapping[str, Any], timeout: float = WEBHOOK_TIMEOUT) -> None:
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        answer.read()


def _reason_of(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, ReconcilerError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


@dataclass
class Sender:
    notify: Notify
    ctx: AwsContext
    warn: Any  # (message: str) -> None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def send(self, message: Message) -> None:
        body = webhook_body(message)
        for hook in self.notify.webhooks:
            url = self.env.get(hook.url_env, "")
            if not url:
                self.warn(f"notify: webhook ${hook.url_env} is not set; {message.event} was not sent there")
                continue
            if not url.startswith(("https://", "http://")):
                self.warn(f"notify: webhook ${hook.url_env} is not an http(s) URL; {message.event} was not sent")
                continue
            try:
                post_webhook(url, body)
            except Exception as exc:  # any failure is a warning: never the run's outcome
                self.warn(f"notify: webhook ${hook.url_env} failed ({mask_text(_reason_of(exc))}); "
                          f"{message.event} was not sent there")  # fmt: skip
        managed = self.notify.managed_topic
        if self.notify.sns_topic_arn or managed is not None:
            text = message.text()
            topic = self.notify.sns_topic_arn or (managed.name if managed is not None else "")
            try:
                if managed is not None and not self.notify.sns_topic_arn:
                    topic = topic_arn(self.ctx, managed.name)  # the account id: one STS call, once
                self.ctx.call_once("sns", "publish", TopicArn=topic, Subject=sns_subject(message),
                                   Message=text.encode("utf-8")[:MESSAGE_LIMIT].decode("utf-8", "ignore"))  # fmt: skip
            except Exception as exc:
                self.warn(f"notify: SNS topic {topic} failed ({mask_text(_reason_of(exc))}); "
                          f"{message.event} was not sent there")  # fmt: skip


class _Watch:
    """Follows the run's events for the step that was running when it ended."""

    def __init__(self, emit: EventSink) -> None:
        self.emit = emit
        self.step: str | None = None
        self.failed_step: str | None = None

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        if event == "step_started":
            self.step = fields.get("step")
        elif event == "step_failed":
            self.failed_step = self.failed_step or fields.get("step")
        self.emit(event, fields)


@contextmanager
def notifying(pipeline: Pipeline, ctx: AwsContext, summary: RunSummary, emit: EventSink) -> Iterator[EventSink]:
    """Run the body (the quarterly run, given the returned event sink), then tell spec.notify how it ended.
    The run's own outcome (its return or its exception) is never changed by a notification."""
    notify = pipeline.notify
    if notify is None:
        yield emit
        return
    started = time.monotonic()
    watch = _Watch(emit)

    def warn(text: str) -> None:
        summary.warnings.append(text)
        emit("warning", {"message": mask_text(text)})

    sender = Sender(notify, ctx, warn)

    def tell(error: BaseException | None) -> None:
        seconds = time.monotonic() - started
        step = (watch.failed_step or watch.step) if error is not None else None
        for event in events_of(notify, error, seconds):
            try:
                sender.send(message_for(event, pipeline.name, summary, step, error, seconds))
            except Exception as exc:  # a bug here must not become the run's outcome either
                warn(f"notify: {event} was not sent ({type(exc).__name__}: {exc})")

    try:
        yield watch
    except BaseException as error:
        tell(error)
        raise
    tell(None)
