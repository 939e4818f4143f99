"""Acceptance: every attribute of the bucket, the managed role and the uploads (harness.py says how)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Project
from .harness import every_attribute_of, uploads


@pytest.mark.parametrize("kind", ["bucket", "role"])
def test_every_attribute(kind: str, project: Project, aws: Any) -> None:
    every_attribute_of(kind, project, aws)


def test_uploads(project: Project, aws: Any) -> None:
    uploads(project, aws)
