"""The worker types a Spark job may have follow the declared Glue version."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helpers import REPO, make_spec_project

from reconciler.errors import SpecError
from reconciler.spec.load import load_spec


def spec_with(tmp_path: Path, worker_type: str, glue_version: str) -> Path:
    text = (REPO / "pipeline.yaml").read_text(encoding="utf-8")
    text = text.replace("worker_type: G.1X", f"worker_type: {worker_type}")
    text = text.replace('glue_version: "5.0"', f'glue_version: "{glue_version}"')
    return make_spec_project(tmp_path, text)


@pytest.mark.parametrize("glue_version", ["5.0", "5.1"])
def test_standard_is_refused_on_glue_5(tmp_path: Path, glue_version: str) -> None:
    with pytest.raises(SpecError) as refused:
        load_spec(spec_with(tmp_path, "Standard", glue_version), env={})
    text = str(refused.value) + " ".join(str(p) for p in getattr(refused.value, "problems", []))
    assert "worker type Standard is not valid for a Spark job on Glue" in text and "worker_type" in text


@pytest.mark.parametrize(("worker_type", "glue_version"), [("Standard", "4.0"), ("G.1X", "5.0"), ("G.2X", "5.1")])
def test_the_others_are_accepted(tmp_path: Path, worker_type: str, glue_version: str) -> None:
    assert load_spec(spec_with(tmp_path, worker_type, glue_version), env={}).jobs[0].worker_type == worker_type
