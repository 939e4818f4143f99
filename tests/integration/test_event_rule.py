"""The EventBridge rule on "Glue Job State Change" (resources/event_rule.py): derived from spec.notify's SNS
topic and spec.schedule.in_aws, created with its pattern, target and ownership tags, the managed topic's policy
letting EventBridge publish; drift of state, pattern and targets planned and restored; deleted when in_aws
goes and by destroy; a matching event sent with PutEvents reaches the topic's SQS subscriber."""

from __future__ import annotations

import json
from typing import Any

from .conftest import JOB, Project
from .test_notify import add_notify, sqs_messages

TOPIC = "car-brands-managed-alerts"
RULE = "car-brands-glue-job-failed"
ADDRESS = f"event_rule.{RULE}"
PATTERN = {
    "source": ["aws.glue"],
    "detail-type": ["Glue Job State Change"],
    "detail": {"jobName": [JOB], "state": ["FAILED", "TIMEOUT", "STOPPED"]},
}


def in_aws_project(project: Project, notify: str = f"    sns_topic:\n      managed:\n        name: {TOPIC}\n") -> None:
    project.edit("    in_aws: false", "    in_aws: true")
    add_notify(project, notify)


def arns(aws: Any) -> tuple[str, str]:
    account = aws.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:sns:{aws.region}:{account}:{TOPIC}", f"arn:aws:events:{aws.region}:{account}:rule/{RULE}"


def policy_statements(aws: Any, topic: str) -> list[dict[str, Any]]:
    policy = json.loads(aws.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    statements: list[dict[str, Any]] = policy["Statement"]
    return statements


def apply(project: Project, *args: str) -> None:
    result = project.cli("apply", "--auto-approve", *args)
    assert result.exit_code == 0, result.output


def assert_clean(project: Project) -> None:
    result = project.cli("plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output


def test_the_rule_is_created_with_its_pattern_target_tags_and_the_topic_policy(project: Project, aws: Any) -> None:
    in_aws_project(project)
    changes = project.changes()
    assert changes[ADDRESS]["action"] == "create" and changes[f"topic.{TOPIC}"]["action"] == "create"
    apply(project)
    events = aws.client("events")
    topic, rule = arns(aws)
    described = events.describe_rule(Name=RULE)
    assert json.loads(described["EventPattern"]) == PATTERN
    assert described["State"] == "ENABLED"
    targets = events.list_targets_by_rule(Rule=RULE)["Targets"]
    assert [(t["Id"], t["Arn"]) for t in targets] == [("notify-topic", topic)]
    assert targets[0]["InputTransformer"]["InputPathsMap"]["job"] == "$.detail.jobName"
    tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=rule)["Tags"]}
    assert tags["reconciler:pipeline"] == "car-brands" and tags["reconciler:managed"] == "true"
    ours = [s for s in policy_statements(aws, topic) if s.get("Sid") == "ReconcilerEventBridgePublish"]
    assert ours == [{
        "Sid": "ReconcilerEventBridgePublish", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish", "Resource": topic, "Condition": {"ArnEquals": {"aws:SourceArn": rule}},
    }]  # fmt: skip
    assert len(policy_statements(aws, topic)) == 2  # the topic's default statement is kept
    assert_clean(project)


def test_drift_of_state_pattern_target_and_topic_policy_is_planned_and_restored(project: Project, aws: Any) -> None:
    in_aws_project(project)
    apply(project)
    events, sns = aws.client("events"), aws.client("sns")
    topic, _ = arns(aws)

    events.disable_rule(Name=RULE)
    change = project.changes()[ADDRESS]
    assert change["action"] == "update"
    assert events.describe_rule(Name=RULE)["State"] == "DISABLED"  # plan changed nothing
    apply(project)
    assert events.describe_rule(Name=RULE)["State"] == "ENABLED"

    events.put_rule(Name=RULE, EventPattern=json.dumps({"source": ["aws.glue"]}), State="ENABLED")
    assert project.changes()[ADDRESS]["action"] == "update"
    apply(project)
    assert json.loads(events.describe_rule(Name=RULE)["EventPattern"]) == PATTERN

    events.remove_targets(Rule=RULE, Ids=["notify-topic"])
    events.put_targets(Rule=RULE, Targets=[{"Id": "someone-else", "Arn": topic}])
    assert project.changes()[ADDRESS]["action"] == "update"
    apply(project)
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=RULE)["Targets"]] == ["notify-topic"]

    kept = [s for s in policy_statements(aws, topic) if s.get("Sid") != "ReconcilerEventBridgePublish"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                             AttributeValue=json.dumps({"Version": "2008-10-17", "Statement": kept}))  # fmt: skip
    assert project.changes()[f"topic.{TOPIC}"]["action"] == "update"
    apply(project)
    assert "ReconcilerEventBridgePublish" in [s.get("Sid") for s in policy_statements(aws, topic)]
    assert_clean(project)


