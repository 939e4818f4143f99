"""Glue Data Catalog database. Deleting it drops table metadata only, never the data in S3."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError
from reconciler.iam_statement import Statement
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
from reconciler.resources.role import catalog_arns
from reconciler.spec import model
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
    spec_section: ClassVar[tuple[str, ...] | None] = ("spec", "database")
    spec_model: ClassVar[type | None] = model.Database
    tagging_type: ClassVar[str | None] = "glue:database"
    runs: ClassVar[bool] = False

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        db = pipeline.database.name
        # Per the SAR (AWS Glue): the database actions act on the root catalog `catalog` and `database/<db>`; the
        # table actions also on `table/<db>/<t>`; DeleteDatabase on all of these and on the database's
        # user-defined functions (AWS Glue Developer Guide, "Specifying AWS Glue resource ARNs": deleting a
        # database "requires permission on all the tables and user-defined functions in the database").
        database = (account.arn("glue", "catalog"), account.arn("glue", f"database/{db}"))
        tables = (*database, account.arn("glue", f"table/{db}/*"))
        return [
            Statement("PipelineCatalog", ("glue:CreateDatabase", "glue:GetDatabase", "glue:UpdateDatabase"),
                      database, "the database"),
            Statement("PipelineTables", ("glue:GetTables", "glue:GetTable", "glue:DeleteTable"), tables,
                      "the crawler's tables"),
            Statement("DeleteDatabase", ("glue:DeleteDatabase",),
                      (*tables, account.arn("glue", f"userDefinedFunction/{db}/*")),
                      "destroy: deleting the database needs its tables and user-defined functions too"),
        ]  # fmt: skip

    def glue_tag_arns(self, pipeline: Pipeline, account: Account) -> tuple[str, ...]:
        return (account.arn("glue", f"database/{pipeline.database.name}"),)

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        return [{
            "Sid": "PipelineCatalog",
            "Effect": "Allow",
            "Action": [
                "glue:BatchCreatePartition", "glue:BatchGetPartition", "glue:BatchUpdatePartition",
                "glue:CreatePartition", "glue:CreateTable", "glue:GetDatabase", "glue:GetPartition",
                "glue:GetPartitions", "glue:GetTable", "glue:GetTables", "glue:UpdatePartition", "glue:UpdateTable",
            ],
            "Resource": catalog_arns(pipeline, account),
        }]  # fmt: skip

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
