"""State and logic we add to moto's Glue backend: the Update* operations moto lacks, the defaults AWS
fills in on read, and the clean-ups AWS does on delete.

Every class here is a typed subclass of a moto class; `install()` grafts its functions onto that moto
class (see `reconciler_local.patching`). Nothing here parses requests or shapes HTTP replies.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.spec.cron import CronError, parse_cron
from reconciler_local.glue.exceptions import (
    AlreadyExistsException,
    CrawlerRunningException,
    GlueClientError,
    InvalidInputException,
)
from reconciler_local.moto_api import (
    Action,
    FakeCrawler,
    FakeJob,
    FakeTrigger,
    GlueBackend,
    Predicate,
    get_partition,
    utcnow,
)
from reconciler_local.moto_api import glue_responses_module as moto_glue_responses
from reconciler_local.patching import graft, original
from reconciler_local.roles import ASSUME_ROLE_MESSAGE, TRIGGER_ASSUME_ROLE_MESSAGE, assume_problem
from reconciler_local.runtime import get_runtime

# UpdateCrawler request field -> FakeCrawler attribute. UpdateCrawler is partial: only fields present
# in the request change; `Schedule=""` clears the schedule.
CRAWLER_UPDATE_FIELDS: dict[str, str] = {
    "Role": "role",
    "DatabaseName": "database_name",
    "Description": "description",
    "Targets": "targets",
    "Schedule": "schedule",
    "Classifiers": "classifiers",
    "TablePrefix": "table_prefix",
    "SchemaChangePolicy": "schema_change_policy",
    "RecrawlPolicy": "recrawl_policy",
    "LineageConfiguration": "lineage_configuration",
    "LakeFormationConfiguration": "lake_formation_configuration",
    "Configuration": "configuration",
    "CrawlerSecurityConfiguration": "crawler_security_configuration",
}

# JobUpdate field -> (FakeJob attribute, value when the field is omitted). UpdateJob replaces the whole
# definition: "Unspecified configuration is removed or reset to default values" (AWS API reference).
JOB_UPDATE_FIELDS: dict[str, tuple[str, Any]] = {
    "Description": ("description", None),
    "LogUri": ("log_uri", None),
    "Role": ("role", None),
    "ExecutionProperty": ("execution_property", {}),
    "Command": ("command", None),
    "DefaultArguments": ("default_arguments", {}),
    "NonOverridableArguments": ("non_overridable_arguments", None),
    "Connections": ("connections", None),
    "MaxRetries": ("max_retries", None),
    "AllocatedCapacity": ("allocated_capacity", None),
    "Timeout": ("timeout", None),
    "MaxCapacity": ("max_capacity", None),
    "WorkerType": ("worker_type", None),
    "NumberOfWorkers": ("number_of_workers", None),
    "SecurityConfiguration": ("security_configuration", None),
    "NotificationProperty": ("notification_property", None),
    "GlueVersion": ("glue_version", None),
    "CodeGenConfigurationNodes": ("code_gen_configuration_nodes", None),
    "ExecutionClass": ("execution_class", "STANDARD"),
    "SourceControlDetails": ("source_control_details", None),
    "JobMode": ("job_mode", None),
    "JobRunQueuingEnabled": ("job_run_queuing_enabled", None),
    "MaintenanceWindow": ("maintenance_window", None),
}

# Defaults AWS reports for a crawler created without them: schema change policy UPDATE_IN_DATABASE and
# DEPRECATE_IN_DATABASE, recrawl CRAWL_EVERYTHING, lineage DISABLE, as terraform-provider-aws documents for
# aws_glue_crawler (website/docs/r/glue_crawler.html.markdown) and GetCrawler returns.
CRAWLER_DEFAULTS: dict[str, Any] = {
    "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "DEPRECATE_IN_DATABASE"},
    "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_EVERYTHING"},
    "LineageConfiguration": {"CrawlerLineageSettings": "DISABLE"},
    "Classifiers": [],
}

# DPUs per worker, to derive MaxCapacity the way AWS reports it for WorkerType/NumberOfWorkers jobs.
DPU_PER_WORKER: dict[str, float] = {
    "G.025X": 0.25,
    "G.1X": 1.0,
    "G.2X": 2.0,
    "G.4X": 4.0,
    "G.8X": 8.0,
    "G.12X": 12.0,
    "G.16X": 16.0,
    "Z.2X": 2.0,
    "R.1X": 1.0,
    "R.2X": 2.0,
    "R.4X": 4.0,
    "R.8X": 8.0,
    "Standard": 1.0,
}


def default_job_timeout_minutes(glue_version: str | None) -> int:
    """What AWS fills in for an omitted Timeout (botocore glue model, CreateJob Timeout: "2,880 minutes for
    Glue version 4.0 and earlier, or 480 minutes for Glue version 5.0 and later"; an omitted GlueVersion
    defaults to the newest, 6.0)."""
    try:
        major = int(str(glue_version).split(".")[0])
    except ValueError:
        major = 6
    return 2880 if major < 5 else 480


def role_name(role: str | None) -> str | None:
    """GetCrawler returns the role as a name (with its path), not as the ARN it was given."""
    if role and role.startswith("arn:") and ":role/" in role:
        return role.split(":role/", 1)[1]
    return role


def check_crawler_role(account_id: str, role: str | None) -> None:
    """CreateCrawler / UpdateCrawler refuse a role Glue cannot assume (`roles.py`: role resolution and the
    propagation window; AWS's wording as terraform-provider-aws internal/service/glue/crawler.go retries it)."""
    refused, _ = assume_problem(account_id, role, get_runtime().settings)
    if refused:
        raise InvalidInputException(ASSUME_ROLE_MESSAGE)


def validate_capacity(spec: dict[str, Any]) -> None:
    """AWS refuses MaxCapacity together with WorkerType/NumberOfWorkers."""
    if spec.get("MaxCapacity") is not None and (
        spec.get("WorkerType") is not None or spec.get("NumberOfWorkers") is not None
    ):
        raise InvalidInputException(
            "Please set either MaxCapacity or (WorkerType and NumberOfWorkers), not both."
        )
    if (spec.get("WorkerType") is None) != (spec.get("NumberOfWorkers") is None):
        raise InvalidInputException("WorkerType and NumberOfWorkers must be set together.")


def validate_configuration(configuration: str | None) -> None:
    if configuration:
        try:
            json.loads(configuration)
        except ValueError as error:
            raise InvalidInputException(f"Configuration is not valid JSON: {error}") from error


def validate_schedule(expression: str | None, what: str) -> None:
    """AWS refuses an invalid Glue cron when a trigger or crawler is created or updated."""
    if expression:
        try:
            parse_cron(expression)
        except CronError as error:
            raise InvalidInputException(f"Invalid schedule expression for {what}: {error}") from error


def make_predicate(predicate_input: dict[str, Any]) -> Predicate:
    """moto's Predicate, with AWS's defaults: `Logical` AND and `LogicalOperator` EQUALS when omitted."""
    return DefaultingPredicate(predicate_input)


class DefaultingPredicate(Predicate):
    """moto answers HTTP 500 for a predicate without `Logical`; AWS defaults it to AND."""

    def __init__(self, inputs: dict[str, Any]) -> None:
        conditions = [
            {**condition, "LogicalOperator": condition.get("LogicalOperator") or "EQUALS"}
            for condition in inputs.get("Conditions") or []
        ]
        super().__init__({**inputs, "Logical": inputs.get("Logical") or "AND", "Conditions": conditions})


class GlueBackendAdditions(GlueBackend):
    """Operations moto's GlueBackend lacks, plus AWS's clean-ups on delete."""

    def update_crawler(self, name: str, changes: dict[str, Any]) -> None:
        crawler = self.get_crawler(name)
        if crawler.status != "READY":
            raise CrawlerRunningException(
                f"Crawler with name {name} is {crawler.status.lower()}: it cannot be updated until the "
                "crawl completes or is stopped."
            )
        validate_configuration(changes.get("Configuration"))
        validate_schedule(changes.get("Schedule"), f"crawler {name}")
        check_crawler_role(self.account_id, changes.get("Role") or crawler.role)
        for field, attribute in CRAWLER_UPDATE_FIELDS.items():
            if field in changes:
                setattr(crawler, attribute, changes[field])
        crawler.version += 1
        crawler.last_updated = utcnow()

    def update_job(self, name: str, job_update: dict[str, Any]) -> None:
        job = self.get_job(name)
        for required in ("Role", "Command"):
            if not job_update.get(required):
                raise InvalidInputException(
                    f"JobUpdate.{required} is required: UpdateJob replaces the whole job definition."
                )
        validate_capacity(job_update)
        for field, (attribute, default) in JOB_UPDATE_FIELDS.items():
            value = job_update.get(field)
            setattr(job, attribute, value if value is not None else default)
        job.last_modified_on = utcnow()

    def update_trigger(self, name: str, trigger_update: dict[str, Any]) -> FakeTrigger:
        trigger = self.get_trigger(name)
        predicate_input = trigger_update.get("Predicate")
        predicate = make_predicate(predicate_input) if predicate_input else None
        actions = [Action(action) for action in trigger_update.get("Actions") or []]
        if not actions:
            raise InvalidInputException(
                "Actions cannot be null or empty: UpdateTrigger replaces the whole trigger definition."
            )
        if trigger.trigger_type == "CONDITIONAL" and predicate is None:
            raise InvalidInputException("Predicate cannot be null or empty for a CONDITIONAL trigger.")
        schedule = trigger_update.get("Schedule")
        if trigger.trigger_type == "SCHEDULED" and not schedule:
            raise InvalidInputException("Schedule cannot be null or empty for a SCHEDULED trigger.")
        validate_schedule(schedule, f"trigger {name}")
        # TriggerUpdate.Name is "reserved for future use": a trigger cannot be renamed.
        # moto types these as str, but AWS lets an update clear them (None): hence the ignores.
        trigger.description = trigger_update.get("Description")  # type: ignore[assignment]
        trigger.schedule = schedule  # type: ignore[assignment]
        trigger.actions = actions
        trigger.predicate = predicate
        trigger.event_batching_condition = trigger_update.get("EventBatchingCondition")  # type: ignore[assignment]
        return trigger

    # The create_* wrappers pass every argument through to moto's method (**kwargs), so their signatures
    # differ from moto's on paper only: hence the override ignores.
    def create_job(self, name: str, **kwargs: Any) -> None:  # type: ignore[override]
        if name in self.jobs:  # moto silently replaced the job
            raise AlreadyExistsException(f"Job with name {name} already exists.")
        validate_capacity(
            {
                "MaxCapacity": kwargs.get("max_capacity"),
                "WorkerType": kwargs.get("worker_type"),
                "NumberOfWorkers": kwargs.get("number_of_workers"),
            }
        )
        original(GlueBackend, "create_job")(self, name=name, **kwargs)

    def create_crawler(self, name: str, **kwargs: Any) -> None:  # type: ignore[override]
        validate_configuration(kwargs.get("configuration"))
        validate_schedule(kwargs.get("schedule"), f"crawler {name}")
        check_crawler_role(self.account_id, kwargs.get("role"))
        original(GlueBackend, "create_crawler")(self, name=name, **kwargs)

    def create_trigger(self, name: str, **kwargs: Any) -> None:  # type: ignore[override]
        if name in self.triggers:  # moto silently replaced the trigger
            raise AlreadyExistsException(f"Trigger with name {name} already exists.")
        if kwargs.get("trigger_type") == "SCHEDULED" and not kwargs.get("schedule"):
            raise InvalidInputException("Schedule cannot be null or empty for a SCHEDULED trigger.")
        validate_schedule(kwargs.get("schedule"), f"trigger {name}")
        self.check_trigger_roles(kwargs.get("actions") or [])
        original(GlueBackend, "create_trigger")(self, name=name, **kwargs)

    def check_trigger_roles(self, actions: list[Any]) -> None:
        """CreateTrigger answers "Service is unable to assume role" while a role is not usable yet
        (terraform-provider-aws internal/service/glue/trigger.go retries on it). Which role AWS checks is
        unverified: we check the roles of the jobs and crawlers the actions start."""
        settings = get_runtime().settings
        for action in actions:
            entry: dict[str, Any] = action if isinstance(action, dict) else vars(action)
            job_name = entry.get("JobName") or entry.get("job_name")
            crawler_name = entry.get("CrawlerName") or entry.get("crawler_name")
            role = None
            if job_name and job_name in self.jobs:
                role = self.jobs[job_name].role
            elif crawler_name and crawler_name in self.crawlers:
                role = self.crawlers[crawler_name].role
            if role:
                refused, arn = assume_problem(self.account_id, role, settings)
                if refused:
                    raise InvalidInputException(TRIGGER_ASSUME_ROLE_MESSAGE.format(arn=arn))

    def create_workflow(self, name: str, *args: Any, **kwargs: Any) -> str:
        if name in self.workflows:  # moto silently replaced the workflow and its runs
            raise AlreadyExistsException(f"Workflow with name {name} already exists.")
        result: str = original(GlueBackend, "create_workflow")(self, name, *args, **kwargs)
        return result

    def start_crawler_schedule(self, name: str) -> None:
        crawler = self.get_crawler(name)
        if not crawler.schedule:
            raise GlueClientError("NoScheduleException", f"Crawler {name} has no schedule.")
        if getattr(crawler, "schedule_state", "SCHEDULED") == "SCHEDULED":
            raise GlueClientError("SchedulerRunningException", f"The schedule of crawler {name} is already running.")
        crawler.schedule_state = "SCHEDULED"  # type: ignore[attr-defined]

    def stop_crawler_schedule(self, name: str) -> None:
        crawler = self.get_crawler(name)
        if not crawler.schedule or getattr(crawler, "schedule_state", "SCHEDULED") != "SCHEDULED":
            raise GlueClientError("SchedulerNotRunningException", f"The schedule of crawler {name} is not running.")
        crawler.schedule_state = "NOT_SCHEDULED"  # type: ignore[attr-defined]

    def delete_database(self, database_name: str) -> None:
        """moto keeps a deleted database's tags, so the Tagging API and GetTags still answered for it."""
        original(GlueBackend, "delete_database")(self, database_name)
        self.tagger.delete_all_tags_for_resource(
            f"arn:{get_partition(self.region_name)}:glue:{self.region_name}:{self.account_id}:database/{database_name}"
        )

    def delete_crawler(self, name: str) -> None:
        crawler = self.crawlers.get(name)
        if crawler is not None and crawler.status != "READY":
            raise CrawlerRunningException(f"Crawler with name {name} is running: it cannot be deleted.")
        original(GlueBackend, "delete_crawler")(self, name)
        if crawler is not None:
            self.tagger.delete_all_tags_for_resource(crawler.arn)

    def delete_job(self, name: str) -> None:
        job = self.jobs.get(name)
        original(GlueBackend, "delete_job")(self, name)
        if job is not None:
            self.tagger.delete_all_tags_for_resource(job.arn)

    def delete_trigger(self, name: str) -> None:
        trigger = self.triggers.get(name)
        original(GlueBackend, "delete_trigger")(self, name)
        if trigger is not None:
            self.tagger.delete_all_tags_for_resource(trigger.arn)


class FakeCrawlerAdditions(FakeCrawler):
    """GetCrawler as AWS answers it: role as a name, AWS's defaults filled in."""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = original(FakeCrawler, "as_dict")(self)
        data["Role"] = role_name(self.role)
        for field, default in CRAWLER_DEFAULTS.items():
            if (not data.get(field) and field != "Classifiers") or (
                field == "Classifiers" and data.get(field) is None
            ):
                data[field] = default
        if "Schedule" in data:
            data["Schedule"]["State"] = getattr(self, "schedule_state", "SCHEDULED")
        lake_formation = getattr(self, "lake_formation_configuration", None)
        if lake_formation:
            data["LakeFormationConfiguration"] = lake_formation
        return data


class FakeJobAdditions(FakeJob):
    """GetJob as AWS answers it: the defaults AWS fills in are present."""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = original(FakeJob, "as_dict")(self)
        command = dict(data.get("Command") or {})
        if (
            command.get("Name") in ("glueetl", "pythonshell", "gluestreaming")
            and "PythonVersion" not in command
        ):
            command["PythonVersion"] = "3"
        data["Command"] = command
        if data.get("Timeout") is None and command.get("Name") != "gluestreaming":
            data["Timeout"] = default_job_timeout_minutes(data.get("GlueVersion"))
        if data.get("MaxRetries") is None:
            data["MaxRetries"] = 0
        execution_property = dict(data.get("ExecutionProperty") or {})
        execution_property.setdefault("MaxConcurrentRuns", 1)
        data["ExecutionProperty"] = execution_property
        if data.get("MaxCapacity") is None:
            worker_type, workers = data.get("WorkerType"), data.get("NumberOfWorkers")
            if worker_type and workers:
                data["MaxCapacity"] = DPU_PER_WORKER.get(worker_type, 1.0) * workers
            elif command.get("Name") == "pythonshell":
                data["MaxCapacity"] = 0.0625
            else:
                data["MaxCapacity"] = 10.0
        data["JobMode"] = getattr(self, "job_mode", None) or "SCRIPT"
        for field in ("JobRunQueuingEnabled", "MaintenanceWindow"):
            attribute = JOB_UPDATE_FIELDS[field][0]
            if getattr(self, attribute, None) is not None:
                data[field] = getattr(self, attribute)
        return data


def install() -> None:
    graft(GlueBackend, GlueBackendAdditions)
    graft(FakeCrawler, FakeCrawlerAdditions)
    graft(FakeJob, FakeJobAdditions)
    # moto's CreateTrigger builds its predicate through the name `Predicate` in its responses module.
    moto_glue_responses.Predicate = DefaultingPredicate  # type: ignore[attr-defined]
