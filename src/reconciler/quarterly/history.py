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
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.errors import (
    AwsError,
    GateError,
    LockError,
    NotFoundError,
    ReconcilerError,
    RunError,
    RunInterrupted,
    RunTimedOut,
)
from reconciler.masking import mask_value
from reconciler.quarterly import pointer, publish
from reconciler.quarterly.types import EventSink, RunSummary
from reconciler.spec.model import Pipeline

RUN_RECORD = pointer.RUN_RECORD
RECORD_FORMAT = "1"
PRICES = Path(__file__).with_name("prices.json")

def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat(timespec="seconds")
    return str(value)


# --- prices ----------------------------------------------------------------------------------------------


@cache
def price_table() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PRICES.read_text(encoding="utf-8"))
    return loaded


def region_copy(region: str) -> dict[str, str]:
    """The dated copy `region`'s prices come from (prices.json `copies`): {"name", "source", "as_of", "note"};
    for a region the table has no entry for, `default_copy` (the copy that was searched and lacks it)."""
    table = price_table()
    entry = table["regions"].get(region)
    name = str(entry["copy"] if entry else table["default_copy"])
    return {"name": name, **table["copies"][name]}


def region_prices(region: str) -> dict[str, float]:
    """`region`'s own figures (etl_job_dpu_hour, flex_job_dpu_hour, crawler_dpu_hour, s3_standard_gb_month: any
    may be missing); {} for a region the table has no entry for. Never another region's figures."""
    entry = price_table()["regions"].get(region)
    return dict(entry["prices"]) if entry else {}


def missing_price(region: str) -> str:
    """Why a figure of `region` is unpriced: its copy, dated, has no entry for it."""
    return f"unpriced in {region}: price list dated {region_copy(region)['as_of']} has no entry"


def unpriced_reason(worker_type: str | None) -> str | None:
    """None when `worker_type` (None: G.1X, Glue's default) has a DPU figure in prices.json; else why it is
    unpriced: prices.json `worker_unpriced` (R.* are M-DPU, Graviton types have no published DPU figure), or
    "unknown worker type" for one botocore's WorkerType enum gained after this table. Never 1 DPU by default."""
    table = price_table()
    kind = worker_type or "G.1X"
    if kind in table["worker_dpu"]:
        return None
    known: dict[str, str] = table.get("worker_unpriced", {})
    return f"worker type {kind}: " + known.get(kind, "unknown worker type, not in prices.json")


def job_dpus(job_run: dict[str, Any]) -> float | None:
    """The DPUs a job run ran on: workers x the worker type's DPUs (G.1X when none is given), else MaxCapacity;
    None for a worker type prices.json does not price (unpriced_reason)."""
    worker_dpu: dict[str, float] = price_table()["worker_dpu"]
    workers = job_run.get("NumberOfWorkers")
    if workers:
        kind = str(job_run.get("WorkerType") or "G.1X")
        return float(workers) * float(worker_dpu[kind]) if kind in worker_dpu else None
    return float(job_run.get("MaxCapacity") or job_run.get("AllocatedCapacity") or 0)


def job_dpu_seconds(job_run: dict[str, Any]) -> tuple[float | None, bool]:
    """(DPU-seconds, reported by Glue): `DPUSeconds` when present, else ExecutionTime x DPUs (None: unpriced)."""
    if job_run.get("DPUSeconds"):
        return float(job_run["DPUSeconds"]), True
    dpus = job_dpus(job_run)
    return (None if dpus is None else float(job_run.get("ExecutionTime") or 0) * dpus), False


