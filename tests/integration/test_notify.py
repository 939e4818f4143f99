"""spec.notify end to end: `reconcile run` on the local endpoint tells a webhook receiver on 127.0.0.1 and an
SNS topic (moto's SNS, delivering to an SQS queue) how the run ended; a webhook that refuses the connection
is a warning and leaves the run's exit code as it was. No Spark: the job scripts are plain Python."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .conftest import Project
from .test_history import QUARTER, history, reporting_project, run
from .test_run import FAILING_JOB, set_job_script

URL_ENV = "RECONCILER_TEST_WEBHOOK_URL"


class Receiver:
    """A webhook receiver: every POST's JSON body, in order; answers 200 like Slack."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                assert self.headers.get("Content-Type") == "application/json"
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    hooks = Receiver()
    monkeypatch.setenv(URL_ENV, hooks.url)
    yield hooks
    hooks.close()


def add_notify(project: Project, notify: str) -> None:
    text = project.spec.read_text()
    at = text.index("  publish:")
    project.spec.write_text(text[:at] + "  notify:\n" + notify + text[at:])


def steady(body: dict[str, Any]) -> dict[str, Any]:
    """The body without what varies from run to run (how long it took)."""
    fields = dict(body["reconciler"], seconds="<s>")
    text = "\n".join("took: <m>" if line.startswith("took: ") else line for line in body["text"].splitlines())
    return {"text": text, "reconciler": fields}


def expected(
    event: str, title: str, run_id: str, step: str | None, reason: str | None, endpoint: str
) -> dict[str, Any]:
    show = f"reconcile -f {{spec}} --endpoint-url {endpoint} show {run_id}"
    lines = [f"car-brands {QUARTER}: {title}", f"run: {run_id}"]
    lines += [f"step: {step}"] if step else []
    lines += [f"reason: {reason}"] if reason else []
    lines += ["took: <m>", f"inspect: {show}"]
    return {"text": "\n".join(lines), "reconciler": {"event": event, "pipeline": "car-brands", "quarter": QUARTER,
            "run_id": run_id, "step": step, "reason": reason, "inspect": show, "seconds": "<s>"}}  # fmt: skip


def test_a_webhook_gets_exactly_the_bodies_of_a_gate_failure_and_a_failed_run(
    project: Project, aws: Any, receiver: Receiver
) -> None:
    reporting_project(project, gate="    min_rows_read: 1000\n")
    add_notify(project, f"    webhooks:\n      - url_env: {URL_ENV}\n    events: [run_failed, gate_failed]\n")
    assert run(project).exit_code == 4  # the gate failed: exit code 4, as without notify
    (gate_body,) = receiver.bodies
    run_id = gate_body["reconciler"]["run_id"]
    assert run_id in history(project)
    reason = (f"run {run_id} failed the quality gate; nothing published changed:\n"
              "  min_rows_read: read 5 rows, at least 1,000 required")  # fmt: skip
    want = expected("gate_failed", "failed the quality gate", run_id, "gate", reason, aws.url)
    assert steady(gate_body) == json.loads(json.dumps(want).replace("{spec}", str(project.spec)))

    set_job_script(project, FAILING_JOB)
    assert run(project).exit_code == 1
    assert len(receiver.bodies) == 2
    failed = receiver.bodies[1]
    failed_id = failed["reconciler"]["run_id"]
    assert failed_id != run_id and failed_id in history(project)
    assert failed["reconciler"]["step"] == "job" and failed["reconciler"]["event"] == "run_failed"
    assert "boom: the job broke" in failed["reconciler"]["reason"]
    want = expected("run_failed", "run failed", failed_id, "job", failed["reconciler"]["reason"], aws.url)
    assert steady(failed) == json.loads(json.dumps(want).replace("{spec}", str(project.spec)))


