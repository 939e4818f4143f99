"""Crawls that really run: StartCrawler starts a thread in the endpoint process that does `crawl.py`'s work.

States as AWS shows them: the crawler is RUNNING while the crawl works (at least `crawl_min_seconds`, so
a client can see it), STOPPING for `crawl_stopping_seconds`, then READY with `LastCrawl` = the crawl just
finished (Status SUCCEEDED / FAILED / CANCELLED, ErrorMessage, StartTime). While a crawl runs, LastCrawl
still describes the previous one, as on AWS. StopCrawler cancels (the catalog is written only at the end
of a crawl, so a cancelled crawl writes nothing). StartCrawler on a running crawler raises
CrawlerRunningException; StopCrawler on an idle one CrawlerNotRunningException. ListCrawls and
GetCrawlerMetrics report the crawls. Listeners (the trigger engine) hear about every finished crawl,
with who started it.
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler_local.clock import parse_instant, utc_now
from reconciler_local.glue.crawl import CrawlCancelled, CrawlFailed, CrawlOptions, CrawlSummary, commit_plan, plan_crawl
from reconciler_local.glue.exceptions import CrawlerNotRunningException, CrawlerRunningException
from reconciler_local.moto_api import (
    ActionResult,
    CrawlFilter,
    FakeCrawler,
    FilterField,
    FilterOperator,
    GlueBackend,
    GlueResponse,
    NoCrawlsEntryForCrawler,
    glue_backends,
    request_params,
)
from reconciler_local.patching import graft
from reconciler_local.roles import AccessDenied, role_check
from reconciler_local.runtime import Runtime
from reconciler_local.s3store import S3Store

log = logging.getLogger("reconciler_local.crawler")

RUNNING, STOPPING, DONE = "RUNNING", "STOPPING", "DONE"
SUCCEEDED, FAILED, CANCELLED = "SUCCEEDED", "FAILED", "CANCELLED"
# LastCrawl.Status -> ListCrawls' CrawlerHistory.State
HISTORY_STATE = {SUCCEEDED: "COMPLETED", FAILED: "FAILED", CANCELLED: "STOPPED"}


@dataclass(frozen=True)
class StartedBy:
    """Who started a crawl or job run: nobody (a manual start), a trigger, or a workflow run."""

    trigger_name: str | None = None
    workflow_name: str | None = None
    workflow_run_id: str | None = None

    @property
    def by_trigger(self) -> bool:
        return self.trigger_name is not None or self.workflow_run_id is not None


@dataclass
class CrawlRun:
    crawler_name: str
    started_by: StartedBy = field(default_factory=StartedBy)
    crawl_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    start_time: datetime = field(default_factory=utc_now)
    end_time: datetime | None = None
    phase: str = RUNNING
    outcome: str | None = None
    error_message: str | None = None
    summary: CrawlSummary = field(default_factory=CrawlSummary)
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)
    log_lines: list[str] = field(default_factory=list)

    # What moto's own FakeCrawler.as_dict reads from the last crawl (we replace its LastCrawl anyway).
    log_group = "/aws-glue/crawlers"

    def __getstate__(self) -> dict[str, Any]:
        """For the endpoint's saved state (persistence.py): events are not pickled, only whether it finished."""
        state = dict(self.__dict__)
        state["finished"] = self.finished.is_set()
        state["cancel"] = self.cancel.is_set()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        finished, cancel = bool(state.pop("finished", True)), bool(state.pop("cancel", False))
        self.__dict__.update(state)
        self.finished, self.cancel = threading.Event(), threading.Event()
        if finished:
            self.finished.set()
        if cancel:
            self.cancel.set()

    @property
    def log_stream(self) -> str:
        return self.crawler_name

    @property
    def message_prefix(self) -> str:
        return self.crawl_id

    @property
    def status(self) -> str:
        return self.outcome or RUNNING

    @property
    def history_state(self) -> str:
        return "RUNNING" if self.outcome is None else HISTORY_STATE[self.outcome]

    @property
    def elapsed_seconds(self) -> float:
        return ((self.end_time or utc_now()) - self.start_time).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        """ListCrawls' CrawlerHistory entry."""
        data: dict[str, Any] = {
            "CrawlId": self.crawl_id,
            "State": self.history_state,
            "StartTime": self.start_time,
            "LogGroup": "/aws-glue/crawlers",
            "LogStream": self.crawler_name,
            "MessagePrefix": self.crawl_id,
            "DPUHour": round(self.elapsed_seconds / 3600, 6),
        }
        if self.end_time is not None:
            data["EndTime"] = self.end_time
        if self.error_message:
            data["ErrorMessage"] = self.error_message
        if self.outcome == SUCCEEDED:
            data["Summary"] = json.dumps(self.summary.as_summary_json())
        return data

    def last_crawl(self) -> dict[str, Any]:
        """GetCrawler's LastCrawl."""
        data: dict[str, Any] = {
            "Status": self.outcome,
            "LogGroup": "/aws-glue/crawlers",
            "LogStream": self.crawler_name,
            "MessagePrefix": self.crawl_id,
            "StartTime": self.start_time,
        }
        if self.error_message:
            data["ErrorMessage"] = self.error_message
        return data


