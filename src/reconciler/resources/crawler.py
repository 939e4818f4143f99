"""Glue crawler. UpdateCrawler is partial (send only what changed; Schedule="" clears it), and a
running crawler cannot be updated or deleted, so we wait for it to finish instead of failing."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.aws import wait
from reconciler.aws.context import AwsContext
from reconciler.aws.retry import error_code
from reconciler.aws.wait import Poll
from reconciler.errors import AwsApiError, AwsError
from reconciler.iam_statement import Statement
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
    CRAWLER_PROPAGATION_MESSAGES,
    GlueBatchApi,
    TagListedGlueKind,
    renamed_statement,
    retry_iam_propagation,
    role_arn,
    role_attr,
    role_name,
    sync_tags,
)
from reconciler.resources.role import catalog_arns
from reconciler.spec import model
from reconciler.spec.model import OWNER_TAG, Crawler, Pipeline

RUNNING_WAIT_SECONDS = 900.0
#: GetCrawler's `State` while a crawl is in progress (AWS Glue API reference, Crawler: READY | RUNNING | STOPPING)
CRAWLER_ACTIVE = frozenset({"RUNNING", "STOPPING"})


def _schedule_text(schedule: Any) -> str | None:
    # CreateCrawler/UpdateCrawler take Schedule as the cron text (botocore glue model: CreateCrawlerRequest
    # Schedule is a CronExpression); GetCrawler answers a Schedule structure {ScheduleExpression, State}.
    text = schedule.get("ScheduleExpression") if isinstance(schedule, dict) else schedule
    return str(text) if text else None


#: Every attribute of a crawler, stated once. API fields: botocore glue model, CreateCrawler / Crawler;
#: defaults: what GetCrawler reports when CreateCrawler omitted them (AWS Glue API reference,
#: SchemaChangePolicy and RecrawlPolicy; terraform-provider-aws internal/service/glue/crawler.go).
FIELDS: tuple[Field, ...] = (
    Field("role", "Role", read=role_name, default="", sample="someone-elses-role",
          note="sent as the role's full ARN (spec.role); compared as path/name (glue_common.role_name)"),
    Field("database", "DatabaseName", default="", sample="someone_elses_db", note="spec.database.name"),
    Field("description", "Description", spec="description", default="", sample="Changed by the acceptance test"),
    Field("targets", "Targets.S3Targets", spec="targets",
          write=lambda paths: [{"Path": p} for p in paths], read=lambda ts: sorted(t["Path"] for t in ts),
          default=[], sample=["s3://${PIPELINE_BUCKET}/raw/"]),
    Field("table_prefix", "TablePrefix", spec="table_prefix", default="", sample="src_"),
    # UpdateCrawler is partial; Schedule="" removes the schedule (AWS Glue API reference, UpdateCrawler).
    Field("schedule", "Schedule", spec="schedule", read=_schedule_text, optional=True, clear="",
          sample="cron(15 12 * * ? *)"),
    Field("schema_change_policy.update_behavior", "SchemaChangePolicy.UpdateBehavior",
          spec="schema_change_policy.update_behavior", default="UPDATE_IN_DATABASE", sample="LOG"),
    Field("schema_change_policy.delete_behavior", "SchemaChangePolicy.DeleteBehavior",
          spec="schema_change_policy.delete_behavior", default="DEPRECATE_IN_DATABASE", sample="LOG"),
    # CRAWL_NEW_FOLDERS_ONLY needs both schema change behaviours LOG (AWS Glue API reference, RecrawlPolicy).
    Field("recrawl_policy", "RecrawlPolicy.RecrawlBehavior", spec="recrawl_policy", default="CRAWL_EVERYTHING",
          sample="CRAWL_NEW_FOLDERS_ONLY",
          sample_needs={"schema_change_policy.update_behavior": "LOG", "schema_change_policy.delete_behavior": "LOG"}),
    # UpdateCrawler is partial (an omitted field stays): a configuration removed from the spec is sent as "".
    Field("security_configuration", "CrawlerSecurityConfiguration", default="", optional=True, clear="",
          security=True, note="spec.security_configuration.name, \"\" for none (resources/security_configuration.py)"),
)  # fmt: skip


def expand_crawler(name: str, attrs: Attrs) -> dict[str, Any]:
    """Our attributes -> CreateCrawler parameters (an empty schedule is omitted)."""
    return {"Name": name, **fields.expand(FIELDS, attrs)}


def flatten_crawler(c: dict[str, Any]) -> Attrs:
    """GetCrawler -> our attributes, with AWS's defaults folded in so an unchanged crawler diffs clean."""
    return fields.flatten(FIELDS, c)


def desired_attrs(crawler: Crawler, pipeline: Pipeline) -> Attrs:
    return fields.desired(
        FIELDS, crawler,
        role=role_attr(pipeline), database=pipeline.database.name, targets=sorted(crawler.targets),
        security_configuration=security_configuration.name_of(pipeline),
    )  # fmt: skip


def wait_crawler_ready(ctx: AwsContext, name: str, timeout: float = RUNNING_WAIT_SECONDS) -> None:
    """Wait until the crawler is READY (GetCrawler State: READY | RUNNING | STOPPING, AWS Glue API reference)."""

    def status() -> tuple[None, str]:
        return None, str(ctx.call("glue", "get_crawler", Name=name)["Crawler"].get("State", "READY"))

    try:
        wait.until(status, pending={"RUNNING", "STOPPING"}, target={"READY"}, timeout=timeout, poll=Poll(1.0, cap=15.0))
    except wait.UnexpectedState as unexpected:
        raise AwsError(f"crawler {name!r} is in unexpected state {unexpected.state}") from None
    except wait.WaitTimeout as timed_out:
        raise AwsError(
            f"crawler {name!r} still {timed_out.state} after {timeout:.0f}s; try again when it finished"
        ) from None


