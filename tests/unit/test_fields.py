"""The field tables (FIELDS in src/reconciler/resources/*.py) and the generic mappings derived from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from tests.helpers import make_spec_project

from reconciler.cli.render import render_plan
from reconciler.engine.diff import UPDATE, Change
from reconciler.engine.plan import MASK, Plan
from reconciler.resources import KINDS, Account, fields_of
from reconciler.resources import fields as table
from reconciler.resources.base import AttrChange
from reconciler.resources.crawler import CrawlerKind
from reconciler.resources.fields import ABSENT, Field
from reconciler.resources.job import JobKind
from reconciler.spec import rules
from reconciler.spec.load import load_spec
from reconciler.spec.model import Pipeline
from reconciler.spec.schemas import PIPELINE_SCHEMA, default_at, fill_defaults, load_schema

ACCOUNT = Account("123456789012", "eu-central-1")
KIND_NAMES = sorted(k.kind for k in KINDS)
#: where each kind's spec keys live in the schema (ResourceKind.spec_section; derived kinds have none)
SECTIONS = {k.kind: k.spec_section for k in KINDS if k.spec_section is not None}


@pytest.fixture
def pipeline(tmp_path: Path) -> Pipeline:
    return load_spec(make_spec_project(tmp_path), {})


def mapped(kind: str) -> list[Field]:
    """The fields expand writes and flatten reads."""
    return [f for f in fields_of(kind) if f.api and f.writable]


def project(fields: list[Field], attrs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        table.set_path(out, f.keys, table.get_path(attrs, f.keys))
    return out


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_flatten_of_expand_is_the_identity(kind: str, pipeline: Pipeline) -> None:
    kind_class = next(k for k in KINDS if k.kind == kind)
    fields = mapped(kind)
    for desired in kind_class().desired(pipeline, ACCOUNT):
        attrs = project(fields, desired.attrs)
        assert table.flatten(fields, table.expand(fields, attrs)) == attrs
        for f in fields:  # and with each attribute at its sample value
            if f.sample is not ABSENT and not f.optional:
                changed = project(fields, attrs)
                table.set_path(changed, f.keys, f.sample)
                assert table.flatten(fields, table.expand(fields, changed)) == changed, f.name


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_every_field_says_how_it_maps(kind: str) -> None:
    names = [f.name for f in fields_of(kind)]
    assert names and len(names) == len(set(names))
    for f in fields_of(kind):
        assert f.api or f.note, f"{kind}.{f.name}: no API field, so its note must say how it is read and written"
        if f.sample is ABSENT:
            assert f.note or f.immutable, f"{kind}.{f.name}: no sample, so its note must say why"


@pytest.mark.parametrize("kind", sorted(SECTIONS))
def test_every_spec_key_is_in_the_schema(kind: str) -> None:
    root = load_schema(PIPELINE_SCHEMA)
    for f in fields_of(kind):
        if not f.spec or f.spec == "region":  # region is metadata.region, common to every kind
            continue
        node: Any = root
        section = SECTIONS[kind]
        assert section is not None
        for key in (*section, *f.spec.split(".")):
            if node.get("type") == "array":
                node = node["items"]
            node = node["properties"][key]
        assert node, f"{kind}.{f.name}: spec key {f.spec} not in the schema"


def test_the_sets_of_a_kind_come_from_its_table() -> None:
    by_kind = {k.kind: k for k in KINDS}
    assert by_kind["trigger"].immutable == {"type", "workflow"}
    assert by_kind["bucket"].immutable == {"region"}
    assert by_kind["role"].immutable == {"path"}
    assert by_kind["bucket"].security == {"encryption", "public_access_block", "object_ownership", "policy"}
    assert by_kind["role"].security == {"trust_policy", "access_policy"}
    assert by_kind["job"].sensitive == {"default_arguments"}
    assert CrawlerKind.immutable == frozenset() and CrawlerKind.security == {"security_configuration"}


def test_a_crawler_update_sends_only_what_changed_and_clears_the_schedule_with_an_empty_string() -> None:
    attrs = table.flatten(fields_of("crawler"), {"Name": "c", "Role": "r", "TablePrefix": "raw_"})
    assert attrs["schedule"] is None
    assert table.partial_update(fields_of("crawler"), attrs, {"schedule"}) == {"Schedule": ""}
    attrs["schema_change_policy"]["update_behavior"] = "LOG"
    assert table.partial_update(fields_of("crawler"), attrs, {"schema_change_policy", "table_prefix"}) == {
        "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "DEPRECATE_IN_DATABASE"},
        "TablePrefix": "raw_",
    }
    assert "Schedule" not in table.expand(fields_of("crawler"), attrs)  # CreateCrawler: no schedule at all


@pytest.mark.parametrize(("version", "minutes"), [("4.0", 2880), ("5.0", 480), ("5.1", 480)])
def test_the_job_timeout_default_depends_on_the_glue_version(tmp_path: Path, version: str, minutes: int) -> None:
    spec = make_spec_project(tmp_path)
    text = spec.read_text().replace("      timeout_minutes: 60\n", "")
    spec.write_text(text.replace('glue_version: "5.0"', f'glue_version: "{version}"'))
    pipeline = load_spec(spec, {})
    assert pipeline.jobs[0].timeout_minutes is None
    (job,) = JobKind().desired(pipeline, ACCOUNT)
    assert job.attrs["timeout"] == minutes
    # and a job AWS reports without a Timeout reads as the same default
    assert table.flatten(fields_of("job"), {"GlueVersion": version})["timeout"] == minutes


def test_the_worker_minimum_is_stated_once_in_the_schema() -> None:
    assert not hasattr(rules, "MIN_WORKERS")
    jobs = load_schema(PIPELINE_SCHEMA)["properties"]["spec"]["properties"]["jobs"]["items"]["properties"]
    assert jobs["number_of_workers"]["minimum"] == 2 == default_at("spec", "jobs", "number_of_workers")
    assert "default" not in jobs["timeout_minutes"]


def test_schema_defaults_are_filled_in_at_any_depth_and_never_over_a_value() -> None:
    document: dict[str, Any] = {
        "metadata": {"name": "p", "region": "eu-central-1"},
        "spec": {"bucket": {"name": "b", "versioning": True}, "crawlers": [{"name": "c"}, "not a mapping"]},
    }
    fill_defaults(document)
    assert document["metadata"]["tags"] == {}
    assert document["spec"]["bucket"] == {
        "name": "b", "versioning": True, "encryption": {"type": "SSE-S3"}, "force_destroy": False
    }  # fmt: skip
    crawler = document["spec"]["crawlers"][0]
    assert crawler["schema_change_policy"] == {
        "update_behavior": "UPDATE_IN_DATABASE", "delete_behavior": "DEPRECATE_IN_DATABASE"
    }  # fmt: skip
    assert document["spec"]["crawlers"][1] == "not a mapping"
    assert "schedule" not in document["spec"]  # an optional section without a default stays absent


def test_plan_json_and_the_printed_plan_mask_and_flag_what_the_tables_say() -> None:
    changes = [
        Change("job", "j", UPDATE, 3, [AttrChange(("default_arguments", "--db_password"), None, "hunter2")]),
        Change("bucket", "b", UPDATE, 0, [AttrChange(("public_access_block", "BlockPublicPolicy"), False, True)]),
    ]
    plan = Plan(pipeline="p", changes=changes, fingerprint="f", spec_sha256="s")
    attribute = plan.to_json()["changes"][0]["attributes"][0]
    assert (attribute["before"], attribute["after"]) == (None, MASK)
    console = Console(record=True, width=200, no_color=True)
    render_plan(console, plan)
    text = console.export_text()
    assert "hunter2" not in text and MASK in text
    security = text.split("Security-relevant changes", 1)[1]
    assert "bucket.b public_access_block.BlockPublicPolicy" in security and "job.j" not in security
