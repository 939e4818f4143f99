"""Glue Data Catalog database. Deleting it drops table metadata only, never the data in S3."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError
from reconciler.resources import fields
from reconciler.resources.base import (
    Account,
    AttrChange,
    Attrs,
    Desired,
    Observed,
    ResourceKind,
    aws_error,
    desired_tags,
    is_not_found,
    tagged_as_ours,
)
from reconciler.resources.fields import Field
from reconciler.resources.glue_common import get_tags, owned_and_present, sync_tags
from reconciler.spec.model import Pipeline

#: Every attribute of a database, stated once (botocore glue model: DatabaseInput / Database).
FIELDS: tuple[Field, ...] = (
    Field("description", "Description", spec="description", default="", sample="Changed by the acceptance test"),
)


def database_input(name: str, attrs: Attrs) -> dict[str, Any]:
    """CreateDatabase / UpdateDatabase take the definition as DatabaseInput (UpdateDatabase replaces it)."""
    return {"Name": name, **fields.expand(FIELDS, attrs)}


class DatabaseKind(ResourceKind):
    kind: ClassVar[str] = "database"
    level: ClassVar[int] = 2
    fields: ClassVar[tuple[Field, ...]] = FIELDS

    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        db = pipeline.database
        return [Desired(self.kind, db.name, fields.desired(FIELDS, db), desired_tags(pipeline))]

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        try:
            db = ctx.call("glue", "get_database", Name=name)["Database"]
        except AwsApiError as exc:
            if is_not_found(exc):
                return None
            raise aws_error("reading", f"Glue database {name!r}", exc) from exc
        return Observed(fields.flatten(FIELDS, db), get_tags(ctx, ctx.glue_arn("database", name)))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """The declared database and those the Tagging API lists under our owner tag, each confirmed by its
        own read (GetDatabase and GetTags): no read of anyone else's database, and the same calls however
        many the account has."""
        candidates = {pipeline.database.name, *tagged_as_ours(ctx, pipeline, "glue:database")}
        return sorted(n for n in candidates if owned_and_present(self.read(ctx, n, pipeline), pipeline))

    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None:
        try:
            ctx.call(
                "glue", "create_database",
                DatabaseInput=database_input(desired.name, desired.attrs),
                Tags=dict(desired.tags),
            )  # fmt: skip
        except AwsApiError as exc:
            raise aws_error("creating", f"Glue database {desired.name!r}", exc) from exc

    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None:
        if any(c.top != "tags" for c in changes):
            ctx.call(
                "glue", "update_database", Name=desired.name,
                DatabaseInput=database_input(desired.name, desired.attrs),
            )  # fmt: skip
        if any(c.top == "tags" for c in changes):
            sync_tags(ctx, ctx.glue_arn("database", desired.name), dict(desired.tags))

    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None:
        try:
            ctx.call("glue", "delete_database", Name=name)
        except AwsApiError as exc:
            if not is_not_found(exc):
                raise aws_error("deleting", f"Glue database {name!r}", exc) from exc
