"""`reconcile import`: write a pipeline.yaml for a pipeline built by hand in the console (docs/import.md).

Three layers, kept apart so the rendering is testable without AWS:
- `read_found` makes only read calls (HeadBucket, GetBucket*, ListObjectsV2, GetObject of the job script,
  GetCrawler, GetJob, GetDatabase, GetWorkflow, GetTrigger, IAM GetRole) and returns a `Found`.
- `render_spec` turns a `Found` into YAML text: every field that differs from our spec defaults (the schema's
  "default" keywords, through spec.schemas.default_at) is written, the rest left out, with a comment per
  resource on what was found.
- `write_import` writes the script copy and the spec (never over an existing file without `force`).

The script object has no sha256 metadata of ours; the upload kind still plans no change for it, because its
ETag is the MD5 of the bytes downloaded here (resources/upload_cache.py same_content_sha), on any machine.

The role is referenced (`role: {arn: ...}`): the tool never takes over IAM it did not create. Raw data under
the crawler targets gets no upload (there is no local copy); a comment says where it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError, ReconcilerError, UsageError
from reconciler.resources import crawler as crawler_kind
from reconciler.resources import fields
from reconciler.resources import job as job_kind
from reconciler.resources.base import aws_error, is_not_found
from reconciler.resources.bucket import BucketKind
from reconciler.resources.bucket_settings import flatten_encryption, tag_set_dict
from reconciler.resources.glue_common import role_name
from reconciler.resources.trigger import job_trigger_name, start_trigger_name
from reconciler.spec.schemas import default_at

SCRIPT_DIR = "glue_scripts"
#: how many raw object keys the bucket comment names
SAMPLE_KEYS = 3
# Pipeline names: lowercase letters, digits and '-' (schema/pipeline.v1.json metadata.name).
_NAME_CHARS = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Found:
    """What the read-only calls saw. Raw API answers for Glue (flattened by the kinds' own FIELDS tables)."""

    region: str
    bucket: str
    bucket_attrs: dict[str, Any]  # versioning, encryption (flattened as resources/bucket.py does)
    bucket_tags: dict[str, str]
    object_count: int
    raw_keys: tuple[str, ...]  # keys under the crawler targets (first few)
    raw_count: int
    role_arn: str
    database: dict[str, Any]
    crawler: dict[str, Any]
    job: dict[str, Any]
    script_key: str
    script_body: bytes
    script_etag: str
    workflow: dict[str, Any] | None = None
    trigger: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default=())


# --- reads (AWS) ------------------------------------------------------------------------------------------------


def _get(ctx: AwsContext, service: str, operation: str, what: str, key: str, **params: Any) -> dict[str, Any]:
    try:
        return dict(ctx.call(service, operation, **params)[key])
    except AwsApiError as exc:
        if is_not_found(exc):
            raise ReconcilerError(
                f"{what} does not exist (region {ctx.region})",
                hint="check the name and --region; `reconcile import` only reads what exists",
            ) from exc
        raise aws_error("reading", what, exc) from exc


def _optional_s3(ctx: AwsContext, operation: str, bucket: str, read: Callable[[dict[str, Any]], Any]) -> Any:
    """A bucket setting, None when never set (the bucket kind's own rule: resources/bucket.py)."""
    return BucketKind._optional(ctx, operation, bucket, read)


