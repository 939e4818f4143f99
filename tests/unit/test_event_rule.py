"""The EventBridge rule's derivation (resources/event_rule.py), the warning for an existing topic
(spec/notify_checks.py) and the local endpoint's InputTransformer for SNS targets (events_fixes.py)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_spec_project

from reconciler.resources import Account
from reconciler.resources.event_rule import EventRuleKind
from reconciler.resources.topic import TopicKind, events_statement, has_statement
from reconciler.spec.load import load_spec
from reconciler.spec.model import Pipeline
from reconciler_local.events_fixes import transformed

ACCOUNT = Account("123456789012", "eu-central-1")
ARN = "arn:aws:sns:eu-central-1:123456789012:car-brands-alerts"
MANAGED = "    sns_topic:\n      managed:\n        name: car-brands-alerts\n"


def pipeline(tmp_path: Path, notify: str, *, in_aws: bool = True) -> Pipeline:
    spec = make_spec_project(tmp_path)
    text = spec.read_text().replace("    in_aws: false", f"    in_aws: {'true' if in_aws else 'false'}")
    at = text.index("  publish:")
    spec.write_text(text[:at] + "  notify:\n" + notify + text[at:])
    return load_spec(spec, {})


def test_the_rule_is_derived_from_a_topic_in_aws_and_a_failure_event(tmp_path: Path) -> None:
    (rule,) = EventRuleKind().desired(pipeline(tmp_path, MANAGED), ACCOUNT)
    assert rule.address == "event_rule.car-brands-glue-job-failed"
    assert rule.attrs["event_pattern"] == {
        "source": ["aws.glue"], "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": ["car-brands-prepare"], "state": ["FAILED", "TIMEOUT", "STOPPED"]},
    }  # fmt: skip
    assert [t["arn"] for t in rule.attrs["targets"]] == [ARN]
    assert rule.attrs["state"] == "ENABLED" and rule.tags["reconciler:managed"] == "true"
    (topic,) = TopicKind().desired(pipeline(tmp_path, MANAGED), ACCOUNT)
    assert topic.attrs["eventbridge_publish"] is True

    assert EventRuleKind().desired(pipeline(tmp_path, MANAGED, in_aws=False), ACCOUNT) == []
    (topic,) = TopicKind().desired(pipeline(tmp_path, MANAGED, in_aws=False), ACCOUNT)
    assert topic.attrs["eventbridge_publish"] is False
    assert EventRuleKind().desired(pipeline(tmp_path, MANAGED + "    events: [published]\n"), ACCOUNT) == []
    webhook_only = pipeline(tmp_path, "    webhooks:\n      - url_env: HOOK\n")
    assert EventRuleKind().desired(webhook_only, ACCOUNT) == []
    (existing,) = EventRuleKind().desired(pipeline(tmp_path, f"    sns_topic_arn: {ARN}\n"), ACCOUNT)
    assert [t["arn"] for t in existing.attrs["targets"]] == [ARN]


def test_an_existing_topic_with_in_aws_warns_that_its_policy_must_allow_eventbridge(tmp_path: Path) -> None:
    (warning,) = pipeline(tmp_path, f"    sns_topic_arn: {ARN}\n").warnings
    assert warning.path == "spec.notify.sns_topic_arn" and warning.line > 1
    assert "must allow events.amazonaws.com to sns:Publish" in warning.message
    assert pipeline(tmp_path, f"    sns_topic_arn: {ARN}\n", in_aws=False).warnings == ()
    assert pipeline(tmp_path, MANAGED).warnings == ()  # a managed topic gets the statement itself


def test_the_local_endpoint_fills_a_plain_text_template_and_a_json_one() -> None:
    event = {"time": "2026-10-01T06:12:00Z", "detail": {"jobName": "j", "message": 'bad "row"', "n": 3}}
    plain = {"InputPathsMap": {"job": "$.detail.jobName", "message": "$.detail.message", "time": "$.time"},
             "InputTemplate": "job <job> at <time>: <message>"}  # fmt: skip
    assert transformed(plain, event) == 'job j at 2026-10-01T06:12:00Z: bad "row"'
    as_json = {
        "InputPathsMap": {"n": "$.detail.n", "job": "$.detail.jobName"},
        "InputTemplate": '{"count": <n>, "job": "<job>"}',
    }
    assert transformed(as_json, event) == '{"count": 3, "job": "j"}'


def test_the_topic_statement_is_recognised_as_iam_reads_it() -> None:
    topic, rule = ARN, "arn:aws:events:eu-central-1:123456789012:rule/car-brands-glue-job-failed"
    ours = events_statement(topic, rule)
    rewritten = {**ours, "Action": ["SNS:Publish"], "Principal": {"Service": ["events.amazonaws.com"]}}
    assert has_statement({"Statement": [rewritten]}, ours)
    assert has_statement({"Statement": ours}, ours)  # a single statement as an object
    other_rule = {**ours, "Condition": {"ArnEquals": {"aws:SourceArn": rule + "-other"}}}
    assert not has_statement({"Statement": [other_rule]}, ours)
    assert not has_statement({"Statement": [{**ours, "Action": "sns:Subscribe"}]}, ours)
