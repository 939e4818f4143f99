"""Glue ETL job. UpdateJob replaces the whole definition (omitted fields reset to defaults), so
every update sends the full desired definition, Command and Role included. MaxCapacity is never
sent together with WorkerType/NumberOfWorkers."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError
from reconciler.resources.base import Account, AttrChange, Attrs, Desired, aws_error, is_not_found
from reconciler.resources.glue_common import GlueBatchApi, TagListedGlueKind, role_name, role_reference, sync_tags
from reconciler.spec.model import Job, Pipeline

# What AWS fills in when a field is omitted (moto omits them entirely): absent == default.
DEFAULT_TIMEOUT_MINUTES = 2880
DEFAULT_MAX_RETRIES = 0
DEFAULT_MAX_CONCURRENT_RUNS = 1
DEFAULT_PYTHON_VERSION = "3"


def expand_job(attrs: Attrs, role: str) -> dict[str, Any]:
    """Our attributes -> the JobUpdate / CreateJob definition (without Name and Tags)."""
    return {
        "Role": role,
        "Description": attrs["description"],
        "Command": {
            "Name": "glueetl",
            "ScriptLocation": attrs["script_location"],
            "PythonVersion": attrs["python_version"],
        },
        "DefaultArguments": dict(attrs["default_arguments"]),
        "GlueVersion": attrs["glue_version"],
        "WorkerType": attrs["worker_type"],
        "NumberOfWorkers": attrs["number_of_workers"],
        "Timeout": attrs["timeout"],
        "MaxRetries": attrs["max_retries"],
        "ExecutionProperty": {"MaxConcurrentRuns": attrs["max_concurrent_runs"]},
    }


def flatten_job(job: dict[str, Any]) -> Attrs:
    command = job.get("Command") or {}
    return {
        "role": role_name(job.get("Role", "")),
        "description": job.get("Description", "") or "",
        "script_location": command.get("ScriptLocation", ""),
        "python_version": str(command.get("PythonVersion") or DEFAULT_PYTHON_VERSION),
        "default_arguments": dict(job.get("DefaultArguments") or {}),
        "glue_version": job.get("GlueVersion", ""),
        "worker_type": job.get("WorkerType"),
        "number_of_workers": job.get("NumberOfWorkers"),
        "timeout": job.get("Timeout") or DEFAULT_TIMEOUT_MINUTES,
        "max_retries": job.get("MaxRetries") or DEFAULT_MAX_RETRIES,
        "max_concurrent_runs": (job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns")
        or DEFAULT_MAX_CONCURRENT_RUNS,
    }


def desired_attrs(job: Job, pipeline: Pipeline) -> Attrs:
    return {
        "role": role_name(role_reference(pipeline)),
        "description": job.description,
        "script_location": f"s3://{pipeline.bucket.name}/{job.script}",
        "python_version": DEFAULT_PYTHON_VERSION,
        "default_arguments": dict(job.arguments),
        "glue_version": job.glue_version,
        "worker_type": job.worker_type,
        "number_of_workers": job.number_of_workers,
        "timeout": job.timeout_minutes,
        "max_retries": job.max_retries,
        "max_concurrent_runs": job.max_concurrent_runs,
    }


class JobKind(TagListedGlueKind):
    kind: ClassVar[str] = "job"
    level: ClassVar[int] = 3
    depends_on: ClassVar[frozenset[str]] = frozenset({"bucket", "role", "upload"})
    api: ClassVar[GlueBatchApi] = GlueBatchApi("list_jobs", "JobNames", "batch_get_jobs", "JobNames", "Jobs", "job")

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        return [Desired(self.kind, j.name, desired_attrs(j, pipeline), pipeline.all_tags) for j in pipeline.jobs]

    def flatten(self, item: dict[str, Any]) -> Attrs:
        return flatten_job(item)

    def read_one(self, ctx: AwsContext, name: str) -> dict[str, Any] | None:
        try:
            return dict(ctx.call("glue", "get_job", JobName=name)["Job"])
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"Glue job {name!r}", exc) from exc

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        definition = expand_job(desired.attrs, role_reference(pipeline))
        try:
            ctx.call("glue", "create_job", Name=desired.name, Tags=dict(desired.tags), **definition)
        except AwsApiError as exc:
            raise aws_error("creating", f"Glue job {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        if any(c.top != "tags" for c in changes):
            update = expand_job(desired.attrs, role_reference(pipeline))
            try:
                ctx.call("glue", "update_job", JobName=desired.name, JobUpdate=update)
            except AwsApiError as exc:
                raise aws_error("updating", f"Glue job {desired.name!r}", exc) from exc
        if any(c.top == "tags" for c in changes):
            sync_tags(ctx, ctx.glue_arn("job", desired.name), dict(desired.tags))

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            ctx.call("glue", "delete_job", JobName=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"Glue job {name!r}", exc) from exc