def split_s3(uri: str) -> tuple[str, str]:
    """s3://bucket/key -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise ReconcilerError(f"{uri!r} is no s3:// location", hint="the job's script must be in S3")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def read_found(
    ctx: AwsContext, *, bucket: str, crawler: str, job: str, database: str | None = None,
    workflow: str | None = None, trigger: str | None = None, role: str | None = None,
) -> Found:  # fmt: skip
    """Read the hand-built pipeline. Read calls only: nothing is created, tagged or changed."""
    _get(ctx, "s3", "head_bucket", f"bucket {bucket!r}", "ResponseMetadata", Bucket=bucket)
    versioning = ctx.call("s3", "get_bucket_versioning", Bucket=bucket).get("Status") == "Enabled"
    encryption = _optional_s3(ctx, "get_bucket_encryption", bucket,
                              lambda r: flatten_encryption(r["ServerSideEncryptionConfiguration"]))  # fmt: skip
    tags = _optional_s3(ctx, "get_bucket_tagging", bucket, lambda r: tag_set_dict(r["TagSet"]))
    crawler_item = _get(ctx, "glue", "get_crawler", f"Glue crawler {crawler!r}", "Crawler", Name=crawler)
    job_item = _get(ctx, "glue", "get_job", f"Glue job {job!r}", "Job", JobName=job)
    db_name = database or str(crawler_item.get("DatabaseName") or "")
    if not db_name:
        raise UsageError(f"crawler {crawler!r} names no database", hint="give the database with --database NAME")
    db_item = _get(ctx, "glue", "get_database", f"Glue database {db_name!r}", "Database", Name=db_name)
    targets = [str(t["Path"]) for t in crawler_item.get("Targets", {}).get("S3Targets", [])]
    check_targets(crawler, bucket, targets)
    count, raw_count, raw_keys = 0, 0, list[str]()
    prefixes = [split_s3(t)[1] for t in targets if split_s3(t)[0] == bucket]
    for page in ctx.pages("s3", "list_objects_v2", Bucket=bucket):
        for obj in page.get("Contents", []):
            count += 1
            if any(str(obj["Key"]).startswith(p) for p in prefixes):
                raw_count += 1
                if len(raw_keys) < SAMPLE_KEYS:
                    raw_keys.append(str(obj["Key"]))
    script_bucket, script_key = split_s3(str(job_item.get("Command", {}).get("ScriptLocation", "")))
    if script_bucket != bucket:
        raise ReconcilerError(
            f"job {job!r} runs s3://{script_bucket}/{script_key}, outside bucket {bucket!r}",
            hint="a pipeline's job script lives in its bucket: copy the script into it, or import that bucket",
        )
    got = ctx.call("s3", "get_object", Bucket=bucket, Key=script_key)
    body = got["Body"].read()
    role_arn = role_arn_of(ctx, role or str(job_item.get("Role", "")))
    wf_item = trigger_item = None
    if workflow:
        wf_item = _get(ctx, "glue", "get_workflow", f"Glue workflow {workflow!r}", "Workflow", Name=workflow)
    if trigger:
        trigger_item = _get(ctx, "glue", "get_trigger", f"Glue trigger {trigger!r}", "Trigger", Name=trigger)
    return Found(
        region=ctx.region, bucket=bucket, bucket_attrs={"versioning": versioning, "encryption": encryption},
        bucket_tags=tags or {}, object_count=count, raw_keys=tuple(raw_keys), raw_count=raw_count,
        role_arn=role_arn, database=db_item, crawler=crawler_item, job=job_item, script_key=script_key,
        script_body=body, script_etag=str(got.get("ETag", "")), workflow=wf_item, trigger=trigger_item,
    )  # fmt: skip


def check_targets(crawler: str, bucket: str, targets: list[str]) -> None:
    """A pipeline's crawlers read only its own bucket (spec/checks.py refuses other targets): say so now rather
    than write a spec that `validate` refuses."""
    outside = [t for t in targets if not t.startswith("s3://") or split_s3(t)[0] != bucket]
    if outside:
        raise ReconcilerError(
            f"crawler {crawler!r} reads {', '.join(outside)}, outside bucket {bucket!r}; a pipeline's crawlers read "
            "only its own bucket",
            hint="import with --bucket naming the bucket the crawler reads, or point the crawler at this bucket",
        )


def role_arn_of(ctx: AwsContext, role: str) -> str:
    """The role's ARN; a bare name (or path/name, as Glue answers for crawlers) is looked up with GetRole."""
    if role.startswith("arn:"):
        return role
    if not role:
        raise UsageError("the job names no role", hint="give the role with --role ARN_OR_NAME")
    name = role.rsplit("/", 1)[-1]
    return str(_get(ctx, "iam", "get_role", f"IAM role {name!r}", "Role", RoleName=name)["Arn"])


# --- rendering (pure) ---------------------------------------------------------------------------------------------


def q(value: Any) -> str:
    """A YAML scalar: JSON is YAML, so strings are written double-quoted; `${` is escaped as `$${` because the
    spec loader interpolates ${VAR} (spec/load.py)."""
    if isinstance(value, str):
        return json.dumps(value.replace("${", "$${"))
    return json.dumps(value)


def _spec_default(section: str, key: str) -> Any:
    try:
        return default_at("spec", section, *key.split("."))
    except KeyError:
        return None


def differing(kind_fields: tuple[fields.Field, ...], item: dict[str, Any], section: str) -> dict[str, Any]:
    """The spec-backed fields of a Glue answer whose value differs from our spec default, keyed by spec key.
    The kinds' FIELDS tables flatten the answer (AWS's omitted defaults folded in), as plan reads it."""
    attrs = fields.flatten(kind_fields, item)
    out: dict[str, Any] = {}
    for f in kind_fields:
        if not f.spec:
            continue
        value = fields.get_path(attrs, f.name)
        if value is fields.ABSENT or value is None:
            continue
        default = f.default_from(attrs) if f.default_from is not None else _spec_default(section, f.spec)
        if value != default if default is not None else value not in ("", [], {}):
            out[f.spec] = value
    return out


def script_source(script_key: str) -> str:
    """Where the script's local copy lives in the project: glue_scripts/<file name of the key>."""
    return f"{SCRIPT_DIR}/{PurePosixPath(script_key).name}"