def sqs_messages(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def test_sns_publishes_land_on_the_topic(project: Project, aws: Any) -> None:
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="car-brands-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="car-brands-alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    reporting_project(project)
    add_notify(project, f"    sns_topic_arn: {topic}\n    events: [published, slow]\n    slow_after_minutes: 0\n")
    assert run(project).exit_code == 0
    messages = sqs_messages(sqs, queue_url)
    subjects = sorted(m["Subject"] for m in messages)
    assert subjects == [f"car-brands {QUARTER}: published", f"car-brands {QUARTER}: slow run"]
    published = next(m for m in messages if m["Subject"].endswith("published"))
    assert published["TopicArn"] == topic
    run_id = next(iter(history(project)))
    assert f"run: {run_id}" in published["Message"] and f"show {run_id}" in published["Message"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_webhook_is_a_warning_and_the_exit_code_stays(
    project: Project, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, f"http://127.0.0.1:{closed_port()}/hooks/T000/B000/xoxb-not-to-be-printed")
    reporting_project(project)
    add_notify(project, f"    webhooks:\n      - url_env: {URL_ENV}\n      - url_env: RECONCILER_TEST_UNSET\n"
                        "    events: [published, gate_failed]\n")  # fmt: skip
    monkeypatch.delenv("RECONCILER_TEST_UNSET", raising=False)
    result = run(project)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert f"notify: webhook ${URL_ENV} failed" in output and "refused" in output
    assert "notify: webhook $RECONCILER_TEST_UNSET is not set; published was not sent there" in output
    assert "xoxb-not-to-be-printed" not in result.output and "Run summary" in result.output

    project.edit("    min_rows_read: 1\n", "    min_rows_read: 1000\n")
    assert run(project).exit_code == 4  # a gate failure stays 4 with every notification failing


MANAGED = "car-brands-managed-alerts"


def topic_arn_of(aws: Any) -> str:
    account = aws.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:sns:{aws.region}:{account}:{MANAGED}"


def topic_tags(aws: Any) -> dict[str, str]:
    listed = aws.client("sns").list_tags_for_resource(ResourceArn=topic_arn_of(aws))["Tags"]
    return {t["Key"]: t["Value"] for t in listed}


def test_a_managed_topic_is_owned_planned_updated_published_to_and_destroyed(project: Project, aws: Any) -> None:
    reporting_project(project)
    add_notify(project, f"    sns_topic:\n      managed:\n        name: {MANAGED}\n        display_name: Car brands\n"
                        "    events: [published]\n")  # fmt: skip
    assert project.changes()[f"topic.{MANAGED}"]["action"] == "create"
    assert project.cli("apply", "--auto-approve").exit_code == 0
    sns, sqs = aws.client("sns"), aws.client("sqs")
    arn = topic_arn_of(aws)
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Car brands"
    tags = topic_tags(aws)
    assert tags["reconciler:pipeline"] == "car-brands" and tags["reconciler:managed"] == "true"
    clean = project.cli("plan", "--detailed-exitcode")
    assert clean.exit_code == 0, clean.output  # clean after apply

    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="changed by hand")
    change = project.changes()[f"topic.{MANAGED}"]
    assert change["action"] == "update"
    assert project.cli("apply", "--auto-approve").exit_code == 0
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Car brands"

    queue_url = sqs.create_queue(QueueName="managed-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    assert run(project).exit_code == 0
    assert [m["Subject"] for m in sqs_messages(sqs, queue_url)] == [f"car-brands {QUARTER}: published"]

    text = project.spec.read_text()
    at, end = text.index("  notify:\n"), text.index("  publish:")
    project.spec.write_text(text[:at] + text[end:])  # the spec no longer declares it: planned as a delete
    assert project.changes()[f"topic.{MANAGED}"]["action"] == "delete"
    assert project.cli("destroy", "--auto-approve", "--force").exit_code == 0
    assert arn not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]


def test_a_topic_someone_else_made_under_the_name_is_a_conflict_until_adopted(project: Project, aws: Any) -> None:
    aws.client("sns").create_topic(Name=MANAGED)  # untagged: not ours
    reporting_project(project)
    add_notify(project, f"    sns_topic:\n      managed:\n        name: {MANAGED}\n")
    result = project.cli("apply", "--auto-approve")
    assert result.exit_code == 1
    assert f"topic.{MANAGED}" in " ".join(result.output.split())
    assert "reconciler:pipeline" not in topic_tags(aws)
    adopted = project.cli("apply", "--auto-approve", "--adopt", f"topic.{MANAGED}")
    assert adopted.exit_code == 0, adopted.output
    assert topic_tags(aws)["reconciler:pipeline"] == "car-brands"
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0
