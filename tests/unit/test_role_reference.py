"""One form for every way a role is written, and the full ARN sent to Glue."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from tests.helpers import make_spec_project

from reconciler.resources.base import Account
from reconciler.resources.glue_common import role_attr, role_name, role_reference
from reconciler.spec.load import load_spec
from reconciler.spec.model import Pipeline, Role

PATHED = "reconciler/car-brands/car-brands-glue"
ETL = "arn:aws:iam::123456789012:role/team/etl"


@pytest.mark.parametrize(
    ("written", "form"),
    [
        (
            "arn:aws:iam::123456789012:role/reconciler/car-brands/car-brands-glue",
            "reconciler/car-brands/car-brands-glue",
        ),
        (PATHED, PATHED),
        (f"/{PATHED}", PATHED),
        ("car-brands-glue", "car-brands-glue"),  # a bare name is the role at path /: another role
        ("arn:aws:iam::123456789012:role/car-brands-glue", "car-brands-glue"),
        ("arn:aws-cn:iam::123456789012:role/service-role/x", "service-role/x"),
    ],
)
def test_every_form_of_a_role_normalises_to_path_and_name(written: str, form: str) -> None:
    assert role_name(written) == form


@pytest.fixture
def example(tmp_path: Path) -> Pipeline:
    return load_spec(make_spec_project(tmp_path), {})


def test_the_managed_role_is_sent_as_its_full_arn(example: Pipeline) -> None:
    pipeline = replace(example, role=Role(managed_name="car-brands-glue"))
    account = Account("123456789012", "eu-central-1")
    arn = role_reference(pipeline, account)
    assert arn == f"arn:aws:iam::123456789012:role/reconciler/{pipeline.name}/car-brands-glue"
    assert role_name(arn) == role_attr(pipeline)


def test_an_existing_role_is_sent_as_given(example: Pipeline) -> None:
    pipeline = replace(example, role=Role(arn="arn:aws:iam::123456789012:role/team/etl"))
    assert (
        role_reference(pipeline, Account("123456789012", "eu-central-1")) == "arn:aws:iam::123456789012:role/team/etl"
    )
    assert role_attr(pipeline) == "team/etl"
