"""Every kind in KINDS declares what the shared places collect from it (base.HOOKS), and its three
descriptions of the spec agree: the schema's properties (schema/pipeline.v1.json), the spec model's fields
(spec/model.py) and the spec keys of its FIELDS (docs/adding-a-kind.md)."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
from tests.acceptance.harness import DRIVERS, ELSEWHERE
from tests.helpers import make_spec_project, maximal_spec

from reconciler.iam_statement import Statement
from reconciler.resources import KINDS, Account, ResourceKind
from reconciler.resources.base import HOOKS, registered, tagging_types
from reconciler.spec import model
from reconciler.spec.load import load_spec
from reconciler.spec.schemas import PIPELINE_SCHEMA, load_schema

ACCOUNT = Account("123456789012", "eu-central-1")
BY_NAME = {k.kind: k for k in KINDS}
#: Pipeline fields that are not a section of `spec` (metadata, and what spec.load adds)
NOT_SPEC = {"name", "region", "tags", "spec_file", "spec_sha256", "warnings"}
#: the hooks a kind with `runs` must implement itself
RUN_HOOKS = ("running", "stop_running", "still_running")


def declared_by(kind: type[ResourceKind], name: str) -> type | None:
    """The class below ResourceKind in `kind`'s MRO that defines `name`, None when only ResourceKind does."""
    return next((c for c in kind.__mro__ if c is not ResourceKind and name in vars(c)), None)


def schema_node(path: tuple[str, ...]) -> dict[str, Any]:
    node: dict[str, Any] = load_schema(PIPELINE_SCHEMA)
    for key in path:
        if node.get("type") == "array":
            node = node["items"]
        node = node["properties"][key]
    if node.get("type") == "array":
        node = node["items"]
    return node


def model_keys(cls: type) -> dict[str, str]:
    """Spec key (top component) -> model field name, for the fields that have one."""
    out: dict[str, str] = {}
    for f in dataclasses.fields(cls):
        key = f.metadata.get(model.SPEC_KEY, f.name)
        if key is not None:
            out[key.split(".")[0]] = f.name
    return out


def model_class_at(cls: type, dotted: str) -> type | None:
    """The model class a dotted spec key ends in (None when it ends in a plain value): checks each step is a field."""
    current: type | None = cls
    for part in dotted.split("."):
        assert current is not None and dataclasses.is_dataclass(current), f"{cls.__name__}: {dotted} is below a value"
        name = model_keys(current).get(part)
        assert name is not None, f"{current.__name__} has no field for spec key {part!r} (of {dotted})"
        hints = typing.get_type_hints(current)
        hint = hints[name]
        current = hint if isinstance(hint, type) and dataclasses.is_dataclass(hint) else None
    return current


@pytest.fixture
def maximal(tmp_path: Path) -> model.Pipeline:
    """pipeline.yaml with every optional section a kind reads (tests/helpers.py maximal_spec)."""
    spec = make_spec_project(tmp_path)
    spec.write_text(maximal_spec(spec.read_text()))
    return load_spec(spec, {})


def test_kinds_are_registered_for_the_places_inside_the_resources_package() -> None:
    assert registered() == KINDS
    assert len({k.kind for k in KINDS}) == len(KINDS)
    # the Tagging API filter is what the kinds declare (QuickSight's asked for separately)
    assert set(tagging_types()) == {k.tagging_type for k in KINDS if k.tagging_type} - {
        "quicksight:datasource", "quicksight:dataset"
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_every_kind_declares_every_hook(name: str) -> None:
    kind = BY_NAME[name]
    missing = [hook for hook in HOOKS if declared_by(kind, hook) is None]
    assert not missing, f"{name}: declare {missing} (docs/adding-a-kind.md); the defaults are for no kind"
    if kind.runs:
        missing = [hook for hook in RUN_HOOKS if declared_by(kind, hook) is None]
        assert not missing, f"{name} runs work, so it must say what runs and how to stop it: {missing}"
    assert (kind.spec_section is None) == (kind.spec_model is None), f"{name}: a section comes with its model"


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_the_hooks_answer_what_the_shared_places_expect(name: str, maximal: model.Pipeline) -> None:
    kind = BY_NAME[name]()
    statements = kind.operator_statements(maximal, ACCOUNT)
    assert all(isinstance(s, Statement) and s.actions and s.resources for s in statements), name
    for statement in kind.role_statements(maximal, ACCOUNT):
        assert statement["Effect"] == "Allow" and statement["Action"] and statement["Resource"], (name, statement)
    assert all(arn.startswith("arn:aws:glue:") for arn in kind.glue_tag_arns(maximal, ACCOUNT)), name


@pytest.mark.parametrize("name", sorted(k.kind for k in KINDS if k.spec_section is not None))
def test_schema_model_and_field_table_agree(name: str) -> None:
    kind = BY_NAME[name]
    assert kind.spec_section is not None and kind.spec_model is not None
    schema = set(schema_node(kind.spec_section)["properties"])
    fields = set(model_keys(kind.spec_model))
    assert schema == fields, (
        f"{name}: schema {'.'.join(kind.spec_section)} and model {kind.spec_model.__name__} disagree: "
        f"only in the schema {sorted(schema - fields)}, only in the model {sorted(fields - schema)}"
    )
    for f in kind.fields:
        if not f.spec or f.spec == "region":  # region is metadata.region, common to every kind
            continue
        node = schema_node(kind.spec_section)
        for key in f.spec.split("."):
            assert key in node.get("properties", {}), f"{name}.{f.name}: spec key {f.spec} is not in the schema"
            node = node["properties"][key]
        model_class_at(kind.spec_model, f.spec)


def test_every_spec_section_is_a_field_of_the_pipeline_model() -> None:
    schema = set(schema_node(("spec",))["properties"])
    fields = {f.name for f in dataclasses.fields(model.Pipeline)} - NOT_SPEC
    assert schema == fields, f"only in the schema {sorted(schema - fields)}, only in Pipeline {sorted(fields - schema)}"
    for kind in KINDS:
        if kind.spec_section is not None:
            assert kind.spec_section[0] == "spec" and kind.spec_section[1] in fields, kind.kind


def test_the_acceptance_harness_drives_every_kind_or_says_where_it_is_tested() -> None:
    kinds = {k.kind for k in KINDS}
    assert not set(DRIVERS) & set(ELSEWHERE)
    missing = sorted(kinds - set(DRIVERS) - set(ELSEWHERE))
    assert set(DRIVERS) | set(ELSEWHERE) == kinds, f"tests/acceptance/harness.py: add a Driver for {missing}"
