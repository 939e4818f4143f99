"""Inside `run`: a crawl or job run that fails because the role this run's apply just changed
is not usable yet is retried once; nothing else is."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.errors import RunError, RunInterrupted, RunTimedOut
from reconciler.quarterly.role_retry import ROLE_CHANGE_WINDOW_SECONDS, once_more_if_role_not_ready, role_not_ready

ASSUME = RunError("job 'j' run jr_1 ended FAILED: Service is unable to assume provided role. Please verify the "
                  "role's TrustPolicy.")  # fmt: skip
DENIED = RunError("crawler 'c' ended FAILED: Access Denied (Service: Amazon S3; Status Code: 403; Error Code: "
                  "AccessDenied)")  # fmt: skip
SCRIPT = RunError("job 'j' run jr_1 ended FAILED: ValueError: boom\n--- driver log (tail) ---\nAccessDenied in a log")


@pytest.mark.parametrize("error", [ASSUME, DENIED])
def test_a_role_failure_right_after_the_role_changed_is_retried(error: RunError) -> None:
    assert role_not_ready(error, role_changed_at=100.0, started_at=101.0)


@pytest.mark.parametrize(
    ("error", "changed_at", "started_at"),
    [
        (ASSUME, None, 101.0),  # this run did not change the role: a real misconfiguration, not propagation
        (ASSUME, 100.0, 100.0 + ROLE_CHANGE_WINDOW_SECONDS + 1),  # long after the change
        (SCRIPT, 100.0, 101.0),  # the job's own failure; words in its log tail do not count
        (RunTimedOut("timed out waiting for job 'j': AccessDenied"), 100.0, 101.0),
        (RunInterrupted("interrupted: AccessDenied", stopped=True), 100.0, 101.0),
    ],
)
def test_nothing_else_is_retried(error: RunError, changed_at: float | None, started_at: float) -> None:
    assert not role_not_ready(error, changed_at, started_at)


def test_one_retry_at_most_after_the_settle_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_ROLE_SETTLE_SECONDS", "7")
    events: list[tuple[str, dict[str, Any]]] = []
    slept: list[float] = []
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        raise ASSUME

    with pytest.raises(RunError, match="unable to assume"):
        once_more_if_role_not_ready(attempt, 1e12, "job", lambda e, f: events.append((e, f)), sleep=slept.append)
    assert len(calls) == 2 and slept == [7.0]
    assert [e for e, _ in events] == ["retry"] and events[0][1]["step"] == "job"

    outcomes = iter([ASSUME, None])

    def flaky() -> str:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome
        return "done"

    assert once_more_if_role_not_ready(flaky, 1e12, "crawl", lambda e, f: None, sleep=lambda s: None) == "done"
