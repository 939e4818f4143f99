"""The quarter of a run: which one is due, whether it is a real label, and whether its ingest folder exists.

A run processes exactly one quarter (docs/publishing.md): `--quarter YYYY-QN`, or
else the quarter `spec.schedule.quarter` says is due at run time: `previous` (the default) is the last
complete quarter (a run on 1 October processes Q3), `current` the quarter the run falls in. The quarter
is checked, and its ingest folder (`ingest_quarter=YYYY-QN/` under the job's `--input_path`) looked for,
before anything is started or billed: in the upload source on this machine (what the reconcile step is
about to upload) or in the bucket.

"Run time" is the wall clock, except on our local endpoint, whose schedule clock
(`/_reconciler/clock`) a test can move: there the run asks the endpoint, so a test that moves the clock
through five quarters moves the due quarter with it.
"""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from reconciler.aws.context import AwsContext
from reconciler.aws.lock import missing_bucket
from reconciler.errors import NotFoundError, RunError
from reconciler.invocation import generator_command
from reconciler.spec.model import Pipeline

LABEL = re.compile(r"^(?P<year>[0-9]{4})-Q(?P<q>[1-4])$")
RULES = ("previous", "current")


def is_label(label: str) -> bool:
    return LABEL.match(label) is not None


def parse(label: str) -> tuple[int, int]:
    """`2026-Q3` -> (2026, 3); RunError for anything else."""
    match = LABEL.match(label)
    if match is None:
        raise RunError(f"{label!r} is not a quarter: write it as YYYY-QN, e.g. 2026-Q3")
    return int(match["year"]), int(match["q"])


def label_of(year: int, quarter: int) -> str:
    return f"{year:04d}-Q{quarter}"


def of_date(day: date) -> str:
    return label_of(day.year, (day.month - 1) // 3 + 1)


def previous(label: str) -> str:
    year, q = parse(label)
    return label_of(year - 1, 4) if q == 1 else label_of(year, q - 1)


def bounds(label: str) -> tuple[date, date]:
    """The first and the last day of the quarter."""
    year, q = parse(label)
    first = date(year, 3 * q - 2, 1)
    following = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first, following - timedelta(days=1)


def due(rule: str, now: datetime) -> str:
    """The quarter a run at `now` (UTC) processes under `spec.schedule.quarter` = `rule`."""
    current = of_date(now.astimezone(UTC).date())
    if rule == "current":
        return current
    if rule == "previous":
        return previous(current)
    raise RunError(f"spec.schedule.quarter {rule!r} is not one of {', '.join(RULES)}")


def rule_of(pipeline: Pipeline) -> str:
    return pipeline.schedule.quarter if pipeline.schedule is not None else "previous"


def run_time(ctx: AwsContext) -> datetime:
    """Now, as the scheduler sees it: the local endpoint's schedule clock when it has one, else the wall clock."""
    endpoint = ctx.custom_endpoint("glue")  # the schedules are Glue's
    if endpoint:
        try:
            url = f"{endpoint.rstrip('/')}/_reconciler/clock"
            with urllib.request.urlopen(url, timeout=5) as response:
                now = json.loads(response.read()).get("now")
            if isinstance(now, str):
                return datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC)
        except (OSError, ValueError, AttributeError):
            pass  # any other endpoint (LocalStack, a proxy): it has no schedule clock
    return datetime.now(UTC)


# --- the ingest folder --------------------------------------------------------------------------------


def input_location(pipeline: Pipeline, job: str) -> tuple[str, str] | None:
    """(bucket, key prefix ending in '/') of the job's `--input_path`, when it is an s3:// URI."""
    spec_job = next((j for j in pipeline.jobs if j.name == job), None)
    uri = dict(spec_job.arguments).get("--input_path", "") if spec_job is not None else ""
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key if key.endswith("/") or not key else key + "/"


def folder(label: str) -> str:
    return f"ingest_quarter={label}/"


def in_upload_source(pipeline: Pipeline, key_prefix: str, label: str) -> Path | None:
    """The local folder an upload entry would put at `<key_prefix>ingest_quarter=<label>/`, if it holds a file."""
    wanted = key_prefix + folder(label)
    for upload in pipeline.uploads:
        if not upload.is_dir or not wanted.startswith(upload.prefix):
            continue
        candidate = Path(upload.source) / wanted[len(upload.prefix) :]
        if candidate.is_dir() and any(p.is_file() for p in candidate.rglob("*")):
            return candidate
    return None


def in_bucket(ctx: AwsContext, bucket: str, key_prefix: str, label: str, *, missing_ok: bool = True) -> bool:
    try:
        page = ctx.call("s3", "list_objects_v2", Bucket=bucket, Prefix=key_prefix + folder(label), MaxKeys=1)
    except NotFoundError as exc:  # ListObjectsV2's only not-found answer is NoSuchBucket
        if missing_ok:
            return False  # no bucket yet: nothing ingested there (the reconcile step creates it)
        raise missing_bucket(exc, bucket, f"checking that quarter {label} was ingested") from exc
    return bool(page.get("Contents"))


def ingested_in_bucket(ctx: AwsContext, bucket: str, key_prefix: str) -> list[str]:
    """The quarters that have an ingest folder under `key_prefix` in the bucket, sorted."""
    found: list[str] = []
    try:
        for page in ctx.pages("s3", "list_objects_v2", Bucket=bucket, Prefix=key_prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(key_prefix) :].rstrip("/")
                if name.startswith("ingest_quarter=") and is_label(name.split("=", 1)[1]):
                    found.append(name.split("=", 1)[1])
    except NotFoundError:
        return []
    return sorted(found)


def check_ingested(ctx: AwsContext, pipeline: Pipeline, job: str, label: str, *, local_too: bool) -> None:
    """RunError unless the quarter's ingest folder exists: in the bucket, or (`local_too`, before the
    reconcile step uploads it) in an upload source on this machine."""
    parse(label)
    location = input_location(pipeline, job)
    if location is None:
        return  # an input outside S3 (a test's local path): the job itself will say what is missing
    bucket, key_prefix = location
    if local_too and in_upload_source(pipeline, key_prefix, label) is not None:
        return
    if in_bucket(ctx, bucket, key_prefix, label, missing_ok=local_too):  # run --skip-apply: apply first
        return
    known = ingested_in_bucket(ctx, bucket, key_prefix)
    where = f"s3://{bucket}/{key_prefix}{folder(label)}"
    sources = [u.source for u in pipeline.uploads if u.is_dir and key_prefix.startswith(u.prefix)]
    generate = generator_command(sources[0], label) if sources else None
    raise RunError(
        f"quarter {label} has not been ingested: nothing under {where}"
        + (" nor in the upload source" if local_too else ""),
        hint=f"ingested quarters in the bucket: {', '.join(known) or 'none'}; put the export in "
        f"{folder(label)} of the upload source, or pass --quarter for another quarter"
        + (f"; to generate example data for {label}: {generate}" if generate else ""),
    )
