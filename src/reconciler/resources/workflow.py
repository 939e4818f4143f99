"""Glue workflow: the container that makes the conditional job trigger fire for scheduled crawls.

A conditional trigger fires only when the crawl it watches was itself started by a trigger, so the
quarterly schedule lives in a workflow."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError
from reconciler.iam_statement import Statement
from reconciler.resources import fields
from reconciler.resources.base import (
    Account,
    AttrChange,
    Desired,
    Observed,
    ResourceKind,
    aws_error,
    desired_tags,
    is_not_found,
    tagged_as_ours,
)
from reconciler.resources.fields import Field
from reconciler.resources.glue_common import get_tags, owned_and_present, renamed_statement, sync_tags
from reconciler.spec import model
from reconciler.spec.model import Pipeline

#: Every attribute of a workflow, stated once (botocore glue model: CreateWorkflow / Workflow).
FIELDS: tuple[Field, ...] = (
    Field("description", "Description", default="", sample="Changed by the acceptance test",
          note="derived: says which pipeline it runs"),
)  # fmt: skip


class WorkflowKind(ResourceKind):
    kind: ClassVar[str] = "workflow"
    level: ClassVar[int] = 4
    fields: ClassVar[tuple[Field, ...]] = FIELDS
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "schedule")
    spec_model: ClassVar[type | None] = model.Schedule
    tagging_type: ClassVar[str | None] = "glue:workflow"
    runs: ClassVar[bool] = False  # its runs are the crawler's crawls and the job's runs

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        workflow = self.glue_tag_arns(pipeline, account)
        if not workflow:
            return []
        return [
            renamed_statement("workflow", ("glue:GetWorkflow", "glue:DeleteWorkflow"), pipeline, account),
            Statement("Workflow", (
                "glue:CreateWorkflow", "glue:GetWorkflow", "glue:UpdateWorkflow", "glue:DeleteWorkflow",
                "glue:GetWorkflowRuns",
            ), workflow, "the quarterly workflow"),
        ]  # fmt: skip

    def glue_tag_arns(self, pipeline: Pipeline, account: Account) -> tuple[str, ...]:
        s = pipeline.schedule
        return (account.arn("glue", f"workflow/{s.workflow}"),) if s else ()

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        return []  # the role runs the crawler and the job, not the workflow

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        if pipeline.schedule is None:
            return []
        description = f"Quarterly run of pipeline {pipeline.name}: crawl, then prepare"
        attrs = fields.desired(FIELDS, pipeline.schedule, description=description)
        return [Desired(self.kind, pipeline.schedule.workflow, attrs, desired_tags(pipeline))]

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        try:
            wf = ctx.call("glue", "get_workflow", Name=name)["Workflow"]
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"Glue workflow {name!r}", exc) from exc
        return Observed(fields.flatten(FIELDS, wf), get_tags(ctx, ctx.glue_arn("workflow", name)))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """The declared workflow and those the Tagging API lists under our owner tag, each confirmed by its
        own read, GetWorkflow and GetTags (ListWorkflows cannot filter by tag: listing it would read every
        workflow's tags)."""
        declared = {pipeline.schedule.workflow} if pipeline.schedule else set()
        candidates = declared | set(tagged_as_ours(ctx, pipeline, "glue:workflow"))
        return sorted(n for n in candidates if owned_and_present(self.read(ctx, n, pipeline), pipeline))

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        try:
            ctx.call(
                "glue", "create_workflow", Name=desired.name, Tags=dict(desired.tags),
                **fields.expand(FIELDS, desired.attrs),
            )  # fmt: skip
        except AwsApiError as exc:
            raise aws_error("creating", f"Glue workflow {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        if any(c.top != "tags" for c in changes):
            ctx.call("glue", "update_workflow", Name=desired.name, **fields.expand(FIELDS, desired.attrs))
        if any(c.top == "tags" for c in changes):
            sync_tags(ctx, ctx.glue_arn("workflow", desired.name), dict(desired.tags))

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            ctx.call("glue", "delete_workflow", Name=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"Glue workflow {name!r}", exc) from exc
