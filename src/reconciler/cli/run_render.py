"""What `run` prints at its end for people, and the lines of `show`: one vocabulary for a run's rows."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from reconciler.invocation import command
from reconciler.quarterly import gate, pointer, pricing, refresh
from reconciler.quarterly.types import RunSummary


def rows_text(report: dict[str, Any]) -> str:
    """A report's row counts in the one vocabulary of history, show and run: read, valid, quarantined (the job's
    `rows_rejected`: the lines it wrote to quarantine/), duplicates; numbers with thousands separators."""
    def count(key: str) -> str:
        value = report.get(key)
        return f"{value:,}" if isinstance(value, int) else "-"

    return (f"read {count('rows_read')}, valid {count('rows_valid')}, quarantined {count('rows_rejected')}, "
            f"duplicates {count('duplicates_dropped')}")  # fmt: skip


def print_run_summary(console: Console, summary: RunSummary) -> None:
    console.print("[bold]Run summary[/]")
    for step, seconds in summary.steps.items():
        console.print(f"  {step:<9} {seconds:8.1f}s")
    console.print(f"  run       {summary.run_id} ({'published' if summary.published else 'not published'})")
    console.print(f"  details   {command('show', str(summary.run_id))}", markup=False)
    console.print(f"  quarter   {summary.quarter}")
    report = summary.report or {}
    if report:
        console.print(f"  rows      {rows_text(report)}")
    if summary.manifest_uri:
        copy = "not written, see the warning" if summary.warnings else summary.manifest_path
        console.print(f"  manifest  {summary.manifest_uri} (local copy: {copy})")
    if summary.removed_runs:
        console.print(f"  retention removed {len(summary.removed_runs)} old unpublished run(s)")


def show_lines(
    run_id: str, record: dict[str, Any], report: dict[str, Any], verdict: dict[str, Any] | None,
    rules: list[dict[str, Any]], outputs: dict[str, str], logs: list[str], *, published: bool,
) -> list[str]:  # fmt: skip
    """`show RUN_ID` for people: its record, report, gate rules, outputs and logs; values never shortened."""
    out: list[str] = []
    out.append(f"run       {run_id}")
    out.append(f"quarter   {record.get('quarter') or pointer.report_quarter(report) or '-'}")
    state = record.get("state") or "-"
    out.append(f"state     {state}{' (published now)' if published and state != 'published' else ''}")
    out.append(f"started   {record.get('started_at') or report.get('started_at') or '-'}"
               f"   finished {record.get('finished_at') or report.get('finished_at') or '-'}")  # fmt: skip
    if record.get("adopted_by"):
        adopted = record["adopted_by"]
        out.append(f"adopted   by run {adopted['run_id']} at {adopted['at']} (the run that started it was killed)")
    if (record.get("error") or {}).get("message"):
        out.append(f"error     {record['error']['message']}")
    for name, step in (record.get("steps") or {}).items():
        out.append(f"  step {name:<8} {step.get('state', '-'):<9} {float(step.get('seconds') or 0):8.1f}s")
    if record.get("ingestion"):  # quarterly/refresh.py
        out.append(f"refresh   {refresh.describe(record['ingestion'])}")
    job_run = record.get("job_run") or {}
    if job_run:
        out.append(f"job run   {job_run.get('id')} {job_run.get('state')}, {job_run.get('execution_seconds')}s on "
                   f"{job_run.get('number_of_workers')} x {job_run.get('worker_type')}, "
                   f"{job_run.get('dpu_seconds')} DPU-s")
    cost = record.get("cost") or {}
    if cost:
        out.append(f"cost      {pricing.describe_cost(cost)}")
    if report:
        out.append(f"rows      {rows_text(report)}")
        rejects = report.get("rejected_by_reason") or {}
        if rejects:
            out.append("rejects   " + ", ".join(f"{reason} {n:,}" for reason, n in sorted(rejects.items())))
        shares = gate.shares(report)
        if shares:
            out.append("brands    " + ", ".join(f"{b} {v:.1%}" for b, v in sorted(shares.items(), key=lambda x: -x[1])))
    else:
        out.append("report    none: the job wrote no report (it failed, or never ran)")
    if rules:
        verdict_text = "-" if verdict is None else ("passed" if verdict.get("passed") else "failed")
        out.append(f"gate      {verdict_text}")
        for r in rules:
            mark = "?" if r["passed"] is None else ("ok" if r["passed"] else "FAILED")
            seen = r["observed"] if r["observed"].startswith(("not ", "no ")) else f"observed {r['observed']}"
            out.append(f"  {mark:<6} {r['rule']}: {seen}, allowed {r['allowed']}")
            for failure in r["failures"]:
                out.append(f"         {failure}")
    for name, uri in outputs.items():
        out.append(f"output    {name}: {uri}")
    for place in logs:
        out.append(f"logs      {place}")

    return out
