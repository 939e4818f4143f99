"""A role this run's apply just changed may not be usable yet: one bounded retry of the crawl or job run."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from reconciler.engine.plan import Plan
from reconciler.errors import RunError
from reconciler.quarterly.types import EventSink

#: IAM is eventually consistent: "Changes that I make are not always immediately visible" (IAM User Guide,
#: Troubleshooting IAM, https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html). A crawl or
#: job run that starts seconds after this run's apply created or changed the Glue role can fail because Glue
#: cannot assume the role yet, or because the role's new permissions are not visible yet. The texts, as
#: terraform-provider-aws internal/service/glue/crawler.go retries them for CreateCrawler/UpdateCrawler
#: (hashicorp/terraform-provider-aws#30371 shows the wording varies); a job run's ErrorMessage for this is not
#: documented (*unverified*), so S3's and Glue's access-denied wordings count too.
ROLE_NOT_READY_MESSAGES = (
    "Service is unable to assume",  # "Service is unable to assume provided role. Please verify role's TrustPolicy"
    "role's TrustPolicy",
    "is not authorized",  # "... is not authorized to perform: glue:CreateTable on resource: ..."
    "Insufficient Lake Formation permission",
    "AccessDenied",  # S3: "Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied)"
    "Access Denied",
)
#: A failure counts as "right after the role changed" when the crawl or job run started within this many
#: seconds of the apply's end: terraform-provider-aws's propagationTimeout (internal/service/glue/consts.go,
#: 2 minutes) for the same consistency window.
ROLE_CHANGE_WINDOW_SECONDS = 120.0


def role_settle_seconds() -> float:
    """The wait before the one retry (default 15 s; RECONCILER_ROLE_SETTLE_SECONDS for tests)."""
    try:
        return max(0.0, float(os.environ.get("RECONCILER_ROLE_SETTLE_SECONDS", "15")))
    except ValueError:
        return 15.0


def changes_role(plan: Plan | None) -> bool:
    """Did this apply create or change the Glue role (its trust or inline policy included)?"""
    return plan is not None and any(c.address.startswith("role.") and c.action != "no-op" for c in plan.changes)


def role_not_ready(error: BaseException, role_changed_at: float | None, started_at: float) -> bool:
    """Retry once? Only a plain failure (not a timeout or an interrupt) whose text is one of
    ROLE_NOT_READY_MESSAGES, of a crawl or job run started within ROLE_CHANGE_WINDOW_SECONDS of an apply that
    changed the role. Pure: tested in tests/unit/test_role_retry.py."""
    if role_changed_at is None or type(error) is not RunError:
        return False
    if started_at - role_changed_at > ROLE_CHANGE_WINDOW_SECONDS:
        return False
    text = str(error).split("\n--- driver log", 1)[0]
    return any(message.lower() in text.lower() for message in ROLE_NOT_READY_MESSAGES)


def once_more_if_role_not_ready(
    attempt: Callable[[], Any], role_changed_at: float | None, what: str, emit: EventSink,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:  # fmt: skip
    """`attempt()`; if it fails because the role this run just changed is not usable yet, wait
    role_settle_seconds() and run it once more (bounded: one retry)."""
    started_at = time.monotonic()
    try:
        return attempt()
    except RunError as error:
        if not role_not_ready(error, role_changed_at, started_at):
            raise
        wait = role_settle_seconds()
        emit("retry", {"step": what, "reason": "the role this run changed is not usable yet (IAM propagation)",
                       "error": str(error).splitlines()[0], "after_seconds": wait})  # fmt: skip
        sleep(wait)
        return attempt()