def cost(region: str, job_run: dict[str, Any] | None, crawl_dpu_hours: float | None) -> dict[str, Any]:
    """The run's cost in USD at `region`'s own prices, with each figure it came from; a figure the region's
    dated copy lacks is unpriced (`job_unpriced`, `crawl_unpriced`: missing_price) and left out of the total."""
    prices = region_prices(region)
    copy = region_copy(region)
    table = price_table()
    minimum = table["minimum_seconds"]
    result: dict[str, Any] = {"currency": table["currency"], "region": region, "priced_as": region,
                              "prices_as_of": copy["as_of"], "source": copy["source"]}  # fmt: skip
    total = 0.0
    unpriced = unpriced_reason(job_run.get("WorkerType")) if job_run is not None and job_run.get(
        "NumberOfWorkers") else None  # fmt: skip
    flex = job_run is not None and job_run.get("ExecutionClass") == "FLEX"
    rate = prices.get("flex_job_dpu_hour" if flex else "etl_job_dpu_hour")
    if job_run is not None and unpriced is None and rate is None:
        unpriced = ("Flex job " if flex else "job ") + missing_price(region)
    if job_run is not None and unpriced is not None:
        result |= {"job_usd": None, "job_unpriced": unpriced}
    elif job_run is not None and rate is not None:
        dpu_seconds, reported = job_dpu_seconds(job_run)
        assert dpu_seconds is not None  # priced: job_dpus has a figure
        execution = float(job_run.get("ExecutionTime") or 0)
        if execution < minimum["etl_job"]:  # every job run is billed for at least the minimum duration
            per_second = dpu_seconds / execution if execution > 0 else (job_dpus(job_run) or 0.0)
            dpu_seconds = per_second * minimum["etl_job"]
        job_usd = round(dpu_seconds / 3600 * rate, 4)
        result |= {"job_dpu_seconds": round(dpu_seconds, 1), "job_dpu_seconds_reported": reported,
                   "job_usd": job_usd}  # fmt: skip
        total += job_usd
    if crawl_dpu_hours is not None:
        result["crawl_dpu_hours"] = round(crawl_dpu_hours, 6)
        if "crawler_dpu_hour" in prices:
            crawl_usd = round(crawl_dpu_hours * prices["crawler_dpu_hour"], 4)
            result["crawl_usd"] = crawl_usd
            total += crawl_usd
        else:  # no crawl_usd key: `show` prints the unpriced reason, not $0
            result["crawl_unpriced"] = "crawler " + missing_price(region)
    result["total_usd"] = round(total, 4)
    return result


def describe_cost(cost: dict[str, Any]) -> str:
    """A run record's cost in one line, for `show`: each part priced, or unpriced with the reason (never $0)."""
    priced = "" if cost.get("priced_as") == cost.get("region") else f" (priced as {cost.get('priced_as')})"
    job = f"${cost['job_usd']:.4f}" if cost.get("job_usd") is not None else (
        f"unpriced ({cost['job_unpriced']})" if cost.get("job_unpriced") else "$0.0000")  # fmt: skip
    crawl = f"${cost.get('crawl_usd') or 0:.4f}" if not cost.get("crawl_unpriced") else (
        f"unpriced ({cost['crawl_unpriced']})")  # fmt: skip
    return (f"${cost.get('total_usd', 0):.4f}: job {job}, crawl {crawl}; {cost.get('region')}{priced}, prices of "
            f"{cost.get('prices_as_of')}")  # fmt: skip


# --- reading and writing records --------------------------------------------------------------------------


def read_record(ctx: AwsContext, layout: publish.Layout, run_id: str) -> dict[str, Any] | None:
    try:
        body = ctx.call("s3", "get_object", Bucket=layout.bucket, Key=layout.run_key(run_id, RUN_RECORD))["Body"]
        loaded = json.loads(body.read())
    except NotFoundError:
        return None
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


# --- listing ---------------------------------------------------------------------------------------------


def rows(ctx: AwsContext, layout: publish.Layout) -> list[dict[str, Any]]:
    """One row per run, oldest first: its record where it has one, its report and gate verdict always
    (runs older than records, or whose job never wrote a report, are listed too)."""
    published = pointer.published_run_ids(ctx, layout)
    listed = []
    for run_id in publish.list_run_ids(ctx, layout):
        record = read_record(ctx, layout, run_id) or {}
        report = pointer.read_report(ctx, layout, run_id) or {}
        gate = pointer.read_gate(ctx, layout, run_id)
        if not record and not report and gate is None and not _holds_objects(ctx, layout, run_id):
            continue  # only deleted keys left (moto lists a prefix of delete markers in a versioned bucket)
        steps = record.get("steps") or {}
        counted = report or record.get("rows") or {}  # retention keeps the record, not the report
        listed.append({
            "run_id": run_id,
            "quarter": record.get("quarter") or pointer.report_quarter(report),
            "state": record.get("state") or ("succeeded" if report else "unknown (no run record)"),
            "started_at": record.get("started_at") or report.get("started_at"),
            "finished_at": record.get("finished_at"),
            "duration_seconds": report.get("duration_seconds"),
            # One rounding everywhere (history, --json, show, the run summary): tenths of a second.
            "steps": {name: _tenths(step.get("seconds")) for name, step in steps.items()},
            "total_seconds": round(sum(float(s.get("seconds") or 0) for s in steps.values()), 1) if steps else None,
            "job_run_id": (record.get("job_run") or {}).get("id"),
            "rows_read": counted.get("rows_read"),
            "rows_valid": counted.get("rows_valid"),
            "rows_quarantined": counted.get("rows_rejected"),
            "gate": None if gate is None else ("passed" if gate.get("passed") else "failed"),
            "gate_failures": [] if gate is None else gate.get("failures", []),
            "published": run_id in published,
            "was_published": bool(record.get("published")) or run_id in published,
            "complete": bool(report),
            "cost_usd": (record.get("cost") or {}).get("total_usd"),
            "error": (record.get("error") or {}).get("message"),
            "ingestion": (record.get("ingestion") or {}).get("state"),  # quarterly/refresh.py
        })  # fmt: skip
    return listed


