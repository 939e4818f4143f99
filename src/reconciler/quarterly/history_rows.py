"""The run history as `history` and `show` list it: one row per run from its record (history.py), report and
gate verdict, the gate's rules with observed and allowed values, the outputs in S3 and where the logs are.
Apart from the record because the run writes records and these commands only read them.
"""

from __future__ import annotations

from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.quarterly import pointer, publish
from reconciler.quarterly.history import read_record
from reconciler.spec.model import Pipeline


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
