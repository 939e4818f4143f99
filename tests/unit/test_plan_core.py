"""Plan helpers that need no server: masking, ordering, counts, JSON shape."""

from __future__ import annotations

import pytest

from reconciler.engine.diff import BLOCKED, CREATE, DELETE, NOOP, UPDATE, Change
from reconciler.engine.plan import MASK, Plan, _ordered, mask
from reconciler.resources.base import AttrChange
from reconciler.resources.fields import Field


def test_secret_looking_arguments_are_masked_everywhere() -> None:
    arguments = {"--db_password": "hunter2", "--input_path": "s3://b/raw/"}
    assert mask("job", ("default_arguments",), arguments) == {"--db_password": MASK, "--input_path": "s3://b/raw/"}
    assert mask("job", ("default_arguments", "--api_token"), "abc") == MASK
    assert mask("job", ("default_arguments", "--secret_key"), "abc") == MASK
    assert mask("job", (), {"default_arguments": arguments})["default_arguments"]["--db_password"] == MASK
    assert mask("job", ("description",), "my password is in here") == "my password is in here"  # not an argument
    assert mask("crawler", ("default_arguments",), arguments) == arguments  # the rule is the job field's


def test_a_sensitive_field_is_masked_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    import reconciler.engine.plan as plan

    table = (Field("password", "Password", sensitive=True), Field("name", "Name"))
    monkeypatch.setattr(plan, "fields_of", lambda kind: table)
    assert mask("connection", (), {"password": "hunter2", "name": "db"}) == {"password": MASK, "name": "db"}
    assert mask("connection", ("password",), "hunter2") == MASK


def test_order_is_dependency_order_then_deletes_reversed() -> None:
    changes = [
        Change("trigger", "t", CREATE, 5),
        Change("bucket", "b", CREATE, 0),
        Change("crawler", "old", DELETE, 3),
        Change("bucket", "old-bucket", BLOCKED, 0),
        Change("trigger", "old-t", DELETE, 5),
        Change("job", "j", UPDATE, 3),
    ]
    assert [c.address for c in _ordered(changes)] == [
        "bucket.b", "job.j", "trigger.t", "trigger.old-t", "crawler.old", "bucket.old-bucket",
    ]  # fmt: skip


def test_plan_json_is_versioned_and_masks_secrets() -> None:
    change = Change("job", "j", UPDATE, 3, [AttrChange(("default_arguments", "--token"), "a", "b")])
    plan = Plan("p", [change, Change("bucket", "b", NOOP, 0)], "f" * 64, "s" * 64)
    doc = plan.to_json()
    assert doc["format_version"] == "1"
    assert doc["summary"]["change"] == 1
    assert doc["changes"][0]["attributes"] == [{"path": "default_arguments.--token", "before": MASK, "after": MASK}]
    assert plan.has_changes
    assert not Plan("p", [Change("bucket", "b", NOOP, 0)], "f", "s").has_changes


def test_a_big_upload_renders_as_a_count_and_twenty_lines_while_json_keeps_every_object() -> None:
    import io

    from rich.console import Console

    from reconciler.cli.render import render_plan
    from reconciler.resources.base import Desired

    objects = {f"raw/part-{i:03d}.csv": {"sha256": f"{i:064x}", "size": 1000 + i} for i in range(30)}
    attrs = [AttrChange(("objects", key), None, meta) for key, meta in objects.items()]
    attrs.append(AttrChange(("objects", "raw/part-000.csv", "sha256"), "0" * 64, "f" * 64))
    desired = Desired("upload", "raw/", {"bucket": "b", "objects": objects})
    plan = Plan("p", [Change("upload", "raw/", UPDATE, 1, attrs=attrs, desired=desired)], "f", "s")
    out = io.StringIO()
    render_plan(Console(file=out, no_color=True, width=200), plan)
    text = out.getvalue()
    assert "30 object(s) differ: 30 to send, 30,435 bytes" in text
    assert text.count("    + raw/part-") == 20  # one `+ key (size)` line per object
    assert "+ raw/part-000.csv (1,000 bytes)" in text and 'objects["' not in text
    assert "… and 10 more (all of them: plan --json)" in text
    assert len(plan.to_json()["changes"][0]["attributes"]) == 31


def test_plan_json_lists_a_creates_attributes_and_tags_with_secrets_masked() -> None:
    from reconciler.resources.base import Desired

    arguments = {"--db_password": "hunter2", "--input_path": "s3://b/raw/"}
    desired = Desired("job", "j", {"number_of_workers": 2, "default_arguments": arguments}, {"team": "data"})
    doc = Plan("p", [Change("job", "j", CREATE, 3, desired=desired)], "f", "s").to_json()
    assert doc["changes"][0]["attributes"] == [
        {"path": "number_of_workers", "before": None, "after": 2},
        {"path": "default_arguments", "before": None, "after": {"--db_password": MASK, "--input_path": "s3://b/raw/"}},
        {"path": "tags.team", "before": None, "after": "data"},
    ]
    assert "hunter2" not in str(doc)