def test_without_in_aws_the_rule_is_deleted_and_destroy_removes_it(project: Project, aws: Any) -> None:
    in_aws_project(project)
    apply(project)
    events = aws.client("events")
    topic, _ = arns(aws)
    project.edit("    in_aws: true", "    in_aws: false")
    changes = project.changes()
    assert changes[ADDRESS]["action"] == "delete"  # found through the Tagging API: no longer derived
    assert changes[f"topic.{TOPIC}"]["action"] == "update"  # its EventBridge statement goes too
    apply(project)
    assert RULE not in [r["Name"] for r in events.list_rules()["Rules"]]
    assert "ReconcilerEventBridgePublish" not in [s.get("Sid") for s in policy_statements(aws, topic)]
    assert_clean(project)

    project.edit("    in_aws: false", "    in_aws: true")
    apply(project)
    assert RULE in [r["Name"] for r in events.list_rules()["Rules"]]
    assert project.cli("destroy", "--auto-approve", "--force").exit_code == 0
    assert RULE not in [r["Name"] for r in events.list_rules()["Rules"]]


def test_no_rule_without_a_failure_event_and_a_warning_for_an_existing_topic(project: Project, aws: Any) -> None:
    in_aws_project(project, f"    sns_topic:\n      managed:\n        name: {TOPIC}\n    events: [published]\n")
    assert ADDRESS not in project.changes()
    text = project.spec.read_text()
    at, end = text.index("  notify:\n"), text.index("  publish:")
    topic, _ = arns(aws)
    project.spec.write_text(text[:at] + f"  notify:\n    sns_topic_arn: {topic}\n" + text[end:])
    result = project.cli("plan")
    assert result.exit_code == 0, result.output
    assert "must allow events.amazonaws.com to sns:Publish" in " ".join(result.output.split())
    assert project.changes()[ADDRESS]["action"] == "create"


def test_a_failed_glue_job_event_reaches_the_topic_subscriber(project: Project, aws: Any) -> None:
    in_aws_project(project)
    apply(project)
    sns, sqs, events = aws.client("sns"), aws.client("sqs"), aws.client("events")
    topic, _ = arns(aws)
    queue_url = sqs.create_queue(QueueName="event-rule-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    def glue_event(job: str, state: str) -> dict[str, Any]:
        message = 'Command failed with exit code 1: "ValueError: bad row"'  # quotes reach the reader unharmed
        detail = {"jobName": job, "severity": "ERROR", "state": state, "jobRunId": "jr_0123", "message": message}
        return {"Source": "aws.glue", "DetailType": "Glue Job State Change", "Detail": json.dumps(detail)}

    answer = events.put_events(Entries=[glue_event(JOB, "SUCCEEDED"), glue_event("another-job", "FAILED"),
                                        glue_event(JOB, "FAILED")])  # fmt: skip
    assert answer["FailedEntryCount"] == 0
    messages = [m["Message"] for m in sqs_messages(sqs, queue_url)]
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"car-brands: Glue job {JOB} run jr_0123 ended FAILED at ")
    assert 'Command failed with exit code 1: "ValueError: bad row"' in messages[0]
    assert f"aws glue get-job-run --job-name {JOB} --run-id jr_0123" in messages[0]


def test_the_endpoint_still_delivers_to_other_targets_as_moto_does(aws: Any) -> None:
    """events_fixes.py hands rules without an SNS target to moto unchanged (an SQS target here)."""
    sqs, events = aws.client("sqs"), aws.client("events")
    queue_url = sqs.create_queue(QueueName="event-rule-sqs-target")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="sqs-rule", EventPattern=json.dumps({"source": ["aws.glue"]}))
    events.put_targets(Rule="sqs-rule", Targets=[{"Id": "q", "Arn": queue_arn}])
    detail = json.dumps({"jobName": JOB, "state": "FAILED"})
    events.put_events(Entries=[{"Source": "aws.glue", "DetailType": "Glue Job State Change", "Detail": detail}])
    got = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["state"] for m in got] == ["FAILED"]


def test_targets_that_eventbridge_fails_with_http_200_are_retried_or_refused(project: Project, aws: Any) -> None:
    """PutTargets answers HTTP 200 with FailedEntryCount when some targets failed (botocore's events model): a
    ConcurrentModificationException entry is sent again; another error fails the apply, naming the target."""
    from reconciler_local import call_admin

    in_aws_project(project)
    call_admin(project.endpoint, "faults", {"failed_entries": {"operation": "events:PutTargets",
                                                               "code": "ConcurrentModificationException", "times": 1}})
    apply(project)
    assert call_admin(project.endpoint, "faults")["injected"].get("failed_entries") == 1
    assert len(aws.client("events").list_targets_by_rule(Rule=RULE)["Targets"]) == 1
    assert_clean(project)
    aws.client("events").remove_targets(Rule=RULE, Ids=[t["Id"] for t in aws.client("events").list_targets_by_rule(
        Rule=RULE)["Targets"]])  # fmt: skip
    call_admin(project.endpoint, "faults", {"failed_entries": {"operation": "events:PutTargets",
                                                               "code": "ValidationException"}})
    failed = project.cli("apply", "--auto-approve")
    call_admin(project.endpoint, "faults", {})
    assert failed.exit_code != 0
    output = " ".join(failed.output.split())
    assert "adding targets to EventBridge rule" in output and "ValidationException" in output, output
    assert aws.client("events").list_targets_by_rule(Rule=RULE)["Targets"] == []
