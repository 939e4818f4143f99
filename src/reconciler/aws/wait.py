"""One way to wait for AWS: poll a status until it reaches a target state, within a deadline.

The shape of terraform-provider-aws's waiters (internal/service/glue/wait.go: waitTriggerCreated,
waitTriggerDeleted, ... each a retry.StateChangeConf{Pending, Target, Refresh, Timeout}): a status function
answers (result, state); a state in `target` ends the wait with its result; a state in `pending` is polled
again after a delay; any other state raises UnexpectedState; still pending at the deadline raises WaitTimeout.
Both carry the last result and state, and each caller turns them into its own error.

`retry_while` is the same loop around an action that fails while something settles (terraform-provider-aws
tfresource.RetryWhen...: IAM propagation, S3's new-bucket window): the last error is raised at the deadline.

Pure: no AWS, no I/O. Time comes from a `Clock` (tests pass a fake one), so a wait costs tests nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Clock:
    """Where a wait reads the time and sleeps: the process's monotonic clock, unless a test passes its own."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


SYSTEM = Clock()


@dataclass(frozen=True)
class Poll:
    """The delays between polls: `initial`, multiplied by `factor` after each poll, at most `cap`.

    `before_deadline`: give up as soon as the next poll would come after the deadline (tenacity's
    stop_before_delay); otherwise the last sleep is cut short to end at the deadline, and the state there is
    the one that counts (a lock released just in time is taken)."""

    initial: float
    factor: float = 2.0
    cap: float | None = None
    before_deadline: bool = False

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay
            delay = delay * self.factor if self.cap is None else min(delay * self.factor, self.cap)


def every(seconds: float) -> Poll:
    """A constant interval."""
    return Poll(seconds, factor=1.0)


class Deadline:
    """An end in time, shared by the waits that it bounds together (a run's crawl and job share one)."""

    def __init__(self, seconds: float, clock: Clock = SYSTEM) -> None:
        self.seconds = seconds
        self.clock = clock
        self.end = clock.now() + seconds

    @property
    def left(self) -> float:
        return self.end - self.clock.now()

    def expired(self) -> bool:
        return self.left <= 0


class WaitTimeout(Exception, Generic[T]):
    """Still pending at the deadline: `state` and `last` are the last poll's."""

    def __init__(self, state: str, last: T, seconds: float) -> None:
        super().__init__(f"still {state} after {seconds:.0f}s")
        self.state, self.last, self.seconds = state, last, seconds


class UnexpectedState(Exception, Generic[T]):
    """A state that is neither pending nor a target: waiting longer would not help."""

    def __init__(self, state: str, last: T) -> None:
        super().__init__(f"unexpected state {state}")
        self.state, self.last = state, last


def until(
    status: Callable[[], tuple[T, str]],
    *,
    pending: Collection[str],
    target: Collection[str],
    timeout: float | Deadline,
    poll: Poll,
    clock: Clock | None = None,
    on_pending: Callable[[T, str], None] | None = None,
    continuous_target: int = 1,
) -> T:
    """Call `status()` until its state is in `target` (on `continuous_target` polls in a row: StateChangeConf's
    ContinuousTargetOccurence, for a change that shows, then not, while it propagates), and return its result.

    After each pending answer: at the deadline WaitTimeout, else `on_pending(result, state)` (an event, a log
    follow-up) and a sleep of the next delay (see Poll). `timeout` is seconds from now, or a Deadline."""
    if isinstance(timeout, Deadline):
        deadline = timeout
        clock = clock or deadline.clock
    else:
        clock = clock or SYSTEM
        deadline = Deadline(timeout, clock)
    delays = poll.delays()
    in_a_row = 0
    while True:
        result, state = status()
        in_a_row = in_a_row + 1 if state in target else 0
        if in_a_row >= continuous_target:
            return result
        if state not in pending and state not in target:
            raise UnexpectedState(state, result)
        delay = next(delays)
        left = deadline.left
        if left <= 0 or (poll.before_deadline and delay > left):
            raise WaitTimeout(state, result, deadline.seconds)
        if on_pending is not None:
            on_pending(result, state)
        clock.sleep(delay if poll.before_deadline else max(0.0, min(delay, deadline.left)))


def retry_while(
    action: Callable[[], T],
    retryable: Callable[[Exception], bool],
    *,
    timeout: float,
    poll: Poll,
    clock: Clock | None = None,
) -> T:
    """`action()`, called again while it fails with an error that `retryable` accepts, until `timeout`; any other
    error at once, and the last retryable one at the deadline, is raised as it is."""
    failures: list[Exception] = []

    def attempt() -> tuple[list[T], str]:
        try:
            return [action()], "done"
        except Exception as exc:
            if not retryable(exc):
                raise
            failures.append(exc)
            return [], "failed"

    try:
        return until(attempt, pending={"failed"}, target={"done"}, timeout=timeout, poll=poll, clock=clock)[0]
    except WaitTimeout:
        pass
    raise failures[-1]  # outside the except: the error keeps its own cause (the botocore error) and context