def pipeline_name(found: Found, name: str | None) -> str:
    text = _NAME_CHARS.sub("-", (name or str(found.job.get("Name", ""))).lower()).strip("-")
    return text or "imported"


def render_spec(found: Found, *, name: str | None = None) -> str:
    """The pipeline.yaml text for what was found (pure)."""
    lines: list[str] = [
        "# Imported by `reconcile import` from a pipeline built by hand (docs/import.md). Fields equal to this",
        "# tool's defaults are left out. Next: `reconcile plan --adopt all`, then `reconcile apply --adopt all`.",
        "apiVersion: reconciler/v1",
        "kind: Pipeline",
        "metadata:",
        f"  name: {q(pipeline_name(found, name))}",
        f"  region: {q(found.region)}",
        "",
        "spec:",
    ]
    lines += _bucket_lines(found)
    lines += _uploads_lines(found)
    lines += [
        f"  # Role found on job {found.job.get('Name')!r}: referenced, not managed (this tool never takes over IAM",
        "  # it did not create; its policy stays as it is).",
        "  role:",
        f"    arn: {q(found.role_arn)}",
        "",
    ]
    lines += _database_lines(found)
    lines += _crawler_lines(found)
    lines += _job_lines(found)
    lines += _schedule_lines(found)
    return "\n".join(lines).rstrip() + "\n"


#: GetBucketEncryption's SSEAlgorithm (flatten_encryption's `algorithm`) as the spec names it
ENCRYPTION_TYPES = {"AES256": "SSE-S3", "aws:kms": "SSE-KMS", "aws:kms:dsse": "DSSE-KMS"}


def _bucket_lines(found: Found) -> list[str]:
    flat = found.bucket_attrs.get("encryption") or {}
    algorithm = flat.get("algorithm")
    enc = {"type": ENCRYPTION_TYPES.get(str(algorithm), str(algorithm))} if algorithm else {}
    if flat.get("kms_key_arn"):
        enc["kms_key_arn"] = flat["kms_key_arn"]
    tag_note = f"tags {sorted(found.bucket_tags)}" if found.bucket_tags else "untagged"
    out = [
        f"  # Bucket found: {found.object_count} object(s), {tag_note}, versioning "
        f"{'on' if found.bucket_attrs.get('versioning') else 'off'}, default encryption {enc.get('type', 'none')}.",
        "  # Adopting it adds our ownership tags and the guards this tool keeps on every bucket (TLS-only policy,",
        "  # Block Public Access, BucketOwnerEnforced, default encryption; lifecycle rules for its .reconciler/",
        "  # keys): the plan lists the guards as security changes that tighten. No object is touched.",
        "  bucket:",
        f"    name: {q(found.bucket)}",
    ]
    if found.bucket_attrs.get("versioning") != default_at("spec", "bucket", "versioning"):
        out.append(f"    versioning: {q(bool(found.bucket_attrs.get('versioning')))}")
    if enc.get("type") == "SSE-KMS":
        out += ["    encryption:", "      type: SSE-KMS"]
        if enc.get("kms_key_arn"):
            out.append(f"      kms_key_arn: {q(enc['kms_key_arn'])}")
    return [*out, ""]


def _uploads_lines(found: Found) -> list[str]:
    prefix = str(PurePosixPath(found.script_key).parent)
    prefix = "" if prefix == "." else prefix + "/"
    targets = [t["Path"] for t in found.crawler.get("Targets", {}).get("S3Targets", [])]
    raw = ", ".join(found.raw_keys) + (", ..." if found.raw_count > len(found.raw_keys) else "")
    out = [
        f"  # The job script s3://{found.bucket}/{found.script_key} was downloaded to",
        f"  # {script_source(found.script_key)} (same content: the upload plans no change). The raw data has no local",
        f"  # copy and no upload here: {found.raw_count} object(s) under {', '.join(targets) or 'no crawler target'}"
        + (f" ({raw})" if raw else ""),
        "  # stay where they are, read by the crawler; declare an upload only once you keep them locally.",
        "  uploads:",
        f"    - source: {q(script_source(found.script_key))}",
    ]
    if prefix:
        out.append(f"      prefix: {q(prefix)}")
    return [*out, ""]


def _database_lines(found: Found) -> list[str]:
    db = found.database
    out = [f"  # Glue database found{' (with a description)' if db.get('Description') else ''}.", "  database:",
           f"    name: {q(db['Name'])}"]  # fmt: skip
    if db.get("Description"):
        out.append(f"    description: {q(db['Description'])}")
    return [*out, ""]


