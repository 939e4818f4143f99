"""A Glue job run's driver log: where it is, its last lines, and following it while the run goes on.

On AWS the driver's output is in CloudWatch Logs (driver_log_streams: the layout depends on the run's Glue
version). The local endpoint writes CloudWatch only when a run ends, and serves the driver log *while it
runs* at `GET /_reconciler/job-runs/<run id>/log` (src/reconciler_local/admin.py); `DriverLog` reads
whichever of the two has lines, and then only that one, so no line is shown twice.
"""

from __future__ import annotations

import urllib.request

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsError


def driver_log_streams(run_id: str, glue_version: str | None) -> list[tuple[str, str]]:
    """The (log group, stream) pairs holding a job run's driver output, most useful first.

    AWS Glue Developer Guide, "Logging for AWS Glue jobs": from Glue 5.0 "user stdout (standard output)
    and stderr (standard error) logs are written to the /aws-glue/jobs/output log group" and "system
    logs, Spark daemon logs, and user AWS Glue Logger logs are written to the /aws-glue/jobs/error log
    group", in streams named `<job run id>-driver`; before 5.0 the streams are named by the run id, the
    traceback (stderr) in `/aws-glue/jobs/error`. GetJobRun's JobRun.GlueVersion says which applies
    (botocore glue service model); without it both layouts are tried, the newer first."""
    glue5 = [("/aws-glue/jobs/output", f"{run_id}-driver"), ("/aws-glue/jobs/error", f"{run_id}-driver")]
    older = [("/aws-glue/jobs/error", run_id), ("/aws-glue/jobs/output", run_id)]
    if glue_version is None:
        return glue5 + older
    try:
        major = int(str(glue_version).split(".", 1)[0])
    except ValueError:
        return glue5 + older
    return glue5 if major >= 5 else older


def admin_log_url(ctx: AwsContext, run_id: str) -> str | None:
    """The local endpoint's route for a run's driver log (None without a custom endpoint)."""
    endpoint = ctx.custom_endpoint("glue")  # the job runs are Glue's
    return f"{endpoint.rstrip('/')}/_reconciler/job-runs/{run_id}/log" if endpoint else None


def _admin_text(ctx: AwsContext, run_id: str) -> str | None:
    url = admin_log_url(ctx, run_id)
    if url is None:
        return None
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8", "replace"))
    except (OSError, ValueError):  # not our endpoint (AWS, a VPC endpoint: 404), or not reachable
        return None


def job_log_tail(
    ctx: AwsContext, run_id: str, lines: int = 30, *, glue_version: str | None = None, admin_route: bool = True
) -> str:
    """The driver log's last lines: CloudWatch Logs in the layout of the run's Glue version
    (driver_log_streams), else the admin route on our local endpoint (admin_route)."""
    for group, stream in driver_log_streams(run_id, glue_version):
        try:
            # GetLogEvents without startFromHead returns the newest events (CloudWatch Logs API reference).
            events = ctx.call("logs", "get_log_events", logGroupName=group, logStreamName=stream, limit=lines)["events"]
        except AwsError:
            continue
        if events:
            return "\n".join(e["message"].rstrip() for e in events)
    if admin_route:
        text = _admin_text(ctx, run_id)
        return "\n".join(text.splitlines()[-lines:]) if text else ""
    return ""


def log_location(ctx: AwsContext, run_id: str, glue_version: str | None) -> str:
    """Where a job run's full driver log is, for the last line of a failed run."""
    group, stream = driver_log_streams(run_id, glue_version)[0]
    where = f"CloudWatch Logs {group}, stream {stream}"
    url = admin_log_url(ctx, run_id)
    return f"{where} (this endpoint: {url})" if url else where


class DriverLog:
    """Follows one job run's driver log: each `poll()` returns the lines written since the last one.

    CloudWatch Logs: both driver streams of the run's Glue version (driver_log_streams: from 5.0 the user's
    stdout and stderr in `/aws-glue/jobs/output`, Spark's and the system's log in `/aws-glue/jobs/error`),
    each read with GetLogEvents from the head (`startFromHead=True`), then with the `nextForwardToken` of its
    previous answer ("If the value is the same as the token you passed, you have reached the end of the
    stream", CloudWatch Logs API reference, GetLogEvents), merged by timestamp. The local endpoint's admin
    route: the whole text, of which only complete lines not seen yet are returned. A failed read returns
    nothing: the log is a convenience, never what fails a run."""

    def __init__(self, ctx: AwsContext, run_id: str) -> None:
        self.ctx = ctx
        self.run_id = run_id
        self.source: str | None = None  # "cloudwatch" or "admin" once one of them had lines
        self.tokens: dict[tuple[str, str], str] = {}  # per stream that had events: where to go on from
        self.seen = 0  # complete lines already returned from the admin route

    def poll(self, glue_version: str | None = None) -> list[str]:
        if self.source != "admin":
            lines = self._cloudwatch(glue_version)
            if lines or self.source == "cloudwatch":
                return lines
        if self.source != "cloudwatch":
            return self._admin()
        return []

    def _cloudwatch(self, glue_version: str | None) -> list[str]:
        events: list[tuple[int, int, str]] = []
        for order, (group, stream) in enumerate(driver_log_streams(self.run_id, glue_version)[:2]):
            token = self.tokens.get((group, stream))
            extra = {"nextToken": token} if token else {}
            try:
                answer = self.ctx.call("logs", "get_log_events", logGroupName=group, logStreamName=stream,
                                       startFromHead=True, **extra)  # fmt: skip
            except AwsError:
                continue
            got = answer.get("events") or []
            if got:
                self.source = "cloudwatch"
                self.tokens[(group, stream)] = str(answer.get("nextForwardToken") or token or "")
            events += [(int(e.get("timestamp") or 0), order, str(e["message"]).rstrip("\n")) for e in got]
        return [message for _, _, message in sorted(events, key=lambda e: (e[0], e[1]))]

    def _admin(self) -> list[str]:
        text = _admin_text(self.ctx, self.run_id)
        if not text:
            return []
        complete = text[: text.rfind("\n") + 1].splitlines()  # a line still being written waits for its end
        new = complete[self.seen :]
        self.seen = len(complete)
        if new:
            self.source = "admin"
        return new
