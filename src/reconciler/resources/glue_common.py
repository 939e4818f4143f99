"""Helpers shared by the Glue kinds: tags by ARN, owned-name listing, role names."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..aws import AwsContext
from ..model import OWNER_TAG, Pipeline
from .base import Observed, is_not_found, tags_diff


def role_name(role: str) -> str:
    """Glue returns a crawler's role as a bare name; compare roles by name, ARN or not."""
    return role.rsplit("/", 1)[-1] if role.startswith("arn:") else role


def role_reference(pipeline: Pipeline) -> str:
    """What we send as Role: the managed role's name, or the existing role's ARN."""
    if pipeline.role.managed_name:
        return pipeline.role.managed_name
    assert pipeline.role.arn is not None  # spec validation guarantees one of the two
    return pipeline.role.arn


def get_tags(ctx: AwsContext, arn: str) -> dict[str, str]:
    try:
        return dict(ctx.call("glue", "get_tags", ResourceArn=arn).get("Tags", {}))
    except ClientError as exc:
        if is_not_found(exc):
            return {}
        raise


def sync_tags(ctx: AwsContext, arn: str, desired: dict[str, str]) -> None:
    to_set, to_unset = tags_diff(get_tags(ctx, arn), desired)
    # Only our declared tags are purged: a key that someone else added and we do not declare stays.
    to_unset = [k for k in to_unset if k in desired]
    if to_set:
        ctx.call("glue", "tag_resource", ResourceArn=arn, TagsToAdd=to_set)
    if to_unset:
        ctx.call("glue", "untag_resource", ResourceArn=arn, TagsToRemove=to_unset)


def list_names_by_owner_tag(ctx: AwsContext, operation: str, key: str, pipeline: Pipeline) -> list[str]:
    """ListCrawlers / ListJobs / ListTriggers filter by tag server-side: one call per page."""
    names: list[str] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Tags": {OWNER_TAG: pipeline.name}}
        if token:
            kwargs["NextToken"] = token
        page = ctx.call("glue", operation, **kwargs)
        names.extend(page.get(key, []))
        token = page.get("NextToken")
        if not token:
            return sorted(names)


def observed_owner_is(tags: dict[str, str], pipeline: Pipeline) -> bool:
    return Observed({}, tags).owner() == pipeline.name