class CrawlerKind(TagListedGlueKind):
    kind: ClassVar[str] = "crawler"
    level: ClassVar[int] = 3
    depends_on: ClassVar[frozenset[str]] = frozenset({"bucket", "role", "database", "security_configuration"})
    api: ClassVar[GlueBatchApi] = GlueBatchApi(
        "list_crawlers", "CrawlerNames", "batch_get_crawlers", "CrawlerNames", "Crawlers", "crawler"
    )
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "crawlers")
    spec_model: ClassVar[type | None] = model.Crawler
    tagging_type: ClassVar[str | None] = None  # ListCrawlers filters by tag (TagListedGlueKind)
    runs: ClassVar[bool] = True

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        return [
            Desired(self.kind, c.name, desired_attrs(c, pipeline), desired_tags(pipeline)) for c in pipeline.crawlers
        ]

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        crawlers = self.glue_tag_arns(pipeline, account)
        if not crawlers:
            return []
        return [
            renamed_statement("crawler", ("glue:GetCrawler", "glue:DeleteCrawler", "glue:StopCrawler"), pipeline,
                              account),
            # glue:CreateCrawler has no resource type (SAR): only "*" matches; it is limited to requests that tag
            # the new crawler as this pipeline's (aws:RequestTag, listed for the action).
            Statement("CreateCrawlers", ("glue:CreateCrawler",), ("*",),
                      "crawlers are created with this pipeline's owner tag",
                      {"StringEquals": {f"aws:RequestTag/{OWNER_TAG}": pipeline.name}}),
            Statement("Crawlers", (
                "glue:GetCrawler", "glue:BatchGetCrawlers", "glue:UpdateCrawler",
                "glue:DeleteCrawler", "glue:StartCrawler", "glue:StopCrawler", "glue:ListCrawls",
            ), crawlers, "the spec's crawlers; run starts and waits for them"),
        ]  # fmt: skip

    def glue_tag_arns(self, pipeline: Pipeline, account: Account) -> tuple[str, ...]:
        return tuple(account.arn("glue", f"crawler/{c.name}") for c in pipeline.crawlers)

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        if not any(c.schema_change_policy.delete_behavior == "DELETE_FROM_DATABASE" for c in pipeline.crawlers):
            return []
        # A crawler with DeleteBehavior DELETE_FROM_DATABASE deletes the tables and partitions whose data is gone
        # (AWS Glue Developer Guide, "Setting crawler configuration options": "Delete tables and partitions from
        # the Data Catalog"). Which of the calls the crawler makes is not documented, so all three are granted
        # (Service Authorization Reference, AWS Glue: each on catalog, database and table), and only then.
        return [{
            "Sid": "CrawlerDeletes",
            "Effect": "Allow",
            "Action": ["glue:BatchDeletePartition", "glue:BatchDeleteTable", "glue:DeleteTable"],
            "Resource": catalog_arns(pipeline, account),
        }]  # fmt: skip

    # AWS Glue API reference (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-crawling.html):
    # GetCrawler's `State` is READY | RUNNING | STOPPING; StopCrawler "If the specified crawler is running, stops
    # the crawl", and answers CrawlerNotRunningException when it is not (then there is nothing to stop).

    def running(self, ctx: AwsContext, name: str) -> list[Running]:
        try:
            found = ctx.call("glue", "get_crawler", Name=name)["Crawler"]
        except AwsApiError as exc:
            if is_not_found(exc):
                return []
            raise
        state = str(found.get("State", ""))
        if state not in CRAWLER_ACTIVE:
            return []
        # GetCrawler names no start time of the crawl in progress
        return [Running(self.kind, name, None, state, "", f"crawler {name!r} is {state}",
                        ("glue", "stop-crawler", "--name", name))]  # fmt: skip

    def stop_running(self, ctx: AwsContext, run: Running) -> None:
        try:
            ctx.call("glue", "stop_crawler", Name=run.name)
        except AwsApiError as exc:
            if error_code(exc) != "CrawlerNotRunningException" and not is_not_found(exc):
                raise

    def still_running(self, ctx: AwsContext, run: Running) -> bool:
        return bool(self.running(ctx, run.name))

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
        params = {**expand_crawler(desired.name, desired.attrs), "Role": role_arn(ctx, pipeline)}
        try:
            retry_iam_propagation(
                lambda: ctx.call("glue", "create_crawler", Tags=dict(desired.tags), **params),
                CRAWLER_PROPAGATION_MESSAGES,
            )
        except AwsApiError as exc:
            raise aws_error("creating", f"Glue crawler {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        changed = {c.top for c in changes}
        if changed - {"tags"}:
            partial = {"Name": desired.name, **fields.partial_update(FIELDS, desired.attrs, changed)}
            if "Role" in partial:
                partial["Role"] = role_arn(ctx, pipeline)
            try:
                self._when_not_running(
                    ctx, desired.name,
                    lambda: retry_iam_propagation(
                        lambda: ctx.call("glue", "update_crawler", **partial), CRAWLER_PROPAGATION_MESSAGES
                    ),
                )  # fmt: skip
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
