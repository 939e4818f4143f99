"""Typed Glue errors our additions raise, on top of moto's own (re-exported here for one import site)."""

from __future__ import annotations

from reconciler_local.moto_api import (
    ConcurrentRunsExceededException,
    CrawlerNotRunningException,
    CrawlerRunningException,
    EntityNotFoundException,
    GlueClientError,
)

__all__ = [
    "AlreadyExistsException",
    "ConcurrentRunsExceededException",
    "CrawlerNotRunningException",
    "CrawlerRunningException",
    "EntityNotFoundException",
    "GlueClientError",
    "IllegalWorkflowStateException",
    "InvalidInputException",
    "JobRunNotFoundException",
]


class AlreadyExistsException(GlueClientError):
    """AWS's AlreadyExistsException with a message naming the resource."""

    def __init__(self, message: str) -> None:
        super().__init__("AlreadyExistsException", message)


class InvalidInputException(GlueClientError):
    """AWS's InvalidInputException (moto's needs an operation name we never use)."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidInputException", message)


class IllegalWorkflowStateException(GlueClientError):
    def __init__(self, message: str) -> None:
        super().__init__("IllegalWorkflowRunStateException", message)


class JobRunNotFoundException(EntityNotFoundException):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"Job run {run_id} not found.")