def _crawler_lines(found: Found) -> list[str]:
    c = found.crawler
    values = differing(crawler_kind.FIELDS, c, "crawlers")
    values.pop("targets", None)
    targets = sorted(t["Path"] for t in c.get("Targets", {}).get("S3Targets", []))
    other = sorted(k for k in c.get("Targets", {}) if k != "S3Targets" and c["Targets"][k])
    note = ""
    if other:
        note = f"; its other targets ({', '.join(other)}) are not expressible in a spec (S3 only): read the plan"
    if c.get("Role") and role_name(str(c["Role"])) != role_name(found.role_arn):
        note += (f"; it runs as role {c['Role']!r}, but a spec has one role ({role_name(found.role_arn)!r}):"
                 " the plan changes the crawler's role")  # fmt: skip
    out = [f"  # Crawler found: {len(targets)} S3 target(s), state {c.get('State', '?')}{note}.", "  crawlers:",
           f"    - name: {q(c['Name'])}", "      targets:"]  # fmt: skip
    out += [f"        - {q(t)}" for t in targets]
    policy = {k.split(".", 1)[1]: values.pop(k) for k in list(values) if k.startswith("schema_change_policy.")}
    for key, value in values.items():
        out.append(f"      {key}: {q(value)}")
    if policy:
        out.append("      schema_change_policy:")
        out += [f"        {k}: {q(v)}" for k, v in sorted(policy.items())]
    return [*out, ""]


def _job_lines(found: Found) -> list[str]:
    j = found.job
    values = differing(job_kind.FIELDS, j, "jobs")
    arguments = values.pop("arguments", None) or {}
    kind = str(j.get("Command", {}).get("Name", "glueetl"))
    unlike = "" if kind == "glueetl" else f"  # Its command is {kind!r}; this tool declares Spark jobs (glueetl) only."
    out = [
        f"  # Job found: Glue {j.get('GlueVersion', '?')}, {j.get('WorkerType', '?')} x {j.get('NumberOfWorkers', '?')}"
        f", timeout {str(j['Timeout']) + ' min' if 'Timeout' in j else 'not set (AWS default)'}.",
        *([unlike] if unlike else []),
        "  jobs:",
        f"    - name: {q(j['Name'])}",
        f"      script: {q(found.script_key)}",
    ]
    out += [f"      {key}: {q(value)}" for key, value in values.items()]
    if arguments:
        out.append("      arguments:")
        out += [f"        {q(k)}: {q(str(v))}" for k, v in sorted(arguments.items())]
    return [*out, ""]


def _schedule_lines(found: Found) -> list[str]:
    if found.workflow is None:
        return []
    wf = str(found.workflow["Name"])
    t = found.trigger or {}
    scheduled = t.get("Type") == "SCHEDULED" and bool(t.get("Schedule"))
    cron = str(t["Schedule"]) if scheduled else "cron(0 0 1 */3 ? *)"
    ours = {start_trigger_name(wf), job_trigger_name(wf)}
    trigger_note = (
        f"trigger {t.get('Name')!r} ({t.get('Type')}) is one of the two this tool declares"
        if t.get("Name") in ours
        else f"trigger {t.get('Name')!r} is not one of the two triggers this tool declares ({', '.join(sorted(ours))}):"
        " the plan creates those and leaves it alone; delete it once they run"
        if t
        else f"no trigger given: the plan creates {', '.join(sorted(ours))}"
    )
    # A scheduled trigger left CREATED or DEACTIVATED (the console's default without "Start after creation") does
    # not fire; the spec's default is enabled, so adopting would start the schedule: keep it off explicitly.
    # Trigger State values: AWS Glue API reference, Trigger.
    off = scheduled and t.get("State") not in {"ACTIVATED", "ACTIVATING"}
    out = [
        f"  # Workflow found; {trigger_note}."
        + (" With in_aws the job gets --run_quarter (resources/job.py): the plan adds it." if scheduled else ""),
        "  schedule:",
        f"    workflow: {q(wf)}",
        f"    cron: {q(cron)}",
        f"    crawler: {q(found.crawler['Name'])}",
        f"    job: {q(found.job['Name'])}",
        f"    in_aws: {q(scheduled)}",
    ]
    if off:
        out.append(f"    enabled: false  # trigger found {t.get('State')}: not firing")
    return [*out, ""]


# --- writing ------------------------------------------------------------------------------------------------------


def check_writable(path: Path, *, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} exists; not overwritten", hint="give --out OTHER_FILE, or --force to overwrite it")


def write_import(found: Found, out: Path, *, name: str | None = None, force: bool = False) -> list[Path]:
    """Write the script copy and the spec; returns the paths written."""
    check_writable(out, force=force)
    script = out.parent / script_source(found.script_key)
    if script.exists() and script.read_bytes() != found.script_body and not force:
        raise UsageError(f"{script} exists with other content; not overwritten",
                         hint="move it away, or give --force to overwrite it")  # fmt: skip
    text = render_spec(found, name=name)
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_bytes(found.script_body)
    out.write_text(text, encoding="utf-8")
    return [out, script]
