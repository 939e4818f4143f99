"""Acceptance: every attribute of a job (harness.py says how)."""

from __future__ import annotations

from typing import Any

from .conftest import Project
from .harness import every_attribute_of


def test_every_attribute(project: Project, aws: Any) -> None:
    every_attribute_of("job", project, aws)
