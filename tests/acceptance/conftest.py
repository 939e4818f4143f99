"""Fixtures of the acceptance tests: the integration `project` (a throw-away copy of the example pipeline
against the local endpoint), shared."""

from __future__ import annotations

from ..integration.conftest import BUCKET, Project, project

__all__ = ["BUCKET", "Project", "project"]  # project: the integration fixture, shared
