"""The run record: our history, because Glue's does not last.

Glue keeps job-run history for 90 days ("Job run history is accessible for 90 days for your workflow and
job run", AWS Glue developer guide, Job runs API) and crawls for 12 months (ListCrawls "only retains up
to 12 months of crawls", AWS Glue API reference): about one quarter of job runs, for a pipeline that runs
once a quarter. So every `reconcile run` writes its own record beside its outputs,

    <output_path>runs/<run_id>/_run.json        (publish.Layout.run_key(run_id, RUN_RECORD))

at start (once it holds the lock), and again at the end of every step, failed or not, and at the end
(failed crawl, failed/stopped/timed-out job, timeout, interrupt, gate failure, lost lock, published):
quarter, state, step durations, job run id, rows, gate verdict, published or not, and cost. A run that
attaches to a killed run's job run (glue_runs.attachable_job_run) continues the killed run's record.

Its cost is priced in pricing.py, and `history` and `show` list the records with history_rows.py.

Cost: the job run's DPU-seconds (GetJobRun `DPUSeconds` when Glue reports it, for Flex and auto-scaling
runs; else `ExecutionTime` x workers x the worker type's DPUs) and the crawl's DPU-hours (ListCrawls'
`DPUHour`), priced with the dated table `prices.json` (each region's figures from one dated copy of AWS's
prices, with the minimums; a figure the copy lacks is unpriced, never borrowed from another region). On the
local endpoint the same formula gives what a run of that length would cost on AWS.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.aws.visible import read_listed
from reconciler.errors import (
    AwsError,
    GateError,
    LockError,
    ReconcilerError,
    RunError,
    RunInterrupted,
    RunTimedOut,
)
from reconciler.masking import mask_value
from reconciler.quarterly import pointer, publish
from reconciler.quarterly.pricing import cost, job_dpu_seconds, price_table
from reconciler.quarterly.types import EventSink, RunSummary
from reconciler.spec.model import Pipeline

RUN_RECORD = pointer.RUN_RECORD
RECORD_FORMAT = "1"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat(timespec="seconds")
    return str(value)


# --- reading and writing records --------------------------------------------------------------------------


def read_record(ctx: AwsContext, layout: publish.Layout, run_id: str) -> dict[str, Any] | None:
    """The run's record, or None when there is none (a 404 is believed once a listing does not show it: the
    record may be one this process has just written, in versioning's 404 window, aws/visible.py)."""
    answer = read_listed(ctx, layout.bucket, layout.run_key(run_id, RUN_RECORD), doing="reading the run record")
    if answer is None:
        return None
    try:
        loaded = json.loads(answer["Body"].read())
    except ValueError:
        return {"run_id": run_id, "state": "unreadable record"}
    return loaded if isinstance(loaded, dict) else None


def _write_record(ctx: AwsContext, layout: publish.Layout, record: dict[str, Any]) -> None:
    """The record as stored, secret-looking values masked (an error message may quote an argument's value)."""
    body = (json.dumps(mask_value(record), indent=2, sort_keys=True, default=str) + "\n").encode()
    ctx.call("s3", "put_object", Bucket=layout.bucket, Key=layout.run_key(str(record["run_id"]), RUN_RECORD),
             Body=body, ContentType="application/json")  # fmt: skip


#: for quarterly/refresh.py (`reconcile promote` records its ingestion in the promoted run's record)
write_record = _write_record


def final_state(error: BaseException | None, failed_step: str | None, published: bool) -> str:
    """What a run ended as, from the error it ended with (None: it finished)."""
    if error is None:
        return "published" if published else "succeeded"
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    message = error.message if isinstance(error, ReconcilerError) else str(error)
    if isinstance(error, RunInterrupted) or any(isinstance(e, KeyboardInterrupt) for e in chain) \
            or message.startswith("interrupted"):  # fmt: skip
        return "interrupted"
    if isinstance(error, GateError):
        return "gate_failed"
    if isinstance(error, LockError):
        return "lock_lost"
    if isinstance(error, RunTimedOut) or (isinstance(error, RunError) and message.startswith("timed out")):
        return "timed_out"
    if failed_step in {"crawl", "job"}:
        return f"{failed_step}_failed"
    return "failed"


