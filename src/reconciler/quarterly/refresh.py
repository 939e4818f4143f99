"""QuickSight refresh after a publish or promote: a SPICE ingestion of spec.quicksight.dataset's data set.

API (Amazon QuickSight API reference): CreateIngestion (AwsAccountId, DataSetId, IngestionId, IngestionType
FULL_REFRESH; https://docs.aws.amazon.com/quicksight/latest/APIReference/API_CreateIngestion.html) starts it,
under a new IngestionId per attempt (ingestion_id_for);
DescribeIngestion (API_DescribeIngestion.html) is polled until IngestionStatus is one of COMPLETED, FAILED,
CANCELLED (API_Ingestion.html: INITIALIZED | QUEUED | RUNNING | FAILED | COMPLETED | CANCELLED), with
ErrorInfo {Type, Message} on failure and RowInfo {RowsIngested, RowsDropped} on success.

The ingestion's outcome goes into the run's record (quarterly/history.py, key `ingestion`), so `history` and
`show` tell it per run: through the run's `ingestion` event during `reconcile run`, written straight into the
promoted run's record by `reconcile promote`. A failed or cancelled ingestion is an error (exit 1) naming
QuickSight's error: the data is published, but the data set people read is not refreshed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reconciler.aws import wait
from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError, AwsError, RunError
from reconciler.invocation import command
from reconciler.quarterly import history, publish
from reconciler.spec.model import Pipeline

EventSink = Callable[[str, dict[str, Any]], None]

ENDED = ("COMPLETED", "FAILED", "CANCELLED")
#: how long to wait for an ingestion (SPICE imports of this data set's size take seconds to minutes)
TIMEOUT_SECONDS = 900.0


def ingestion_id_for(run_id: str, now: datetime | None = None) -> str:
    """A new IngestionId for one attempt to refresh after `run_id`: `reconcile-<run id>-a<UTC time to the
    microsecond>`. Ids are single-use (CreateIngestion documents ResourceExistsException, botocore quicksight
    model), and `promote RUN_ID` refreshes again after a failed one, so the run id alone would be refused the
    second time. IngestionId: 1 to 128 of [a-zA-Z0-9-_] (botocore quicksight model, IngestionId). A time, not a
    random suffix: digits keep the id from looking like a secret to masking.py's entropy rule."""
    suffix = "a" + (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"reconcile-{run_id[: 128 - len('reconcile--') - len(suffix)]}-{suffix}"


def _start(ctx: AwsContext, ids: dict[str, str], run_id: str) -> None:
    """CreateIngestion under ids["IngestionId"] (replaced by a fresh one when another attempt took it).
    ResourceExistsException after a retried request (its answer lost, retried by ctx.call) means our own earlier
    try created it: started, as wanted."""
    for _ in range(3):
        try:
            ctx.call("quicksight", "create_ingestion", IngestionType="FULL_REFRESH", **ids)
            return
        except AwsApiError as exc:
            if exc.code != "ResourceExistsException":
                raise
            if exc.attempts >= 2:
                return
        ids["IngestionId"] = ingestion_id_for(run_id)
    ctx.call("quicksight", "create_ingestion", IngestionType="FULL_REFRESH", **ids)


def ingest(ctx: AwsContext, pipeline: Pipeline, run_id: str, *, timeout: float = TIMEOUT_SECONDS,
           poll: float = 0.5) -> dict[str, Any]:  # fmt: skip
    """Start a FULL_REFRESH ingestion and wait for its end; what to record ({data_set, ingestion_id, state, ...})."""
    dataset = pipeline.quicksight.dataset
    assert dataset is not None
    ingestion_id = ingestion_id_for(run_id)
    ids = {"AwsAccountId": ctx.account_id, "DataSetId": dataset.data_set, "IngestionId": ingestion_id}
    try:
        _start(ctx, ids, run_id)
        ingestion_id = ids["IngestionId"]

        def status() -> tuple[dict[str, Any], str]:  # any status not in ENDED is waited for (QUEUED, RUNNING, ...)
            ingestion = ctx.call_fresh("quicksight", "describe_ingestion", **ids)["Ingestion"]
            state = str(ingestion.get("IngestionStatus"))
            return ingestion, state if state in ENDED else "not ended"

        try:
            found = wait.until(status, pending={"not ended"}, target=ENDED, timeout=timeout, poll=wait.every(poll))
        except wait.WaitTimeout as timed_out:  # still running: recorded as such, not an error of the wait
            found = timed_out.last
        state = str(found.get("IngestionStatus"))
    except AwsError as exc:
        return {"data_set": dataset.data_set, "ingestion_id": ids["IngestionId"], "state": "NOT_STARTED",
                "error": exc.message}  # fmt: skip
    error = found.get("ErrorInfo") or {}
    return {
        "data_set": dataset.data_set, "ingestion_id": ingestion_id,
        "state": state if state in ENDED else f"{state} (still running after {int(timeout)} s)",
        "rows_ingested": (found.get("RowInfo") or {}).get("RowsIngested"),
        "error": f"{error.get('Type')}: {error.get('Message')}" if error else None,
    }  # fmt: skip


def describe(outcome: dict[str, Any]) -> str:
    """One line for people: `QuickSight data set D: ingestion I COMPLETED (N rows)`."""
    rows = f" ({outcome['rows_ingested']} rows)" if outcome.get("rows_ingested") is not None else ""
    error = f": {outcome['error']}" if outcome.get("error") else ""
    which = f"QuickSight data set {outcome['data_set']}: ingestion {outcome['ingestion_id']}"
    return f"{which} {outcome['state']}{rows}{error}"


def after_publish(ctx: AwsContext, pipeline: Pipeline, run_id: str, emit: EventSink | None = None,
                  say: Callable[[str], None] | None = None) -> None:  # fmt: skip
    """After `run_id` was published: refresh the data set (nothing without spec.quicksight.dataset), record the
    outcome in the run record (`emit` given: the run's `ingestion` event, which its Recorder records; else
    written into the stored record; `say` prints a completed one for people), and raise RunError when the
    ingestion did not complete."""
    if pipeline.quicksight.dataset is None:
        return
    outcome = ingest(ctx, pipeline, run_id)
    if say is not None and outcome["state"] == "COMPLETED":
        say(describe(outcome))
    if emit is not None:
        emit("ingestion", outcome)
    else:
        layout = publish.Layout.of(pipeline)
        record = history.read_record(ctx, layout, run_id) or {"run_id": run_id}
        record["ingestion"] = outcome
        try:
            history.write_record(ctx, layout, record)
        except AwsError as exc:
            raise RunError(f"could not record the ingestion in run {run_id}'s record: {exc.message}") from exc
    if outcome["state"] != "COMPLETED":
        raise RunError(
            f"run {run_id} is published, but QuickSight's SPICE ingestion {outcome['ingestion_id']} of data set "
            f"{outcome['data_set']} ended {outcome['state']}: {outcome.get('error') or 'no error given'}",
            hint=f"fix what the error names (the manifest s3://{pipeline.bucket.name}/"
            f"{pipeline.quicksight.manifest.key if pipeline.quicksight.manifest else '?'}), then refresh with: "
            f"{command('promote', run_id)}",
        )


def after_unpublish(ctx: AwsContext, pipeline: Pipeline, label: str, say: Callable[[str], None] | None = None) -> None:
    """After quarter `label` was withdrawn: refresh the data set (nothing without spec.quicksight.dataset), so
    that it no longer shows the quarter; RunError when the ingestion did not complete."""
    if pipeline.quicksight.dataset is None:
        return
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    outcome = ingest(ctx, pipeline, f"unpublish-{label}-{stamp}")
    if say is not None:
        say(describe(outcome))
    if outcome["state"] != "COMPLETED":
        raise RunError(
            f"{label} is unpublished, but QuickSight's SPICE ingestion {outcome['ingestion_id']} of data set "
            f"{outcome['data_set']} ended {outcome['state']}: {outcome.get('error') or 'no error given'}",
            hint=f"fix what the error names, then: aws quicksight create-ingestion --aws-account-id {ctx.account_id} "
            f"--data-set-id {outcome['data_set']} --ingestion-id {outcome['ingestion_id']}-again",
        )
