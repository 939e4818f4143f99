"""Glue ETL job. UpdateJob replaces the whole definition (omitted fields reset to defaults), so
every update sends the full desired definition, Command and Role included. MaxCapacity is never
sent together with WorkerType/NumberOfWorkers."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError, RunError
from reconciler.iam_statement import Statement
from reconciler.masking import secret_name
from reconciler.resources import fields, security_configuration
from reconciler.resources.base import (
    Account,
    AttrChange,
    Attrs,
    Desired,
    Running,
    aws_error,
    desired_tags,
    is_not_found,
)
from reconciler.resources.fields import Field
from reconciler.resources.glue_common import (
    GlueBatchApi,
    TagListedGlueKind,
    renamed_statement,
    role_arn,
    role_attr,
    role_name,
    sync_tags,
)
from reconciler.resources.role import job_role_statements
from reconciler.spec import arguments, model
from reconciler.spec.model import Job, Pipeline

#: The Command.Name of every job we create: a Spark ETL job.
COMMAND_NAME = "glueetl"
#: GetJobRuns' `JobRunState` while a run is in progress (AWS Glue API reference, JobRun: STARTING | RUNNING |
#: STOPPING | WAITING; then STOPPED, SUCCEEDED, FAILED, TIMEOUT, ERROR, EXPIRED)
JOB_RUN_ACTIVE = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})


def glue_version_key(version: str | None) -> tuple[int, ...]:
    """ "4.0" -> (4, 0); anything else (absent, "auto") sorts as the newest."""
    try:
        return tuple(int(part) for part in str(version).split("."))
    except ValueError:
        return (99,)


def default_timeout(attrs: Attrs) -> int:
    """Timeout AWS fills in when CreateJob omits it (botocore glue model, CreateJob Timeout: "2,880 minutes
    for Glue version 4.0 and earlier, or 480 minutes for Glue version 5.0 and later")."""
    return 2880 if glue_version_key(attrs.get("glue_version")) < (5, 0) else 480


#: Every attribute of a job, stated once. API fields: botocore glue model, CreateJob / Job. Defaults are what
#: GetJob reports when CreateJob omitted a field (moto omits them entirely; absent == default).
FIELDS: tuple[Field, ...] = (
    Field("role", "Role", read=role_name, default="", writable=False, sample="someone-elses-role",
          note="sent as the role's full ARN (spec.role); compared as path/name (glue_common.role_name)"),
    Field("description", "Description", spec="description", default="", sample="Changed by the acceptance test"),
    Field("script_location", "Command.ScriptLocation", default="",
          sample="s3://${PIPELINE_BUCKET}/scripts/other_job.py", note="s3://<spec.bucket.name>/<spec script>"),
    # PythonVersion "3" is the default for glueetl (AWS Glue API reference, JobCommand PythonVersion).
    Field("python_version", "Command.PythonVersion", read=str, default="3", sample="2"),
    Field("default_arguments", "DefaultArguments", spec="arguments", write=dict, read=dict, default={},
          # Job arguments whose names are secret are masked in every output (reconciler/masking.py, by name).
          secret_key=secret_name,
          security_key=arguments.is_security_relevant,  # code-loading arguments (spec/arguments.py)
          sample={"--input_path": "s3://${PIPELINE_BUCKET}/raw/car_brands/",
                  "--output_path": "s3://${PIPELINE_BUCKET}/prepared/", "--enable-metrics": "true",
                  "--db_password": "hunter2", "--job-bookmark-option": "job-bookmark-disable"}),
    # "Jobs that are created without specifying a Glue version default to Glue 6.0" (botocore, CreateJob).
    Field("glue_version", "GlueVersion", spec="glue_version", default="6.0", sample="4.0"),
    Field("worker_type", "WorkerType", spec="worker_type", sample="G.2X"),
    Field("number_of_workers", "NumberOfWorkers", spec="number_of_workers", sample=3),
    Field("timeout", "Timeout", spec="timeout_minutes", default_from=default_timeout, sample=120),
    Field("max_retries", "MaxRetries", spec="max_retries", default=0, sample=2),
    # MaxConcurrentRuns "The default is 1" (botocore glue model, ExecutionProperty).
    Field("max_concurrent_runs", "ExecutionProperty.MaxConcurrentRuns", spec="max_concurrent_runs", default=1,
          sample=3),
    # UpdateJob replaces the definition: a configuration removed from the spec is omitted, which removes it.
    Field("security_configuration", "SecurityConfiguration", default="", optional=True, security=True,
          note="spec.security_configuration.name, \"\" for none (resources/security_configuration.py)"),
)  # fmt: skip


def expand_job(attrs: Attrs, role: str) -> dict[str, Any]:
    """Our attributes -> the JobUpdate / CreateJob definition (without Name and Tags)."""
    definition = fields.expand(FIELDS, attrs)
    fields.set_path(definition, "Role", role)
    fields.set_path(definition, "Command.Name", COMMAND_NAME)
    return definition


def flatten_job(job: dict[str, Any]) -> Attrs:
    return fields.flatten(FIELDS, job)


def desired_attrs(job: Job, pipeline: Pipeline) -> Attrs:
    return fields.desired(
        FIELDS, job,
        role=role_attr(pipeline),
        script_location=f"s3://{pipeline.bucket.name}/{job.script}",
        default_arguments=dict(job.arguments) | scheduled_quarter(job, pipeline),
        security_configuration=security_configuration.name_of(pipeline),
    )  # fmt: skip


def scheduled_quarter(job: Job, pipeline: Pipeline) -> dict[str, str]:
    """When the Glue workflow's schedule is the scheduler (spec.schedule.in_aws), the scheduled job's runs start
    with its DefaultArguments only (AWS Glue API, StartJobRun: "Arguments ... replace the default arguments set in
    the job definition itself"; a trigger's action passes none of ours). `--run_quarter <rule>` makes such a run
    process the one quarter `spec.schedule.quarter` names at its start, as `reconcile run` does; the
    job script resolves the rule. `reconcile run` passes the quarter itself, which replaces this default."""
    schedule = pipeline.schedule
    if schedule is None or not schedule.in_aws or schedule.job != job.name:
        return {}
    return {"--run_quarter": schedule.quarter}


class JobKind(TagListedGlueKind):
    kind: ClassVar[str] = "job"
    level: ClassVar[int] = 3
    depends_on: ClassVar[frozenset[str]] = frozenset({"bucket", "role", "upload", "security_configuration"})
    api: ClassVar[GlueBatchApi] = GlueBatchApi("list_jobs", "JobNames", "batch_get_jobs", "JobNames", "Jobs", "job")
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "jobs")
    spec_model: ClassVar[type | None] = model.Job
    tagging_type: ClassVar[str | None] = None  # ListJobs filters by tag (TagListedGlueKind)
    runs: ClassVar[bool] = True

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        return [Desired(self.kind, j.name, desired_attrs(j, pipeline), desired_tags(pipeline)) for j in pipeline.jobs]

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        jobs = self.glue_tag_arns(pipeline, account)
        if not jobs:
            return []
        return [
            renamed_statement("job", ("glue:GetJob", "glue:DeleteJob"), pipeline, account),
            Statement("Jobs", (
                "glue:CreateJob", "glue:GetJob", "glue:BatchGetJobs", "glue:UpdateJob", "glue:DeleteJob",
                "glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun",
            ), jobs, "the spec's jobs; run starts, waits for and (on interrupt) stops their runs"),
        ]  # fmt: skip

    def glue_tag_arns(self, pipeline: Pipeline, account: Account) -> tuple[str, ...]:
        return tuple(account.arn("glue", f"job/{j.name}") for j in pipeline.jobs)

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        return job_role_statements(pipeline, account)

    # AWS Glue API reference (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-runs.html): GetJobRuns
    # lists a job's runs with their `JobRunState`; BatchStopJobRun "Stops one or more job runs for a specified job
    # definition" and answers per run (`SuccessfulSubmissions`, `Errors`).

    def running(self, ctx: AwsContext, name: str) -> list[Running]:
        try:
            runs = [r for page in ctx.pages("glue", "get_job_runs", JobName=name) for r in page.get("JobRuns", [])]
        except AwsApiError as exc:
            if is_not_found(exc):
                return []
            raise
        out = []
        for r in runs:
            if r.get("JobRunState") not in JOB_RUN_ACTIVE:
                continue
            run_id, state, started = str(r["Id"]), str(r["JobRunState"]), str(r.get("StartedOn", "?"))
            out.append(Running(self.kind, name, run_id, state, started,
                               f"job {name!r} run {run_id} is {state} (started {started})",
                               ("glue", "batch-stop-job-run", "--job-name", name, "--job-run-ids", run_id)))
        return out

    def stop_running(self, ctx: AwsContext, run: Running) -> None:
        answer = ctx.call("glue", "batch_stop_job_run", JobName=run.name, JobRunIds=[str(run.run_id)])
        for error in answer.get("Errors") or []:  # a run that ended meanwhile cannot be stopped: fine
            detail = error.get("ErrorDetail") or {}
            if run.run_id == error.get("JobRunId") and detail.get("ErrorCode") != "InvalidInputException":
                raise RunError(f"could not stop job {run.name!r} run {run.run_id}: {detail.get('ErrorMessage')}")

    def still_running(self, ctx: AwsContext, run: Running) -> bool:
        try:
            state = ctx.call("glue", "get_job_run", JobName=run.name, RunId=str(run.run_id))["JobRun"]["JobRunState"]
        except AwsApiError as exc:
            if is_not_found(exc):
                return False
            raise
        return state in JOB_RUN_ACTIVE

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
        definition = expand_job(desired.attrs, role_arn(ctx, pipeline))
        try:
            ctx.call("glue", "create_job", Name=desired.name, Tags=dict(desired.tags), **definition)
        except AwsApiError as exc:
            raise aws_error("creating", f"Glue job {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        if any(c.top != "tags" for c in changes):
            update = expand_job(desired.attrs, role_arn(ctx, pipeline))
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
