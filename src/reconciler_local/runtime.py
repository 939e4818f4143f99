"""The endpoint's runtime: everything that happens *between* requests (crawls, job runs, schedules).

One `Runtime` lives in the server process. Components (crawler runtime, job runtime, trigger engine)
register with it; `reset()` stops what they run and forgets their state, then resets moto's backends,
so a test starts from nothing. Settings come from environment variables at start-up and can be changed
through `POST /_reconciler/settings`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

from reconciler_local.clock import Clock

ENV_PREFIX = "RECONCILER_LOCAL_"  # every setting can be set as RECONCILER_LOCAL_<NAME IN CAPITALS>
TAG_FILTERS = ("and", "or")


def _convert(current: object, value: object) -> object:
    if isinstance(current, bool):
        return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
    converter: Any = type(current)
    return converter(value)


@dataclass
class Settings:
    """Runtime knobs, each settable at start-up as RECONCILER_LOCAL_<NAME> (e.g.
    RECONCILER_LOCAL_TIMEOUT_MINUTE_SECONDS=1) and at run time with `POST /_reconciler/settings`.

    `timeout_minute_seconds` is how many real seconds one Glue "minute" of a job Timeout lasts (60, as on
    AWS; a test sets 1 so that a 1-minute Timeout fires after one second)."""

    timeout_minute_seconds: float = 60.0
    scheduler_tick_seconds: float = 1.0
    work_dir: str = ""
    crawl_min_seconds: float = 0.5  # a crawl stays RUNNING at least this long, so clients can see it
    crawl_stopping_seconds: float = 0.2  # then STOPPING this long, then READY
    crawl_sample_bytes: int = 1024 * 1024  # head of each file read for classification
    crawl_max_files_per_table: int = 1000  # files sampled per table (all files are listed)
    keep_staged_data: bool = False  # keep a job run's staged s3:// data in its work dir after the run
    # What AWS enforces where moto is lenient; each is modelled in the module named, which cites its AWS source.
    role_resolution: bool = False  # a crawler's / job's Role must resolve to a Glue-trusted role (roles.py)
    iam_propagation_seconds: float = 0.0  # a role changed this recently cannot be assumed yet (roles.py)
    enforce_iam: bool = False  # requests are authorised against the caller's IAM policies (auth.py)
    enforce_role_policies: bool = False  # crawls and job runs may only do what the role allows (roles.py)
    new_bucket_seconds: float = 0.0  # configuration calls answer NoSuchBucket this long after CreateBucket
    # after versioning is first enabled on a bucket, requests to objects written since answer 404 NoSuchKey
    # intermittently this long (s3_fixes.py)
    versioning_propagation_seconds: float = 0.0
    lifecycle_propagation_seconds: float = 0.0  # GetBucketLifecycleConfiguration answers the previous rules this
    # long after a put (s3_fixes.py)
    glue5_log_layout: bool = True  # Glue 5 job runs log to `<run id>-driver` streams (job_runtime.py)
    tag_filter: str = "and"  # how List* `Tags` filters combine several tags: "and" or "or" (glue/responses.py)
    # QuickSight's asynchronous statuses (quicksight.py): a data source stays CREATION_IN_PROGRESS /
    # UPDATE_IN_PROGRESS this long; an ingestion stays QUEUED, then RUNNING, this long each.
    quicksight_async_seconds: float = 0.3

    @classmethod
    def from_environment(cls) -> Settings:
        settings = cls()
        for setting in fields(settings):
            value = os.environ.get(f"{ENV_PREFIX}{setting.name.upper()}")
            if value is not None:
                setattr(settings, setting.name, _convert(getattr(settings, setting.name), value))
        return settings

    def update(self, changes: dict[str, Any]) -> None:
        known = {field.name: field.type for field in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        converted = {name: _convert(getattr(self, name), value) for name, value in changes.items()}
        if converted.get("tag_filter", self.tag_filter) not in TAG_FILTERS:
            raise ValueError(f"tag_filter must be one of {', '.join(TAG_FILTERS)}")
        for name, value in converted.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Component(Protocol):
    def reset(self) -> None:
        """Stop everything this component runs and forget its state."""

    def shutdown(self) -> None:
        """Stop everything; the process is about to exit."""


class Runtime:
    def __init__(self) -> None:
        self.clock = Clock()
        self.settings = Settings.from_environment()
        self.lock = threading.RLock()
        self.endpoint_url = ""  # set once the server listens; job runs pass it to scripts
        self._components: list[Component] = []
        self._settings_listeners: list[Callable[[Settings], None]] = []

    def on_settings(self, listener: Callable[[Settings], None]) -> None:
        """Call `listener` now and after every settings change (admin route, reset)."""
        self._settings_listeners.append(listener)
        listener(self.settings)

    def settings_changed(self) -> None:
        for listener in self._settings_listeners:
            listener(self.settings)

    def register(self, component: Component) -> None:
        self._components.append(component)

    def reset(self) -> None:
        """Stop every crawl, job run and schedule, reset moto's state, the clock and the settings."""
        from reconciler_local.moto_api import moto_api_backend

        for component in self._components:
            component.reset()
        with self.lock:
            moto_api_backend().reset()
            self.clock.reset()
            self.settings = Settings.from_environment()
        self.settings_changed()

    def shutdown(self) -> None:
        for component in self._components:
            component.shutdown()


_RUNTIME: Runtime | None = None
_RUNTIME_LOCK = threading.Lock()


def get_runtime() -> Runtime:
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None:
            _RUNTIME = Runtime()
        return _RUNTIME
