"""One exception hierarchy for the whole tool, and the one table of exit codes.

Every error a user can cause or meet is a `ReconcilerError`: a one-line message, an optional hint that
works when pasted, and the exit code it maps to. The CLI (`reconciler.cli.boundary`) turns these into one
`Error:` line plus the hint; anything else is an internal error with a pointer to `--debug`.

AWS errors are mapped once, at the edge (`reconciler.aws.context.AwsContext.call`), into the typed
`AwsApiError` family below; no other module inspects botocore's exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

# --- exit codes: the one table (documented in docs/cli.md, "Exit codes") -------------------------------------
EXIT_OK = 0
EXIT_ERROR = 1  #: any error: AWS, spec, conflict, failed run, refused approval
EXIT_CHANGES = 2  #: plan --detailed-exitcode: the plan has changes (and nothing else uses 2)
EXIT_LOCKED = 3  #: the pipeline lock is held by someone else, or a saved plan is stale
EXIT_GATE = 4  #: the run's output failed the quality gate (nothing was published)
EXIT_USAGE = 64  #: wrong command-line usage (BSD sysexits EX_USAGE), never 2
EXIT_INTERRUPTED = 130  #: SIGINT (Ctrl-C): 128 + 2
EXIT_TERMINATED = 143  #: SIGTERM: 128 + 15

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success (plan: no changes, or changes without --detailed-exitcode)",
    EXIT_ERROR: "error: invalid spec, AWS error, conflict, failed crawl or job, refused confirmation",
    EXIT_CHANGES: "plan --detailed-exitcode only: the plan has changes",
    EXIT_LOCKED: "the pipeline lock is held by another apply/run, or the saved plan is stale",
    EXIT_GATE: "run/promote: the output failed the quality gate; nothing was published",
    EXIT_USAGE: "usage error: unknown option, missing argument, options that exclude each other",
    EXIT_INTERRUPTED: "interrupted (SIGINT, Ctrl-C)",
    EXIT_TERMINATED: "terminated (SIGTERM)",
}


class ReconcilerError(Exception):
    """Base of every error the CLI prints as a message instead of a traceback."""

    exit_code: ClassVar[int] = EXIT_ERROR

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


class UsageError(ReconcilerError):
    """The command line itself is wrong (exit 64, never 2: 2 means "changes" for plan)."""

    exit_code = EXIT_USAGE


class AwsError(ReconcilerError):
    """An AWS call failed for a reason retrying will not fix (or retries ran out)."""


class AwsApiError(AwsError):
    """AWS answered one call with an error. Raised only by `AwsContext.call`, with the service, the
    operation, AWS's error code, HTTP status and message, and how many attempts were made."""

    def __init__(
        self, message: str, *, service: str, operation: str, code: str, status: int, aws_message: str,
        attempts: int = 1, hint: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message, hint=hint)
        self.service = service
        self.operation = operation
        self.code = code
        self.status = status
        self.aws_message = aws_message
        self.attempts = attempts

    def doing(self, what: str) -> AwsApiError:
        """The same error (same type, code and hint) with what we were doing in front: "creating Glue
        crawler 'x': access denied: glue:CreateCrawler: ..." (terraform-provider-aws's error wrapping)."""
        return type(self)(
            f"{what}: {self.message}", service=self.service, operation=self.operation, code=self.code,
            status=self.status, aws_message=self.aws_message, attempts=self.attempts, hint=self.hint,
        )  # fmt: skip


class NotFoundError(AwsApiError):
    """The resource does not exist (EntityNotFoundException, NoSuchEntity, NoSuchBucket, 404, ...)."""


class AccessDeniedError(AwsApiError):
    """The caller may not perform the action (AccessDenied, AccessDeniedException, UnauthorizedOperation)."""


class ThrottledError(AwsApiError):
    """A transient error (throttling, 5xx, concurrent modification) persisted through every retry."""


class EndpointUnreachableError(AwsError):
    """No connection to the AWS endpoint (refused, DNS, timeout) even after retries."""


class EndpointInternalError(AwsError):
    """The embedded local endpoint answered HTTP 500 because its own code raised (not AWS, not the spec)."""


class CredentialsError(AwsError):
    """No credentials, an unknown profile, or credentials the endpoint rejects as invalid."""


class ConflictError(ReconcilerError):
    """A declared name is held by a resource this pipeline does not own."""


class LockError(ReconcilerError):
    """Another apply or run holds the pipeline lock."""

    exit_code = EXIT_LOCKED


class StalePlanError(ReconcilerError):
    """A saved plan no longer matches the spec or the live state, or cannot be read."""

    exit_code = EXIT_LOCKED


class ApprovalError(ReconcilerError):
    """A change needs confirmation that was not given."""


class RunError(ReconcilerError):
    """The quarterly run failed (crawler, job, timeout)."""


class RunTimedOut(RunError):
    """`run --timeout` expired: the run stopped what it was waiting for (the crawl or the job run)."""


class RunInterrupted(RunError):
    """Ctrl-C or SIGTERM during the run. `stopped`: the job run was stopped; else it goes on running. The
    CLI's exit code is the interrupt's (130 or 143: the interrupt is this error's context)."""

    def __init__(self, message: str, *, stopped: bool, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.stopped = stopped


class GateError(RunError):
    """The run's output failed the quality gate; nothing was published."""

    exit_code = EXIT_GATE


class PublishError(ReconcilerError):
    """A run cannot be published (no report, failed gate without confirmation, missing data)."""


class ManifestError(ReconcilerError):
    """The QuickSight manifest template or the rendered manifest is invalid."""


class LocalEndpointError(ReconcilerError):
    """The embedded local endpoint cannot be started, found or used (or is not installed)."""