@dataclass
class Recorder:
    """Keeps one run's record in S3 up to date from the run's events (see the module docstring)."""

    ctx: AwsContext
    pipeline: Pipeline
    layout: publish.Layout
    summary: RunSummary
    job: str
    crawlers: list[str]
    record: dict[str, Any] = field(default_factory=dict)
    failed_step: str | None = None
    warnings: list[str] = field(default_factory=list)
    sink: EventSink | None = None  # the run's own event sink, for the record's warnings

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        if self.sink is not None:
            self.sink("run_record_warning", {"warning": text})

    def begin(self, run_id: str, quarter: str | None) -> None:
        self.record = {
            "format_version": RECORD_FORMAT, "run_id": run_id, "pipeline": self.pipeline.name, "quarter": quarter,
            "state": "running", "started_at": _now(), "updated_at": _now(), "finished_at": None, "steps": {},
            "job": self.job, "job_run": None, "crawls": [], "rows": None, "gate": None, "published": False,
            "error": None, "cost": None, "output_prefix": self.layout.run_uri(run_id),
        }  # fmt: skip
        self.save()

    def save(self) -> None:
        self.record["updated_at"] = _now()
        try:
            _write_record(self.ctx, self.layout, self.record)
        except AwsError as exc:  # the history must never be what fails a run
            self.warn(f"could not write the run record: {exc.message}")

    def wrap(self, emit: EventSink) -> EventSink:
        self.sink = emit

        def observed(event: str, fields: dict[str, Any]) -> None:
            emit(event, fields)
            self.on_event(event, fields)

        return observed

    def on_event(self, event: str, fields: dict[str, Any]) -> None:
        if not self.record:
            return
        if event == "job_attached" and fields.get("adopted"):
            self.adopt(str(fields["run_id"]))
        elif event == "ingestion":  # quarterly/refresh.py: the QuickSight SPICE ingestion after the publish
            self.record["ingestion"] = dict(fields)
            self.save()
        elif event in {"step_finished", "step_failed"}:
            step = str(fields["step"])
            entry: dict[str, Any] = {"seconds": fields.get("seconds"),
                                     "state": "succeeded" if event == "step_finished" else "failed"}  # fmt: skip
            if event == "step_failed":
                entry["error"] = fields.get("error")
                self.failed_step = step
            self.record["steps"][step] = entry
            self.refresh(step)
            self.save()

    def adopt(self, run_id: str) -> None:
        """This run goes on with a killed run's job run: continue that run's record, drop our fresh one."""
        ours = self.record
        previous = read_record(self.ctx, self.layout, run_id) or {}
        with contextlib.suppress(AwsError):
            self.ctx.call("s3", "delete_object", Bucket=self.layout.bucket,
                          Key=self.layout.run_key(str(ours["run_id"]), RUN_RECORD))  # fmt: skip
        self.record = ours | previous | {
            "run_id": run_id, "output_prefix": self.layout.run_uri(run_id), "state": "running",
            "steps": {**previous.get("steps", {}), **ours["steps"]},
            "adopted_by": {"run_id": ours["run_id"], "at": _now()},
        }  # fmt: skip
        self.save()

    def refresh(self, step: str) -> None:
        """After a step: what AWS and the job tell about it (job run, crawl, report, gate)."""
        try:
            if step == "crawl":
                self.record["crawls"] = [self._crawl(name) for name in self.crawlers]
            if step == "job" and self.summary.job_run_id:
                self.record["job_run"] = self._job_run(str(self.summary.job_run_id))
            if step in {"gate", "publish"}:
                run_id = str(self.record["run_id"])
                report = self.summary.report or pointer.read_report(self.ctx, self.layout, run_id)
                if report:
                    counts = ("rows_read", "rows_valid", "rows_rejected", "duplicates_dropped")
                    self.record["rows"] = {k: report.get(k) for k in counts}
                gate = pointer.read_gate(self.ctx, self.layout, run_id)
                if gate is not None:
                    self.record["gate"] = {"passed": bool(gate.get("passed")), "failures": gate.get("failures", [])}
            self.record["published"] = bool(self.summary.published)
        except AwsError as exc:
            self.warn(f"could not read what the {step} step did: {exc.message}")
        self.record["cost"] = self._cost()

    def _job_run(self, job_run_id: str) -> dict[str, Any]:
        run = self.ctx.call("glue", "get_job_run", JobName=self.job, RunId=job_run_id)["JobRun"]
        dpu_seconds, _ = job_dpu_seconds(run)
        return {
            "id": job_run_id, "state": run.get("JobRunState"), "started_on": _iso(run.get("StartedOn")),
            "completed_on": _iso(run.get("CompletedOn")), "execution_seconds": run.get("ExecutionTime"),
            "dpu_seconds_reported": run.get("DPUSeconds"), "worker_type": run.get("WorkerType"),
            "number_of_workers": run.get("NumberOfWorkers"), "max_capacity": run.get("MaxCapacity"),
            "execution_class": run.get("ExecutionClass"), "glue_version": run.get("GlueVersion"),
            "log_group": run.get("LogGroupName"), "error_message": run.get("ErrorMessage"),
            "trigger": run.get("TriggerName"),
            "dpu_seconds": None if dpu_seconds is None else round(dpu_seconds, 1),
        }  # fmt: skip

    def _crawl(self, crawler: str) -> dict[str, Any]:
        """The crawler's latest crawl, from ListCrawls (which carries its DPU-hours)."""
        crawls = self.ctx.call("glue", "list_crawls", CrawlerName=crawler, MaxResults=10).get("Crawls", [])
        latest = max(crawls, key=lambda c: _iso(c.get("StartTime")) or "", default=None)
        if latest is None:
            return {"crawler": crawler}
        return {
            "crawler": crawler, "crawl_id": latest.get("CrawlId"), "state": latest.get("State"),
            "started": _iso(latest.get("StartTime")), "ended": _iso(latest.get("EndTime")),
            "dpu_hours": latest.get("DPUHour"), "error_message": latest.get("ErrorMessage"),
            "log_group": latest.get("LogGroup"), "log_stream": latest.get("LogStream"),
        }  # fmt: skip

    def _cost(self) -> dict[str, Any]:
        job_run = self.record.get("job_run")
        priced_run = None
        if job_run:
            priced_run = {"ExecutionTime": job_run.get("execution_seconds"), "DPUSeconds": job_run.get(
                "dpu_seconds_reported"), "WorkerType": job_run.get("worker_type"), "NumberOfWorkers": job_run.get(
                "number_of_workers"), "MaxCapacity": job_run.get("max_capacity"),
                "ExecutionClass": job_run.get("execution_class")}  # fmt: skip
        hours = [float(c["dpu_hours"]) for c in self.record.get("crawls") or [] if c.get("dpu_hours") is not None]
        if hours:  # billed for at least the crawler minimum per crawl
            minimum = price_table()["minimum_seconds"]["crawler"] / 3600
            hours = [max(h, minimum) for h in hours]
        return cost(self.ctx.region, priced_run, sum(hours) if hours else None)

    def finish(self, error: BaseException | None) -> None:
        self.refresh("publish" if error is None else (self.failed_step or "end"))
        self.record["state"] = final_state(error, self.failed_step, bool(self.summary.published))
        self.record["finished_at"] = _now()
        if error is not None:
            message = error.message if isinstance(error, ReconcilerError) else (str(error) or type(error).__name__)
            self.record["error"] = {"message": message, "kind": type(error).__name__}
        self.save()


@contextmanager
def recorded(recorder: Recorder, run_id: str, quarter: str | None) -> Iterator[Recorder]:
    """Write the record at start, and its final state however the block ends (interrupts included)."""
    recorder.begin(run_id, quarter)
    try:
        yield recorder
    except BaseException as error:
        try:
            recorder.finish(error)
        except Exception as bug:  # the run's own error is the one to report
            recorder.warn(f"could not record how the run ended: {type(bug).__name__}: {bug}")
        raise
    recorder.finish(None)
