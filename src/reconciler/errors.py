"""One exception hierarchy for the whole tool, mapped to exit codes in one place (cli.py)."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2  # plan --detailed-exitcode: the plan has changes


class ReconcilerError(Exception):
    """Base of every error the CLI prints as a message instead of a traceback."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Problem:
    """One located problem in a spec file: file, 1-based line and column, and the path in the document."""

    file: str
    line: int
    column: int
    path: str  # e.g. "spec.crawlers[0].schedule"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class SpecError(ReconcilerError):
    """The spec is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{len(problems)} {noun} in the spec:\n" + "\n".join(f"  {p}" for p in problems))


class AwsError(ReconcilerError):
    """An AWS call failed for a reason retrying will not fix (or retries ran out)."""


class ConflictError(ReconcilerError):
    """A declared name is held by a resource this pipeline does not own."""


class LockError(ReconcilerError):
    """Another apply or run holds the pipeline lock."""


class StalePlanError(ReconcilerError):
    """A saved plan no longer matches the spec or the live state."""


class ApprovalError(ReconcilerError):
    """A change needs confirmation that was not given."""


class RunError(ReconcilerError):
    """The quarterly run failed (crawler, job, timeout)."""
