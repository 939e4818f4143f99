"""Acceptance: every attribute of the database, the workflow, the triggers, the notification topic and
its EventBridge rule (harness.py says how)."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Project
from .harness import every_attribute_of


@pytest.mark.parametrize("kind", ["database", "workflow", "trigger", "topic", "event_rule"])
def test_every_attribute(kind: str, project: Project, aws: Any) -> None:
    every_attribute_of(kind, project, aws)
