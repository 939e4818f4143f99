"""Triggers and workflows that fire, with AWS's rules.

- SCHEDULED triggers fire on their Glue cron (UTC, parsed by `reconciler/spec/cron.py`, the parser spec
  validation uses) while ACTIVATED; crawler schedules start their crawler. The scheduler evaluates
  schedules on the endpoint's clock (`clock.py`) every `scheduler_tick_seconds` and whenever the clock is
  changed: a schedule fires once when its time lies between the previous evaluation and now (missed
  times are not replayed one by one).
- ON_DEMAND triggers fire on StartTrigger (SCHEDULED and CONDITIONAL ones are activated by it).
- CONDITIONAL triggers fire when a watched crawl or job run ends and the predicate holds (conditions
  `CrawlState` / `State` with LogicalOperator EQUALS; Logical AND = all, ANY = one). AWS's rule: "Dependent
  jobs or crawlers are only started if the job or crawler that completes was started by a trigger", so a
  crawl or run started by StartCrawler / StartJobRun (or a crawler's own schedule) fires nothing.
- Workflows: firing a workflow's start trigger (its schedule, StartTrigger, or StartWorkflowRun) starts a
  workflow run; inside it, conditional triggers of the same workflow fire at most once per run, on the
  states of that run's own actions. The run is COMPLETED when nothing of it runs any more (failed actions
  included, as on AWS: see Statistics) and STOPPED after StopWorkflowRun. GetWorkflowRun reports Status,
  Statistics and (IncludeGraph) the graph; GetWorkflow reports the graph and LastRun.
- Triggers must be ACTIVATED (StartOnCreation or StartTrigger) to fire on their own, as on AWS;
  StartWorkflowRun runs the start triggers of the workflow whatever their state.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.spec.cron import CronError, CronSchedule, parse_cron
from reconciler_local.clock import utc_now
from reconciler_local.glue.crawler_runtime import DONE, CrawlerRuntime, CrawlRun, StartedBy
from reconciler_local.glue.exceptions import (
    ConcurrentRunsExceededException,
    EntityNotFoundException,
    IllegalWorkflowStateException,
)
from reconciler_local.glue.job_runtime import ACTIVE_STATES, JobRun, JobRuntime, runs_of
from reconciler_local.moto_api import (
    ActionResult,
    FakeCrawler,
    FakeJob,
    FakeTrigger,
    FakeWorkflow,
    FakeWorkflowRun,
    GlueBackend,
    GlueResponse,
    glue_backends,
    request_params,
)
from reconciler_local.patching import graft, original
from reconciler_local.runtime import Runtime

log = logging.getLogger("reconciler_local.triggers")

COMPLETED, RUNNING, STOPPING, STOPPED = "COMPLETED", "RUNNING", "STOPPING", "STOPPED"


@dataclass
class WorkflowRunState:
    workflow_name: str
    run_id: str
    status: str = RUNNING
    actions: list[CrawlRun | JobRun] = field(default_factory=list)
    errored: int = 0
    fired: set[str] = field(default_factory=set)
    completed_on: datetime | None = None

    def running(self) -> list[CrawlRun | JobRun]:
        return [action for action in self.actions if _is_active(action)]

    def statistics(self) -> dict[str, int]:
        states = [_final_state(action) for action in self.actions]
        return {
            "TotalActions": len(self.actions) + self.errored,
            "TimeoutActions": states.count("TIMEOUT"),
            "FailedActions": states.count("FAILED"),
            "StoppedActions": states.count("STOPPED") + states.count("CANCELLED"),
            "SucceededActions": states.count("SUCCEEDED"),
            "RunningActions": sum(1 for action in self.actions if _is_active(action)),
            "ErroredActions": self.errored,
            "WaitingActions": 0,
        }


def _is_active(action: CrawlRun | JobRun) -> bool:
    return action.phase != DONE if isinstance(action, CrawlRun) else action.state in ACTIVE_STATES


def _final_state(action: CrawlRun | JobRun) -> str | None:
    if isinstance(action, CrawlRun):
        return action.outcome if action.phase == DONE else None
    return None if action.state in ACTIVE_STATES else action.state


def _backends() -> Iterator[GlueBackend]:
    for account_backends in list(glue_backends.values()):
        yield from list(account_backends.values())


def _references(trigger: FakeTrigger, kind: str, name: str) -> bool:
    if trigger.predicate is None:
        return False
    return any((condition.job_name if kind == "job" else condition.crawler_name) == name
               for condition in trigger.predicate.conditions)


class TriggerEngine:
    def __init__(self, runtime: Runtime, crawls: CrawlerRuntime, jobs: JobRuntime) -> None:
        self.runtime = runtime
        self.crawls = crawls
        self.jobs = jobs
        self.lock = threading.RLock()
        self.workflow_runs: dict[str, WorkflowRunState] = {}
        self._schedules: dict[str, CronSchedule | None] = {}
        self._last_checked = runtime.clock.now()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        crawls.listeners.append(self.on_crawl_finished)
        jobs.listeners.append(self.on_job_finished)
        runtime.clock.on_change(self._wake.set)
        self._thread = threading.Thread(target=self._loop, name="glue-scheduler", daemon=True)
        self._thread.start()

    # -- schedules ------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self.runtime.settings.scheduler_tick_seconds)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self.tick()
            except Exception:
                log.error("scheduler tick failed:\n%s", traceback.format_exc())

    def _schedule(self, expression: str) -> CronSchedule | None:
        if expression not in self._schedules:
            try:
                self._schedules[expression] = parse_cron(expression)
            except CronError as error:
                log.warning("ignoring schedule %r: %s", expression, error)
                self._schedules[expression] = None
        return self._schedules[expression]

    def tick(self) -> None:
        with self.lock:
            now = self.runtime.clock.now()
            after = min(self._last_checked, now)
            self._last_checked = now
            for backend in _backends():
                for trigger in list(backend.triggers.values()):
                    if trigger.trigger_type != "SCHEDULED" or trigger.state != "ACTIVATED" or not trigger.schedule:
                        continue
                    schedule = self._schedule(trigger.schedule)
                    if schedule is not None and (when := schedule.fires_between(after, now)):
                        log.info("schedule of trigger %s fires (%s)", trigger.name, when.isoformat())
                        self.fire(backend, trigger)
                for crawler in list(backend.crawlers.values()):
                    if getattr(crawler, "schedule_state", "SCHEDULED") != "SCHEDULED":
                        continue
                    schedule = self._schedule(crawler.schedule) if crawler.schedule else None
                    if schedule is not None and schedule.fires_between(after, now) and crawler.status == "READY":
                        log.info("schedule of crawler %s fires", crawler.name)
                        self.crawls.start(crawler)

    # -- firing ---------------------------------------------------------------------------------------

    def fire(self, backend: GlueBackend, trigger: FakeTrigger, workflow_run: WorkflowRunState | None = None) -> None:
        """Run the trigger's actions; a workflow's start trigger first starts a workflow run."""
        with self.lock:
            if trigger.workflow_name and workflow_run is None:
                workflow = backend.workflows.get(trigger.workflow_name)
                if workflow is None:
                    log.error("trigger %s names workflow %s, which does not exist", trigger.name,
                              trigger.workflow_name)
                    return
                self.start_workflow_run(backend, workflow, None, start_triggers=[trigger])
                return
            if workflow_run is not None:
                workflow_run.fired.add(trigger.name)
            started_by = StartedBy(
                trigger_name=trigger.name,
                workflow_name=workflow_run.workflow_name if workflow_run else None,
                workflow_run_id=workflow_run.run_id if workflow_run else None,
            )
            for action in trigger.actions:
                started: CrawlRun | JobRun | None = None
                try:
                    if action.job_name:
                        job = backend.get_job(str(action.job_name))
                        arguments: Any = action.arguments
                        timeout: Any = action.timeout
                        started = self.jobs.start(job, dict(arguments or {}), timeout=timeout, started_by=started_by)
                    elif action.crawler_name:
                        started = self.crawls.start(backend.get_crawler(str(action.crawler_name)), started_by)
                except Exception as error:  # AWS records the failed action and carries on
                    log.error("trigger %s could not start %s: %s", trigger.name,
                              action.job_name or action.crawler_name, error)
                    if workflow_run is not None:
                        workflow_run.errored += 1
                if started is not None and workflow_run is not None:
                    workflow_run.actions.append(started)
            if workflow_run is not None:
                self._maybe_complete(workflow_run)

    def start_workflow_run(self, backend: GlueBackend, workflow: FakeWorkflow, properties: dict[str, str] | None,
                           start_triggers: list[FakeTrigger] | None = None) -> str:
        with self.lock:
            running = [state for state in self.workflow_runs.values()
                       if state.workflow_name == workflow.name and state.status in (RUNNING, STOPPING)]
            if workflow.max_concurrent_runs and len(running) >= workflow.max_concurrent_runs:
                raise ConcurrentRunsExceededException(
                    f"Concurrent runs exceeded for workflow {workflow.name}: MaxConcurrentRuns is "
                    f"{workflow.max_concurrent_runs}"
                )
            run_id = workflow.start_run(properties)
            state = WorkflowRunState(workflow.name, run_id)
            self.workflow_runs[run_id] = state
            if start_triggers is None:
                start_triggers = [trigger for trigger in backend.triggers.values()
                                  if trigger.workflow_name == workflow.name and trigger.trigger_type != "CONDITIONAL"]
            log.info("workflow %s run %s starts with %s", workflow.name, run_id,
                     ", ".join(trigger.name for trigger in start_triggers) or "no start trigger")
            for trigger in start_triggers:
                self.fire(backend, trigger, state)
            self._maybe_complete(state)
            return run_id

    def stop_workflow_run(self, state: WorkflowRunState) -> None:
        with self.lock:
            if state.status != RUNNING:
                raise IllegalWorkflowStateException(f"Workflow run {state.run_id} is {state.status}, not running")
            state.status = STOPPING
            for action in state.running():
                try:
                    if isinstance(action, CrawlRun):
                        action.cancel.set()
                        if action.phase == "RUNNING":
                            action.phase = "STOPPING"
                    else:
                        self.jobs.stop(action)
                except ValueError:
                    pass
            self._maybe_complete(state)

    def _maybe_complete(self, state: WorkflowRunState) -> None:
        if state.status in (RUNNING, STOPPING) and not state.running():
            state.status = STOPPED if state.status == STOPPING else COMPLETED
            state.completed_on = utc_now()
            log.info("workflow %s run %s %s", state.workflow_name, state.run_id, state.status)

    # -- conditions -----------------------------------------------------------------------------------

    def on_crawl_finished(self, crawler: FakeCrawler, crawl: CrawlRun) -> None:
        self._on_event(crawler.backend, "crawler", crawler.name, crawl)

    def on_job_finished(self, job: FakeJob, run: JobRun) -> None:
        self._on_event(job.backend, "job", job.name, run)

    def _state_of(
        self, backend: GlueBackend, kind: str, name: str, workflow_run: WorkflowRunState | None
    ) -> str | None:
        if workflow_run is not None:
            for action in reversed(workflow_run.actions):
                action_name = action.crawler_name if isinstance(action, CrawlRun) else action.job_name
                if (kind == "crawler") == isinstance(action, CrawlRun) and action_name == name:
                    return _final_state(action)
            return None
        if kind == "crawler":
            crawler = backend.crawlers.get(name)
            crawls: list[Any] = crawler.crawls if crawler else []
            done = [crawl for crawl in crawls if isinstance(crawl, CrawlRun) and crawl.phase == DONE]
            return done[-1].outcome if done else None
        job = backend.jobs.get(name)
        finished = [run for run in runs_of(job) if run.state not in ACTIVE_STATES] if job else []
        return finished[-1].state if finished else None

    def _holds(self, backend: GlueBackend, trigger: FakeTrigger, workflow_run: WorkflowRunState | None) -> bool:
        predicate = trigger.predicate
        if predicate is None or not predicate.conditions:
            return False
        results = []
        for condition in predicate.conditions:
            if condition.job_name:
                state = self._state_of(backend, "job", condition.job_name, workflow_run)
                wanted = condition.state.value if condition.state else None
            else:
                state = self._state_of(backend, "crawler", str(condition.crawler_name), workflow_run)
                wanted = condition.crawl_state.value if condition.crawl_state else None
            results.append(state is not None and state == wanted)
        return any(results) if predicate.logical.value == "ANY" else all(results)

    def _on_event(self, backend: GlueBackend, kind: str, name: str, finished: CrawlRun | JobRun) -> None:
        started_by = finished.started_by
        if not started_by.by_trigger:
            log.info("%s %s was not started by a trigger: conditional triggers do not fire", kind, name)
            return
        with self.lock:
            workflow_run = self.workflow_runs.get(started_by.workflow_run_id or "")
            if workflow_run is not None and finished not in workflow_run.actions:
                workflow_run.actions.append(finished)  # a retry the job runtime started on its own
            if workflow_run is None or workflow_run.status == RUNNING:
                for trigger in list(backend.triggers.values()):
                    if trigger.trigger_type != "CONDITIONAL" or trigger.state != "ACTIVATED":
                        continue
                    if not _references(trigger, kind, name):
                        continue
                    if workflow_run is not None:
                        if trigger.workflow_name != workflow_run.workflow_name or trigger.name in workflow_run.fired:
                            continue
                    elif trigger.workflow_name:
                        continue
                    if self._holds(backend, trigger, workflow_run):
                        log.info("conditional trigger %s fires after %s %s", trigger.name, kind, name)
                        self.fire(backend, trigger, workflow_run)
            if workflow_run is not None:
                self._maybe_complete(workflow_run)

    # -- lifecycle ------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.workflow_runs.clear()
            self._schedules.clear()
            self._last_checked = self.runtime.clock.now()

    def shutdown(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=5)


_instance: TriggerEngine | None = None


def engine() -> TriggerEngine:
    if _instance is None:
        raise RuntimeError("the trigger engine is not installed (reconciler_local.install)")
    return _instance


def _node_id(kind: str, name: str) -> str:
    return f"wnode_{hashlib.sha256(f'{kind}:{name}'.encode()).hexdigest()[:40]}"


def workflow_graph(backend: GlueBackend, workflow_name: str, state: WorkflowRunState | None = None) -> dict[str, Any]:
    """GetWorkflow / GetWorkflowRun's Graph: trigger, job and crawler nodes and the edges between them."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, str]] = []

    def node(kind: str, name: str) -> str:
        unique_id = _node_id(kind, name)
        if unique_id not in nodes:
            entry: dict[str, Any] = {"Type": kind, "Name": name, "UniqueId": unique_id}
            if kind == "TRIGGER":
                entry["TriggerDetails"] = {"Trigger": backend.triggers[name].as_dict()}
            elif kind == "JOB":
                runs = [action.as_dict() for action in (state.actions if state else []) if
                        isinstance(action, JobRun) and action.job_name == name]
                entry["JobDetails"] = {"JobRuns": runs}
            else:
                crawls = [action.as_dict() for action in (state.actions if state else []) if
                          isinstance(action, CrawlRun) and action.crawler_name == name]
                entry["CrawlerDetails"] = {"Crawls": crawls}
            nodes[unique_id] = entry
        return unique_id

    for trigger in backend.triggers.values():
        if trigger.workflow_name != workflow_name:
            continue
        trigger_id = node("TRIGGER", trigger.name)
        for action in trigger.actions:
            target = node("JOB", str(action.job_name)) if action.job_name else node("CRAWLER", str(action.crawler_name))
            edges.append({"SourceId": trigger_id, "DestinationId": target})
        for condition in trigger.predicate.conditions if trigger.predicate else []:
            source = (node("JOB", condition.job_name) if condition.job_name
                      else node("CRAWLER", str(condition.crawler_name)))
            edges.append({"SourceId": source, "DestinationId": trigger_id})
    return {"Nodes": list(nodes.values()), "Edges": edges}


