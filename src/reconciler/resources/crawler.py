"""Glue crawler. UpdateCrawler is partial (send only what changed; Schedule="" clears it), and a
running crawler cannot be updated or deleted, so we wait for it to finish instead of failing."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.aws.retry import error_code
from reconciler.errors import AwsApiError, AwsError
from reconciler.resources.base import Account, AttrChange, Attrs, Desired, aws_error, is_not_found
from reconciler.resources.glue_common import GlueBatchApi, TagListedGlueKind, role_name, role_reference, sync_tags
from reconciler.spec.model import Crawler, Pipeline

RUNNING_WAIT_SECONDS = 900.0


def expand_crawler(name: str, attrs: Attrs) -> dict[str, Any]:
    """Our attributes -> CreateCrawler / UpdateCrawler parameters."""
    return {
        "Name": name,
        "Role": attrs["role"],
        "DatabaseName": attrs["database"],
        "Description": attrs["description"],
        "Targets": {"S3Targets": [{"Path": p} for p in attrs["targets"]]},
        "TablePrefix": attrs["table_prefix"],
        "Schedule": attrs["schedule"] or "",
        "SchemaChangePolicy": {
            "UpdateBehavior": attrs["schema_change_policy"]["update_behavior"],
            "DeleteBehavior": attrs["schema_change_policy"]["delete_behavior"],
        },
        "RecrawlPolicy": {"RecrawlBehavior": attrs["recrawl_policy"]},
    }


def flatten_crawler(c: dict[str, Any]) -> Attrs:
    """GetCrawler -> our attributes, with AWS's defaults folded in so an unchanged crawler diffs clean."""
    policy = c.get("SchemaChangePolicy") or {}
    schedule = (c.get("Schedule") or {}).get("ScheduleExpression") or None
    return {
        "role": role_name(c.get("Role", "")),
        "database": c.get("DatabaseName", ""),
        "description": c.get("Description", "") or "",
        "targets": sorted(t["Path"] for t in (c.get("Targets") or {}).get("S3Targets", [])),
        "table_prefix": c.get("TablePrefix", "") or "",
        "schedule": schedule,
        "schema_change_policy": {
            "update_behavior": policy.get("UpdateBehavior") or "UPDATE_IN_DATABASE",
            "delete_behavior": policy.get("DeleteBehavior") or "DEPRECATE_IN_DATABASE",
        },
        "recrawl_policy": (c.get("RecrawlPolicy") or {}).get("RecrawlBehavior") or "CRAWL_EVERYTHING",
    }


def desired_attrs(crawler: Crawler, pipeline: Pipeline) -> Attrs:
    return {
        "role": role_name(role_reference(pipeline)),
        "database": pipeline.database.name,
        "description": crawler.description,
        "targets": sorted(crawler.targets),
        "table_prefix": crawler.table_prefix,
        "schedule": crawler.schedule,
        "schema_change_policy": {
            "update_behavior": crawler.schema_change_policy.update_behavior,
            "delete_behavior": crawler.schema_change_policy.delete_behavior,
        },
        "recrawl_policy": crawler.recrawl_policy,
    }


def wait_crawler_ready(ctx: AwsContext, name: str, timeout: float = RUNNING_WAIT_SECONDS) -> None:
    """Status function + pending states + target state + timeout."""
    deadline = time.monotonic() + timeout
    delay = 1.0
    while True:
        state = ctx.call("glue", "get_crawler", Name=name)["Crawler"].get("State", "READY")
        if state == "READY":
            return
        if state not in {"RUNNING", "STOPPING"}:
            raise AwsError(f"crawler {name!r} is in unexpected state {state}")
        if time.monotonic() > deadline:
            raise AwsError(f"crawler {name!r} still {state} after {timeout:.0f}s; try again when it finished")
        time.sleep(delay)
        delay = min(delay * 2, 15.0)


class CrawlerKind(TagListedGlueKind):
    kind: ClassVar[str] = "crawler"
    level: ClassVar[int] = 3
    depends_on: ClassVar[frozenset[str]] = frozenset({"bucket", "role", "database"})
    api: ClassVar[GlueBatchApi] = GlueBatchApi(
        "list_crawlers", "CrawlerNames", "batch_get_crawlers", "CrawlerNames", "Crawlers", "crawler"
    )

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        return [Desired(self.kind, c.name, desired_attrs(c, pipeline), pipeline.all_tags) for c in pipeline.crawlers]

    def flatten(self, item: dict[str, Any]) -> Attrs:
        return flatten_crawler(item)

    def read_one(self, ctx: AwsContext, name: str) -> dict[str, Any] | None:
        try:
            return dict(ctx.call("glue", "get_crawler", Name=name)["Crawler"])
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"Glue crawler {name!r}", exc) from exc

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        params = expand_crawler(desired.name, desired.attrs)
        if not params["Schedule"]:
            del params["Schedule"]
        try:
            ctx.call("glue", "create_crawler", Tags=dict(desired.tags), **params)
        except AwsApiError as exc:
            raise aws_error("creating", f"Glue crawler {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        changed = {c.top for c in changes}
        if changed - {"tags"}:
            full = expand_crawler(desired.name, desired.attrs)
            field_of = {
                "role": "Role", "database": "DatabaseName", "description": "Description", "targets": "Targets",
                "table_prefix": "TablePrefix", "schedule": "Schedule", "schema_change_policy": "SchemaChangePolicy",
                "recrawl_policy": "RecrawlPolicy",
            }  # fmt: skip
            partial = {"Name": desired.name} | {field_of[a]: full[field_of[a]] for a in changed if a in field_of}
            try:
                self._when_not_running(ctx, desired.name, lambda: ctx.call("glue", "update_crawler", **partial))
            except AwsApiError as exc:
                raise aws_error("updating", f"Glue crawler {desired.name!r}", exc) from exc
        if "tags" in changed:
            sync_tags(ctx, ctx.glue_arn("crawler", desired.name), dict(desired.tags))

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            self._when_not_running(ctx, name, lambda: ctx.call("glue", "delete_crawler", Name=name))
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"Glue crawler {name!r}", exc) from exc

    @staticmethod
    def _when_not_running(ctx: AwsContext, name: str, action: Any) -> None:
        # "CrawlerRunningException: Crawler with name ... has already started": wait, then try again.
        for _ in range(3):
            try:
                action()
                return
            except AwsApiError as exc:
                if error_code(exc) != "CrawlerRunningException":
                    raise  # the caller decides: delete treats EntityNotFoundException as done
                wait_crawler_ready(ctx, name)
        action()
