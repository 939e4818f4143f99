"""Helpers shared by the Glue kinds: tags by ARN, owned-name listing, batch reads, role names."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError
from reconciler.resources.base import Attrs, Desired, Observed, ResourceKind, is_not_found, tags_diff
from reconciler.spec.model import OWNER_TAG, Pipeline

#: BatchGetCrawlers / BatchGetJobs / BatchGetTriggers take at most 100 names per call
BATCH_LIMIT = 100


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
    except AwsApiError as exc:
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
    return list_names_by_tags(ctx, operation, key, {OWNER_TAG: pipeline.name})


def list_names_by_tags(ctx: AwsContext, operation: str, key: str, tags: Mapping[str, str]) -> list[str]:
    """Names of the resources that carry every one of `tags` (Glue's List* filter is an AND)."""
    names: list[str] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Tags": dict(tags)}
        if token:
            kwargs["NextToken"] = token
        page = ctx.call("glue", operation, **kwargs)
        names.extend(page.get(key, []))
        token = page.get("NextToken")
        if not token:
            return sorted(names)


def observed_owner_is(tags: dict[str, str], pipeline: Pipeline) -> bool:
    return Observed({}, tags).owner() == pipeline.name


@dataclass(frozen=True)
class GlueBatchApi:
    """The List* (filters by tag) and BatchGet* operations of one Glue kind."""

    list_operation: str  # list_crawlers
    list_key: str  # CrawlerNames
    batch_operation: str  # batch_get_crawlers
    batch_param: str  # CrawlerNames
    batch_key: str  # Crawlers
    arn_type: str  # crawler


class TagListedGlueKind(ResourceKind):
    """A Glue kind read in bulk: a plan costs the same few calls for 1 or 100 of them.

    - one List* filtered by our ownership tag: what we own (for deletes and the ownership check);
    - one List* filtered by all desired tags (skipped when they are only the ownership tags): whose
      tags are in sync, so that GetTags is needed only for a name that is someone else's or drifted;
    - one BatchGet* per 100 declared names: the definitions.
    Answers are kept for this plan only; read() of a name not prefetched asks AWS directly.
    """

    batched: ClassVar[bool] = True
    api: ClassVar[GlueBatchApi]

    def __init__(self) -> None:
        self._prefetched: dict[str, Observed | None] = {}
        self._owned: list[str] | None = None

    @abstractmethod
    def flatten(self, item: dict[str, Any]) -> Attrs:
        """One definition as Get*/BatchGet* return it -> our attributes."""

    @abstractmethod
    def read_one(self, ctx: AwsContext, name: str) -> dict[str, Any] | None:
        """Get* of one name; None when absent."""

    def prefetch(self, ctx: AwsContext, desired: list[Desired], pipeline: Pipeline) -> None:
        api = self.api
        ownership = dict(pipeline.ownership_tags)
        owned = list_names_by_tags(ctx, api.list_operation, api.list_key, ownership)
        in_sync: dict[tuple[tuple[str, str], ...], set[str]] = {}
        for tags in {tuple(sorted(d.tags.items())) for d in desired}:
            in_sync[tags] = set(owned) if dict(tags) == ownership else set(
                list_names_by_tags(ctx, api.list_operation, api.list_key, dict(tags))
            )  # fmt: skip
        names = [d.name for d in desired]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), BATCH_LIMIT):
            page = ctx.call("glue", api.batch_operation, **{api.batch_param: names[start : start + BATCH_LIMIT]})
            found.update((item["Name"], item) for item in page.get(api.batch_key, []))
        prefetched: dict[str, Observed | None] = {}
        for d in desired:
            item = found.get(d.name)
            if item is None:
                prefetched[d.name] = None
            elif d.name in in_sync[tuple(sorted(d.tags.items()))]:
                prefetched[d.name] = Observed(self.flatten(item), dict(d.tags))  # AWS confirmed every tag
            else:  # someone else's, untagged, or our tags drifted: the real tags tell which
                prefetched[d.name] = Observed(self.flatten(item), get_tags(ctx, ctx.glue_arn(api.arn_type, d.name)))
        self._prefetched, self._owned = prefetched, owned

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        if name in self._prefetched:
            return self._prefetched.pop(name)
        item = self.read_one(ctx, name)
        if item is None:
            return None
        return Observed(self.flatten(item), get_tags(ctx, ctx.glue_arn(self.api.arn_type, name)))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        if self._owned is not None:
            owned, self._owned = self._owned, None
            return owned
        return list_names_by_owner_tag(ctx, self.api.list_operation, self.api.list_key, pipeline)