class GlueBackendTriggerAdditions(GlueBackend):
    def start_trigger(self, name: str) -> None:
        trigger = self.get_trigger(name)
        original(GlueBackend, "start_trigger")(self, name)
        if trigger.trigger_type == "ON_DEMAND":
            engine().fire(self, trigger)

    def start_workflow_run(self, workflow_name: str, properties: dict[str, str] | None) -> str:
        workflow = self.workflows.get(workflow_name)
        if workflow is None:
            raise EntityNotFoundException(f"Workflow {workflow_name} not found.")
        return engine().start_workflow_run(self, workflow, properties)

    def stop_workflow_run(self, workflow_name: str, run_id: str) -> None:
        original(GlueBackend, "stop_workflow_run")(self, workflow_name, run_id)  # validates the names
        state = engine().workflow_runs.get(run_id)
        if state is None:
            raise IllegalWorkflowStateException(f"Workflow run {run_id} is not running")
        engine().stop_workflow_run(state)


class FakeWorkflowRunAdditions(FakeWorkflowRun):
    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = original(FakeWorkflowRun, "as_dict")(self)
        state = engine().workflow_runs.get(self.run_id)
        if state is not None:
            data["Status"] = state.status
            data["Statistics"] = state.statistics()
            if state.completed_on is not None:
                data["CompletedOn"] = state.completed_on
        return data


class GlueResponseTriggerAdditions(GlueResponse):
    def get_workflow(self) -> ActionResult:
        name = request_params(self).get("Name")
        workflow = self.glue_backend.get_workflow(str(name))
        if request_params(self).get("IncludeGraph"):
            workflow["Graph"] = workflow_graph(self.glue_backend, str(name))
        return ActionResult({"Workflow": workflow})

    def get_workflow_run(self) -> ActionResult:
        name = request_params(self).get("Name")
        run_id = request_params(self).get("RunId")
        run = self.glue_backend.get_workflow_run(str(name), str(run_id))
        if request_params(self).get("IncludeGraph"):
            run["Graph"] = workflow_graph(self.glue_backend, str(name), engine().workflow_runs.get(str(run_id)))
        return ActionResult({"Run": run})


def install(runtime: Runtime, crawls: CrawlerRuntime, jobs: JobRuntime) -> TriggerEngine:
    global _instance
    if _instance is None:
        graft(GlueBackend, GlueBackendTriggerAdditions)
        graft(FakeWorkflowRun, FakeWorkflowRunAdditions)
        graft(GlueResponse, GlueResponseTriggerAdditions)
        _instance = TriggerEngine(runtime, crawls, jobs)
        runtime.register(_instance)
    return _instance
