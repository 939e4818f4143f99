"""The endpoint's clock for schedules: real UTC time, optionally shifted by an admin call.

Only schedule evaluation (SCHEDULED triggers, crawler schedules) reads this clock, so a test can make a
quarterly cron fire by setting the time (`POST /_reconciler/clock`). Timestamps the endpoint reports
(StartTime, StartedOn, ...) stay real wall-clock time, so a client comparing them with its own clock
is never confused by a shifted endpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; `Z` and naive values mean UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Clock:
    """UTC now plus an offset; listeners run after every change (the scheduler wakes up on them)."""

    def __init__(self, source: Callable[[], datetime] = utc_now) -> None:
        self._source = source
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        with self._lock:
            return self._source() + self._offset

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._offset = instant.astimezone(UTC) - self._source()
        self._notify()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        self._notify()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)
        self._notify()

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
