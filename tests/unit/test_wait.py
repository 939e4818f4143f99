"""The one polling helper (reconciler/aws/wait.py), on a fake clock: a wait of minutes takes no time here."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.aws.wait import Clock, Deadline, Poll, UnexpectedState, WaitTimeout, every, retry_while, until

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "reconciler"


class FakeClock(Clock):
    """Time moves only when the code under test sleeps; every sleep is recorded."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []
        super().__init__(now=lambda: self.t, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def states(*answers: str) -> Callable[[], tuple[int, str]]:
    """A status function answering `answers` in turn (with the poll's number as its result), then the last."""
    it: Iterator[str] = iter(answers)
    count = [0]

    def status() -> tuple[int, str]:
        count[0] += 1
        return count[0], next(it, answers[-1])

    return status


def test_returns_the_result_of_the_first_target_state() -> None:
    clock = FakeClock()
    found = until(states("RUNNING", "STOPPING", "READY"), pending={"RUNNING", "STOPPING"}, target={"READY"},
                  timeout=60, poll=Poll(1.0, cap=15.0), clock=clock)  # fmt: skip
    assert found == 3
    assert clock.slept == [1.0, 2.0]


def test_no_sleep_when_the_first_answer_is_a_target() -> None:
    clock = FakeClock()
    assert until(states("READY"), pending={"RUNNING"}, target={"READY"}, timeout=0, poll=every(1), clock=clock) == 1
    assert clock.slept == []


def test_backoff_grows_by_the_factor_up_to_the_cap() -> None:
    clock = FakeClock()
    until(states(*["RUNNING"] * 6, "READY"), pending={"RUNNING"}, target={"READY"}, timeout=600,
          poll=Poll(0.25, factor=1.5, cap=1.0), clock=clock)  # fmt: skip
    assert clock.slept == [0.25, 0.375, 0.5625, 0.84375, 1.0, 1.0]


def test_an_unexpected_state_ends_the_wait_at_once_with_that_state() -> None:
    clock = FakeClock()
    with pytest.raises(UnexpectedState) as raised:
        until(states("RUNNING", "BROKEN"), pending={"RUNNING"}, target={"READY"}, timeout=60, poll=every(1),
              clock=clock)  # fmt: skip
    assert (raised.value.state, raised.value.last) == ("BROKEN", 2)
    assert clock.slept == [1]


def test_the_last_sleep_is_cut_to_the_deadline_and_the_state_there_counts() -> None:
    """A lock released at the very end of --lock-timeout is taken: the last poll is at the deadline."""
    clock = FakeClock()
    status = states("HELD", "HELD", "HELD", "FREE")
    assert until(status, pending={"HELD"}, target={"FREE"}, timeout=2.5, poll=every(1), clock=clock) == 4
    assert clock.slept == [1, 1, 0.5]


def test_still_pending_at_the_deadline_times_out_with_the_last_answer() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as raised:
        until(states("RUNNING"), pending={"RUNNING"}, target={"READY"}, timeout=10, poll=Poll(1, cap=4),
              clock=clock)  # fmt: skip
    # polls at 0, 1, 3, 7 and 10 s
    assert (raised.value.state, raised.value.last, raised.value.seconds) == ("RUNNING", 5, 10)
    assert clock.slept == [1, 2, 4, 3]
    assert clock.t == 1010


def test_before_deadline_gives_up_when_the_next_poll_would_come_too_late() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeout):
        until(states("RUNNING"), pending={"RUNNING"}, target={"READY"}, timeout=10,
              poll=Poll(1, cap=4, before_deadline=True), clock=clock)  # fmt: skip
    assert clock.slept == [1, 2, 4]  # a 4th sleep of 4 s would end at 11 s


def test_a_zero_timeout_polls_once() -> None:
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as raised:
        until(states("RUNNING"), pending={"RUNNING"}, target={"READY"}, timeout=0, poll=every(1), clock=clock)
    assert raised.value.last == 1 and clock.slept == []


def test_on_pending_sees_each_pending_answer_before_its_sleep_but_not_the_timed_out_one() -> None:
    clock = FakeClock()
    seen: list[tuple[int, str, float]] = []
    with pytest.raises(WaitTimeout):
        until(states("STARTING", "RUNNING"), pending={"STARTING", "RUNNING"}, target={"SUCCEEDED"}, timeout=3,
              poll=every(1), clock=clock, on_pending=lambda n, state: seen.append((n, state, clock.t)))  # fmt: skip
    assert seen == [(1, "STARTING", 1000), (2, "RUNNING", 1001), (3, "RUNNING", 1002)]


def test_a_shared_deadline_bounds_two_waits_together() -> None:
    clock = FakeClock()
    deadline = Deadline(5, clock)
    until(states("RUNNING", "RUNNING", "RUNNING", "READY"), pending={"RUNNING"}, target={"READY"}, timeout=deadline,
          poll=every(1))  # fmt: skip
    assert deadline.left == 2
    with pytest.raises(WaitTimeout) as raised:
        until(states("RUNNING"), pending={"RUNNING"}, target={"SUCCEEDED"}, timeout=deadline, poll=every(1))
    assert raised.value.seconds == 5 and clock.t == 1005 and deadline.expired()