CrawlListener = Callable[[FakeCrawler, CrawlRun], None]


class CrawlerRuntime:
    """Runs crawls in threads; one instance per endpoint process (see `crawler_runtime()`)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.listeners: list[CrawlListener] = []
        self._active: dict[str, tuple[CrawlRun, threading.Thread]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by reset(): crawls from before a reset tell no listener

    def start(self, crawler: FakeCrawler, started_by: StartedBy | None = None) -> CrawlRun:
        with self._lock:
            crawls: list[Any] = crawler.crawls
            if crawls and isinstance(crawls[-1], CrawlRun) and crawls[-1].phase != DONE:
                raise CrawlerRunningException(f"Crawler with name {crawler.name} has already started")
            run = CrawlRun(crawler_name=crawler.name, started_by=started_by or StartedBy())
            crawls.append(run)
            thread = threading.Thread(target=self._run, args=(crawler, run, self._generation), daemon=True,
                                      name=f"crawl-{crawler.name}")
            self._active[run.crawl_id] = (run, thread)
        thread.start()
        return run

    def stop(self, crawler: FakeCrawler) -> None:
        crawls: list[Any] = crawler.crawls
        if not crawls or not isinstance(crawls[-1], CrawlRun) or crawls[-1].phase != RUNNING:
            raise CrawlerNotRunningException(f"Crawler with name {crawler.name} isn't running")
        run: CrawlRun = crawls[-1]
        run.cancel.set()
        run.phase = STOPPING

    def _wait(self, run: CrawlRun, until: float) -> None:
        while not run.cancel.is_set() and time.monotonic() < until:
            run.cancel.wait(min(0.05, max(until - time.monotonic(), 0)))

    def _run(self, crawler: FakeCrawler, run: CrawlRun, generation: int) -> None:
        settings = self.runtime.settings
        started = time.monotonic()
        options = CrawlOptions(sample_bytes=int(settings.crawl_sample_bytes),
                               max_files_per_table=int(settings.crawl_max_files_per_table))
        try:
            store = S3Store(crawler.backend.account_id)
            check = role_check(crawler.backend.account_id, crawler.role, settings, "AWS-Crawler")
            plans = plan_crawl(store, crawler, options, run.cancel.is_set, check)
            self._wait(run, started + settings.crawl_min_seconds)
            if run.cancel.is_set():
                raise CrawlCancelled()
            run.summary = commit_plan(crawler.backend, crawler, plans, self.runtime.lock, run.cancel.is_set, check)
            run.outcome = SUCCEEDED
        except CrawlCancelled:
            run.outcome = CANCELLED
        except (CrawlFailed, AccessDenied) as error:
            self._wait(run, started + settings.crawl_min_seconds)
            run.outcome = CANCELLED if run.cancel.is_set() else FAILED
            run.error_message = None if run.cancel.is_set() else str(error)
        except Exception as error:  # a bug of ours must still end the crawl, and say so
            log.error("crawl %s of %s crashed:\n%s", run.crawl_id, crawler.name, traceback.format_exc())
            run.outcome = FAILED
            run.error_message = f"Internal error in the local crawler: {type(error).__name__}: {error}"
        log.info("crawl of %s %s in %.2fs%s", crawler.name, run.outcome, time.monotonic() - started,
                 f": {run.error_message}" if run.error_message else "")
        run.phase = STOPPING
        time.sleep(settings.crawl_stopping_seconds)
        run.end_time = utc_now()
        run.phase = DONE
        crawler.crawl_elapsed_time = 0
        with self._lock:
            self._active.pop(run.crawl_id, None)
        run.finished.set()
        if generation != self._generation:
            return
        for listener in list(self.listeners):
            try:
                listener(crawler, run)
            except Exception:
                log.error("crawl listener failed:\n%s", traceback.format_exc())

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            active = list(self._active.values())
            self._active.clear()
        for run, _ in active:
            run.cancel.set()
        for _, thread in active:
            thread.join(timeout=10)

    def shutdown(self) -> None:
        self.reset()

    def adopt_restored(self, message: str) -> None:
        """After the state was restored (persistence.py): a crawl saved while active has no thread any more;
        it ends FAILED with `message`."""
        for backend in _glue_backends():
            for crawler in list(backend.crawlers.values()):
                crawls: list[Any] = crawler.crawls
                for run in crawls:
                    if isinstance(run, CrawlRun) and run.phase != DONE:
                        run.outcome, run.error_message, run.end_time, run.phase = FAILED, message, utc_now(), DONE
                        run.finished.set()


def _glue_backends() -> list[GlueBackend]:
    return [backend for regions in list(glue_backends.values()) for backend in list(regions.values())]


_instance: CrawlerRuntime | None = None


def crawler_runtime() -> CrawlerRuntime:
    if _instance is None:
        raise RuntimeError("the crawler runtime is not installed (reconciler_local.install)")
    return _instance


def _completed(crawler: FakeCrawler) -> list[CrawlRun]:
    crawls: list[Any] = crawler.crawls
    return [run for run in crawls if isinstance(run, CrawlRun) and run.phase == DONE]


class FakeCrawlerRuntimeAdditions(FakeCrawler):
    def start_crawler(self) -> None:
        crawler_runtime().start(self)

    def stop_crawler(self) -> None:
        crawler_runtime().stop(self)

    @property
    def status(self) -> str:
        crawls: list[Any] = self.crawls
        if crawls and isinstance(crawls[-1], CrawlRun) and crawls[-1].phase != DONE:
            return str(crawls[-1].phase)
        return "READY"

    def as_dict(self) -> dict[str, Any]:
        # The crawl-independent shape comes from the graft in models.py (role name, AWS defaults).
        data: dict[str, Any] = _base_as_dict(self)
        data.pop("LastCrawl", None)
        crawls: list[Any] = self.crawls
        done = _completed(self)
        if done:
            data["LastCrawl"] = done[-1].last_crawl()
        if crawls and isinstance(crawls[-1], CrawlRun) and crawls[-1].phase != DONE:
            data["CrawlElapsedTime"] = int(crawls[-1].elapsed_seconds * 1000)
        return data


_base_as_dict: Callable[[FakeCrawler], dict[str, Any]] = FakeCrawler.as_dict


def _matches(run: CrawlRun, crawl_filter: CrawlFilter) -> bool:
    name = crawl_filter.field_name
    value: Any
    wanted: Any = crawl_filter.field_value
    if name == FilterField.CRAWL_ID:
        value = run.crawl_id
    elif name == FilterField.STATE:
        value = run.history_state
    elif name == FilterField.DPU_HOUR:
        value, wanted = run.as_dict()["DPUHour"], float(wanted)
    else:
        value = run.start_time if name == FilterField.START_TIME else run.end_time
        if value is None:
            return False
        wanted = parse_instant(str(wanted))
    operator = crawl_filter.operator
    comparisons: dict[FilterOperator, Callable[[Any, Any], bool]] = {
        FilterOperator.EQ: lambda a, b: a == b,
        FilterOperator.NE: lambda a, b: a != b,
        FilterOperator.GT: lambda a, b: a > b,
        FilterOperator.GE: lambda a, b: a >= b,
        FilterOperator.LT: lambda a, b: a < b,
        FilterOperator.LE: lambda a, b: a <= b,
    }
    return comparisons[operator](value, wanted)


class GlueBackendCrawlAdditions(GlueBackend):
    def list_crawls(  # type: ignore[override]
        self, crawler_name: str, filters: list[CrawlFilter], **_: Any
    ) -> list[CrawlRun]:
        """moto's GlueResponse.list_crawls pages what this returns (moto 5.2.6: `PaginatedResult`)."""
        crawler = self.crawlers.get(crawler_name)
        if crawler is None:
            raise NoCrawlsEntryForCrawler(crawler_name)
        crawls: list[Any] = crawler.crawls
        runs: list[CrawlRun] = [run for run in crawls if isinstance(run, CrawlRun)]
        runs = [run for run in runs if all(_matches(run, crawl_filter) for crawl_filter in filters)]
        return sorted(runs, key=lambda run: run.start_time, reverse=True)

    def get_crawler_metrics(self, crawler_names: list[str] | None) -> list[dict[str, Any]]:
        names = crawler_names or list(self.crawlers)
        metrics = []
        for name in names:
            crawler = self.crawlers.get(name)
            if crawler is None:
                continue
            done = _completed(crawler)
            runtimes = [run.elapsed_seconds for run in done]
            last = done[-1] if done else None
            metrics.append({
                "CrawlerName": name,
                "TimeLeftSeconds": 0.0,
                "StillEstimating": crawler.status != "READY" and not done,
                "LastRuntimeSeconds": round(runtimes[-1], 3) if runtimes else 0.0,
                "MedianRuntimeSeconds": round(statistics.median(runtimes), 3) if runtimes else 0.0,
                "TablesCreated": last.summary.tables_created if last else 0,
                "TablesUpdated": last.summary.tables_updated if last else 0,
                "TablesDeleted": last.summary.tables_deleted if last else 0,
            })
        return metrics


class GlueResponseCrawlAdditions(GlueResponse):
    def get_crawler_metrics(self) -> ActionResult:
        names = request_params(self).get("CrawlerNameList")
        metrics = self.glue_backend.get_crawler_metrics(names)  # type: ignore[attr-defined]
        return ActionResult({"CrawlerMetricsList": metrics})


def install(runtime: Runtime) -> CrawlerRuntime:
    global _instance, _base_as_dict
    if _instance is None:
        _base_as_dict = FakeCrawler.as_dict  # the models.py graft: must be installed first
        graft(FakeCrawler, FakeCrawlerRuntimeAdditions)
        graft(GlueBackend, GlueBackendCrawlAdditions)
        graft(GlueResponse, GlueResponseCrawlAdditions)
        _instance = CrawlerRuntime(runtime)
        runtime.register(_instance)
    return _instance


__all__ = ["CrawlRun", "CrawlerRuntime", "StartedBy", "crawler_runtime", "install"]
