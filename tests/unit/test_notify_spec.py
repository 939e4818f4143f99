"""spec.notify: the schema, the semantic checks, the validate warning for an unset webhook variable, the model,
and the message a run's end builds (quarterly/notify.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.test_spec import MINIMAL

from reconciler.errors import GateError, RunError
from reconciler.quarterly.notify import events_of, message_for, sns_subject, webhook_body
from reconciler.quarterly.run import RunSummary
from reconciler.spec import model
from reconciler.spec.load import load_spec, validate_file

ARN = "arn:aws:sns:eu-west-1:123456789012:car-brands-alerts"


def write(tmp_path: Path, notify: str) -> Path:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(MINIMAL + "  notify:\n" + notify)
    return spec


def messages(spec: Path, env: dict[str, str] | None = None) -> list[str]:
    return [f"{p.line}:{p.path}: {p.message}" for p in validate_file(spec, env or {})]


def test_notify_loads_into_the_model_with_its_default_events(tmp_path: Path) -> None:
    spec = write(tmp_path, f"    webhooks:\n      - url_env: SLACK_URL\n    sns_topic_arn: {ARN}\n")
    pipeline = load_spec(spec, {"SLACK_URL": "https://hooks.example/x"})
    assert pipeline.notify == model.Notify(webhooks=(model.Webhook("SLACK_URL"),), sns_topic_arn=ARN,
                                           events=("run_failed", "gate_failed"), slow_after_minutes=None)  # fmt: skip
    assert pipeline.warnings == ()
    assert load_spec(write(tmp_path, f"    sns_topic_arn: {ARN}\n"), {}).notify is not None
    tmp_path.joinpath("pipeline.yaml").write_text(MINIMAL)
    assert load_spec(tmp_path / "pipeline.yaml", {}).notify is None


def test_an_unset_webhook_variable_is_a_located_warning_not_an_error(tmp_path: Path) -> None:
    spec = write(tmp_path, "    webhooks:\n      - url_env: SLACK_URL\n")
    assert validate_file(spec, {}) == []
    (warning,) = load_spec(spec, {}).warnings
    assert (warning.line, warning.path) == (15, "spec.notify.webhooks[0].url_env")
    assert "SLACK_URL is not set" in warning.message and "warning" in warning.message


@pytest.mark.parametrize(
    ("notify", "expected"),
    [
        ("    events: [run_failed]\n", "14:spec.notify: names nobody to tell"),
        (f"    sns_topic_arn: {ARN}\n    events: [slow]\n", "15:spec.notify.events: lists slow but"),
        (f"    sns_topic_arn: {ARN}\n    slow_after_minutes: 5\n", "15:spec.notify.slow_after_minutes: is set but"),
        ("    sns_topic_arn: arn:aws:sns:eu-west-1:12:x\n", "14:spec.notify.sns_topic_arn:"),
        (f"    sns_topic_arn: {ARN}\n    events: [page_me]\n", "15:spec.notify.events[0]:"),
        ("    webhooks:\n      - url: https://hooks.example/x\n", "15:spec.notify.webhooks[0].url: unknown key"),
        ("    webhooks:\n      - url_env: not a name\n", "15:spec.notify.webhooks[0].url_env:"),
    ],
)
def test_bad_notify_sections_name_line_and_field(tmp_path: Path, notify: str, expected: str) -> None:
    found = messages(write(tmp_path, notify))
    assert any(m.startswith(expected) for m in found), found


def summary() -> RunSummary:
    return RunSummary(run_id="20261001T060000Z-abc123", quarter="2026-Q3")


def test_the_message_names_pipeline_quarter_run_step_reason_and_the_show_command() -> None:
    error = RunError("job 'j' run jr_1 ended FAILED: boom, password=hunter2 at postgresql://admin:pw@db/x")
    message = message_for("run_failed", "car-brands", summary(), "job", error, 125.0)
    body = webhook_body(message)
    assert body["reconciler"] == {
        "event": "run_failed", "pipeline": "car-brands", "quarter": "2026-Q3", "run_id": "20261001T060000Z-abc123",
        "step": "job", "reason": "job 'j' run jr_1 ended FAILED: boom, password=hunter2 at postgresql://admin:****@db/x",
        "inspect": "reconcile show 20261001T060000Z-abc123", "seconds": 125.0,
    }  # fmt: skip
    assert body["text"].splitlines()[0] == "car-brands 2026-Q3: run failed"
    assert "inspect: reconcile show 20261001T060000Z-abc123" in body["text"] and "admin:pw" not in body["text"]
    assert sns_subject(message) == "car-brands 2026-Q3: run failed"


def test_the_sns_subject_is_ascii_one_line_and_under_100_characters() -> None:
    message = message_for("published", "p" * 150 + "é", summary(), None, None, 1.0)
    subject = sns_subject(message)
    assert len(subject) < 100 and subject.isascii() and "\n" not in subject and subject.endswith("...")


def test_which_events_a_run_sends() -> None:
    every = model.Notify(sns_topic_arn=ARN, events=("run_failed", "gate_failed", "published", "slow"),
                         slow_after_minutes=1)  # fmt: skip
    assert events_of(every, None, 30) == ["published"]
    assert events_of(every, None, 61) == ["published", "slow"]
    assert events_of(every, GateError("gate"), 1) == ["gate_failed"]
    assert events_of(every, RunError("x"), 1) == ["run_failed"]
    assert events_of(model.Notify(sns_topic_arn=ARN), None, 10_000) == []


def test_a_managed_topic_loads_and_excludes_an_arn(tmp_path: Path) -> None:
    managed = "    sns_topic:\n      managed:\n        name: car-brands-alerts\n"
    pipeline = load_spec(write(tmp_path, managed), {})
    assert pipeline.notify is not None
    assert pipeline.notify.managed_topic == model.ManagedTopic(name="car-brands-alerts", display_name="")
    found = messages(write(tmp_path, managed + f"    sns_topic_arn: {ARN}\n"))
    assert any(m.startswith("15:spec.notify.sns_topic: and sns_topic_arn exclude each other") for m in found), found
    bad = messages(write(tmp_path, "    sns_topic:\n      managed:\n        name: not/a/name\n"))
    assert any(m.startswith("16:spec.notify.sns_topic.managed.name:") for m in bad), bad