def test_a_continuous_target_must_be_seen_on_that_many_polls_in_a_row() -> None:
    """S3 shows a new lifecycle configuration, then the old one again, while it propagates: two READY in a row
    are needed, and a pending answer in between starts the count again."""
    clock = FakeClock()
    status = states("OLD", "NEW", "OLD", "NEW", "NEW", "OLD")
    assert until(status, pending={"OLD"}, target={"NEW"}, timeout=60, poll=every(1), clock=clock,
                 continuous_target=2) == 5  # fmt: skip
    assert clock.slept == [1, 1, 1, 1]


def test_an_error_of_the_status_function_ends_the_wait_as_it_is() -> None:
    def status() -> tuple[int, str]:
        raise KeyError("gone")

    with pytest.raises(KeyError, match="gone"):
        until(status, pending={"RUNNING"}, target={"READY"}, timeout=60, poll=every(1), clock=FakeClock())


class Flaky(Exception):
    pass


def failing(times: int, error: Exception) -> Callable[[], str]:
    calls = [0]

    def action() -> str:
        calls[0] += 1
        if calls[0] <= times:
            raise error
        return f"ok after {calls[0]}"

    return action


def test_retry_while_returns_once_the_action_succeeds() -> None:
    clock = FakeClock()
    answer = retry_while(failing(3, Flaky()), lambda e: isinstance(e, Flaky), timeout=120,
                         poll=Poll(1, cap=10, before_deadline=True), clock=clock)  # fmt: skip
    assert answer == "ok after 4" and clock.slept == [1, 2, 4]


def test_retry_while_raises_another_error_at_once() -> None:
    clock = FakeClock()
    with pytest.raises(ValueError):
        retry_while(failing(1, ValueError()), lambda e: isinstance(e, Flaky), timeout=120, poll=every(1), clock=clock)
    assert clock.slept == []


def test_retry_while_raises_the_last_retryable_error_at_the_deadline() -> None:
    """Two minutes at most, doubling from 1 s up to 10 s, no attempt after the deadline: 15 attempts, the
    retry of IAM propagation (terraform-provider-aws internal/service/glue/consts.go propagationTimeout)."""
    clock = FakeClock()
    last = Flaky("the 15th")
    attempts = [0]

    def action() -> str:
        attempts[0] += 1
        raise last if attempts[0] == 15 else Flaky(str(attempts[0]))

    with pytest.raises(Flaky) as raised:
        retry_while(action, lambda e: isinstance(e, Flaky), timeout=120, poll=Poll(1, cap=10, before_deadline=True),
                    clock=clock)  # fmt: skip
    assert raised.value is last and attempts[0] == 15 and clock.t - 1000 == 115


def test_retry_while_raises_the_last_error_with_its_own_cause() -> None:
    cause = KeyError("the botocore error")

    def action() -> str:
        raise Flaky("mapped") from cause

    with pytest.raises(Flaky) as raised:
        retry_while(action, lambda e: isinstance(e, Flaky), timeout=1, poll=every(1), clock=FakeClock())
    assert raised.value.__cause__ is cause and not isinstance(raised.value.__context__, WaitTimeout)


#: Loops that sleep but wait for no state: a fixed number of attempts, each after a fixed delay.
FIXED_RETRIES = {
    # a 404 for the lock while a listing still shows it (versioning's window), VISIBLE_404_DELAYS: the conditional
    # delete of a release, the conditional put of a renewal, the read
    ("aws/lock.py", "_delete_when_visible"),
    ("aws/lock.py", "_renew_write"),
    ("aws/lock.py", "observe_lock"),
    ("aws/visible.py", "read_listed"),  # a 404 for an object a listing shows: every read of our own objects
    ("quarterly/pointer.py", "_get_json"),  # a read of a just-written object after a 404, WRITTEN_404_DELAYS
    ("quarterly/glue_runs.py", "start_job"),  # StartJobRun, 5 attempts, each after looking for the run it started
    ("resources/event_rule.py", "entries_checked"),  # PutTargets' failed entries, ENTRY_ATTEMPTS
}


def _sleeps(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            f = inner.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in {"sleep", "monotonic"} or name.endswith("_sleep"):
                return True
    return False


def test_no_module_polls_by_hand() -> None:
    """Every wait for a state goes through aws/wait.py: a loop of its own that sleeps or reads the clock is
    one of the fixed retries above, or a new hand-written polling loop (use wait.until or wait.retry_while)."""
    found: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module == "aws/wait.py":
            continue
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                loops = [n for n in ast.walk(function) if isinstance(n, ast.While | ast.For)]
                if any(_sleeps(loop) for loop in loops):
                    found.add((module, function.name))
    assert found <= FIXED_RETRIES, sorted(found - FIXED_RETRIES)
    assert found, "the scan found none of the fixed retries: it no longer sees loops"