def _tenths(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds), 1)


def _holds_objects(ctx: AwsContext, layout: publish.Layout, run_id: str) -> bool:
    listed = ctx.call("s3", "list_objects_v2", Bucket=layout.bucket, Prefix=layout.run_key(run_id), MaxKeys=1)
    return bool(listed.get("Contents"))


def s3_outputs(layout: publish.Layout, run_id: str, report: dict[str, Any]) -> dict[str, str]:
    """The report's outputs as s3:// URIs under the run's prefix: a job that ran on staged local folders
    (the local endpoint) reports those paths; what was written is the same relative path in S3."""
    root = str(report.get("output_path") or "").rstrip("/")
    outputs: dict[str, str] = {}
    for name, path in (report.get("outputs") or {}).items():
        text = str(path)
        if text.startswith("s3://"):
            outputs[name] = text
        elif root and text.startswith(root):
            outputs[name] = layout.run_uri(run_id) + text[len(root) :].lstrip("/")
        else:
            outputs[name] = layout.run_uri(run_id) + text.rsplit("/runs/" + run_id + "/", 1)[-1].lstrip("/")
    return outputs


def gate_rules(pipeline: Pipeline, report: dict[str, Any], verdict: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each configured gate rule with the observed and the allowed value; `passed` from the stored verdict."""
    q = pipeline.quality
    read = int(report.get("rows_read") or 0)
    failures = (verdict or {}).get("failures", [])

    def rule(name: str, observed: str, allowed: str) -> dict[str, Any]:
        failed = [f for f in failures if str(f).startswith(name + ":")]
        passed = None if verdict is None else not failed
        if not report:  # the job wrote no report (an interrupted or failed run): nothing was observed
            observed = "not observed (no report)"
        return {"rule": name, "observed": observed, "allowed": allowed, "passed": passed, "failures": failed}

    rules = []
    if q.min_rows_read is not None:
        rules.append(rule("min_rows_read", f"{read:,} rows", f">= {q.min_rows_read:,}"))
    if q.max_quarantine_share is not None:
        share = int(report.get("rows_rejected") or 0) / read if read else 0.0
        rules.append(rule("max_quarantine_share", f"{share:.2%}", f"<= {q.max_quarantine_share:.2%}"))
    if q.max_duplicate_share is not None:
        share = int(report.get("duplicates_dropped") or 0) / read if read else 0.0
        rules.append(rule("max_duplicate_share", f"{share:.2%}", f"<= {q.max_duplicate_share:.2%}"))
    if q.required_brands:
        seen = set(report.get("brands_seen") or [])
        missing = [b for b in q.required_brands if b not in seen]
        rules.append(rule("required_brands", f"missing {', '.join(missing)}" if missing else "all present",
                          ", ".join(q.required_brands)))  # fmt: skip
    if q.covers_quarter:
        found = report.get("date_range") or {}
        rules.append(rule("covers_quarter", f"{found.get('min')} to {found.get('max')}",
                          f"the whole of {pointer.report_quarter(report) or 'the quarter'}"))  # fmt: skip
    if q.max_brand_share_change is not None:
        compared = (verdict or {}).get("compared_with")
        if any(str(f).startswith("max_brand_share_change:") for f in failures):
            observed = "see the failures"
        elif verdict is None:
            observed = "not checked"
        elif compared:
            observed = f"within the limit (against run {compared})"
        elif "compared_with" in verdict:
            observed = "not compared (no earlier published quarter)"
        else:  # a verdict written before it recorded what it compared against
            observed = "no failure recorded"
        rules.append(rule("max_brand_share_change", observed, f"<= {q.max_brand_share_change:.2%} per brand"))
    return rules


def log_locations(ctx: AwsContext, record: dict[str, Any]) -> list[str]:
    """Where the run's logs are: CloudWatch Logs groups and streams, and the local endpoint's route."""
    places = []
    job_run = record.get("job_run") or {}
    if job_run.get("id"):
        run_id = job_run["id"]
        places.append(f"job output: CloudWatch Logs /aws-glue/jobs/output, stream {run_id} (Glue 5: {run_id}-driver)")
        places.append(f"job errors: CloudWatch Logs /aws-glue/jobs/error, stream {run_id} (Glue 5: {run_id}-driver)")
        endpoint = ctx.custom_endpoint("glue")
        if endpoint:
            places.append(f"driver log: {endpoint.rstrip('/')}/_reconciler/job-runs/{run_id}/log")
    for crawl in record.get("crawls") or []:
        if crawl.get("log_group"):
            places.append(f"crawl {crawl.get('crawl_id')}: CloudWatch Logs {crawl['log_group']}, "
                          f"stream {crawl.get('log_stream')}")  # fmt: skip
    return places
