"""Request parsing and reply shaping for the Glue operations we add or fix.

moto dispatches a Glue JSON request (`X-Amz-Target: AWSGlue.UpdateCrawler`) to the `GlueResponse`
method named after the action in snake_case (`update_crawler`); `install()` grafts the methods below
onto `GlueResponse`. The logic lives on the backend (`models.py`, `job_runtime.py`,
`crawler_runtime.py`); these methods only read parameters and shape the answer. Methods we graft onto
moto's `GlueBackend` are invisible to mypy, hence the `attr-defined` ignores on calls to them; each is
defined in one of those modules.
"""

from __future__ import annotations

from reconciler_local.glue.exceptions import InvalidInputException
from reconciler_local.moto_api import ActionResult, EmptyResult, GlueResponse, request_params
from reconciler_local.patching import graft, original
from reconciler_local.runtime import get_runtime

# Request fields moto's CreateJob / CreateCrawler ignore but AWS stores and returns.
JOB_EXTRA_FIELDS = {
    "JobMode": "job_mode",
    "JobRunQueuingEnabled": "job_run_queuing_enabled",
    "MaintenanceWindow": "maintenance_window",
}


class GlueResponseAdditions(GlueResponse):
    def update_crawler(self) -> ActionResult:
        params = request_params(self)
        name = params.get("Name")
        if not name:
            raise InvalidInputException("Name is required.")
        changes = {key: value for key, value in params.items() if key != "Name"}
        self.glue_backend.update_crawler(name, changes)  # type: ignore[attr-defined]
        return EmptyResult()

    def update_job(self) -> ActionResult:
        name = request_params(self).get("JobName")
        job_update = request_params(self).get("JobUpdate")
        if not name or job_update is None:
            raise InvalidInputException("JobName and JobUpdate are required.")
        self.glue_backend.update_job(name, job_update)  # type: ignore[attr-defined]
        return ActionResult({"JobName": name})

    def update_trigger(self) -> ActionResult:
        name = request_params(self).get("Name")
        trigger_update = request_params(self).get("TriggerUpdate")
        if not name or trigger_update is None:
            raise InvalidInputException("Name and TriggerUpdate are required.")
        trigger = self.glue_backend.update_trigger(name, trigger_update)  # type: ignore[attr-defined]
        return ActionResult({"Trigger": trigger.as_dict()})

    def create_job(self) -> ActionResult:
        result: ActionResult = original(GlueResponse, "create_job")(self)
        job = self.glue_backend.get_job(request_params(self)["Name"])
        for field, attribute in JOB_EXTRA_FIELDS.items():
            setattr(job, attribute, request_params(self).get(field))
        return result

    def create_crawler(self) -> ActionResult:
        result: ActionResult = original(GlueResponse, "create_crawler")(self)
        crawler = self.glue_backend.get_crawler(request_params(self)["Name"])
        crawler.lake_formation_configuration = request_params(self).get(  # type: ignore[attr-defined]
            "LakeFormationConfiguration"
        )
        return result

    def start_crawler_schedule(self) -> ActionResult:
        self.glue_backend.start_crawler_schedule(request_params(self).get("CrawlerName"))  # type: ignore[attr-defined]
        return EmptyResult()

    def stop_crawler_schedule(self) -> ActionResult:
        self.glue_backend.stop_crawler_schedule(request_params(self).get("CrawlerName"))  # type: ignore[attr-defined]
        return EmptyResult()

    def is_tags_match(self, resource_arn: str, tags: dict[str, str]) -> bool:
        """ListCrawlers / ListJobs / ListTriggers with several `Tags`: the setting `tag_filter` says whether a
        resource must carry every given tag ("and", the default) or one of them ("or", moto's own
        behaviour). AWS documents neither: the API reference says only "Specifies to return only these
        tagged resources" (botocore glue model, ListCrawlers/ListJobs/ListTriggers Tags), so a client must
        be correct under both (a listing is never the truth of ownership: each resource's own GetTags is)."""
        resource_tags = self.glue_backend.get_tags(resource_arn)
        matches = [resource_tags.get(key) == value for key, value in tags.items()]
        return any(matches) if get_runtime().settings.tag_filter == "or" else all(matches)


def install() -> None:
    graft(GlueResponse, GlueResponseAdditions)
