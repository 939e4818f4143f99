"""Helpers shared by the Glue kinds: tags by ARN, owned-name listing, batch reads, role names."""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from reconciler.aws import wait
from reconciler.aws.context import AwsContext
from reconciler.aws.wait import Clock, Poll
from reconciler.errors import AwsApiError
from reconciler.iam_statement import Statement
from reconciler.resources.base import Account, Attrs, Desired, Observed, ResourceKind, is_not_found, tags_to_remove
from reconciler.resources.role import role_path
from reconciler.resources.role import role_reference as role_reference  # re-exported: it was defined here
from reconciler.spec.model import OWNER_TAG, Pipeline

T = TypeVar("T")

#: BatchGetCrawlers / BatchGetJobs / BatchGetTriggers take at most 100 names per call
BATCH_LIMIT = 100


def role_name(role: str) -> str:
    """One form for every way a role is written: `path/name` without the leading slash (`name` for a role
    at path `/`). Glue keeps a role given by ARN and answers GetCrawler with the part after `role/`
    (terraform-provider-aws internal/service/glue/crawler.go, the `role` DiffSuppressFunc: "Glue API always
    returns name", compared with `strings.TrimPrefix(arn.Resource, "role/")`); a bare name means the role at
    path `/` (IAM User Guide, IAM identifiers: the ARN carries the path). So an ARN, `path/name` and a bare
    name compare equal exactly when they name the same role of the account."""
    if role.startswith("arn:"):
        resource = role.split(":", 5)[-1]
        return resource.removeprefix("role/").lstrip("/")
    return role.lstrip("/")


def role_arn(ctx: AwsContext, pipeline: Pipeline) -> str:
    """role_reference for the account `ctx` talks to."""
    return role_reference(pipeline, Account(lambda: ctx.account_id, ctx.region, ctx.partition))


def role_attr(pipeline: Pipeline) -> str:
    """The role attribute as plans compare it (role_name's form), known without the account id."""
    if pipeline.role.managed_name:
        return f"{role_path(pipeline).strip('/')}/{pipeline.role.managed_name}"
    assert pipeline.role.arn is not None
    return role_name(pipeline.role.arn)


#: IAM is eventually consistent: a role or policy made seconds ago may not yet be usable by Glue.
#: terraform-provider-aws internal/service/glue/consts.go: `propagationTimeout = 2 * time.Minute`.
IAM_PROPAGATION_TIMEOUT = 120.0
#: The InvalidInputException messages that mean "IAM has not caught up yet", and only those, retried for
#: CreateCrawler / UpdateCrawler (terraform-provider-aws internal/service/glue/crawler.go, resourceCrawlerCreate
#: and resourceCrawlerUpdate; hashicorp/terraform-provider-aws#30371 shows the TrustPolicy wording varies, hence
#: the two forms):
CRAWLER_PROPAGATION_MESSAGES = (
    "Service is unable to assume",  # "Service is unable to assume provided role. Please verify role's TrustPolicy"
    "Please verify the role's TrustPolicy",  # the other wording seen in crawler.go
    "role's TrustPolicy",  # "Please verify role's TrustPolicy" (no "the")
    "is not authorized",  # "User: arn:aws:sts::...:assumed-role/.../AWS-Crawler is not authorized to perform: ..."
    "Insufficient Lake Formation permission",  # "Insufficient Lake Formation permission(s) on xxx"
)
#: CreateTrigger: "Service is unable to assume role" (terraform-provider-aws internal/service/glue/trigger.go,
#: resourceTriggerCreate retries InvalidInputException with this text for propagationTimeout).
TRIGGER_PROPAGATION_MESSAGES = ("Service is unable to assume role",)


def is_propagation_error(exc: AwsApiError, messages: tuple[str, ...], code: str = "InvalidInputException") -> bool:
    return exc.code == code and any(m in exc.aws_message for m in messages)


def retry_iam_propagation(
    action: Callable[[], T],
    messages: tuple[str, ...],
    *,
    timeout: float | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    code: str = "InvalidInputException",
) -> T:
    """`action()`, retried while it fails with one of `messages` (IAM not propagated yet), for at most
    `timeout` seconds (IAM_PROPAGATION_TIMEOUT); any other error, or the last one, is raised as is.
    `sleep` defaults to propagation_sleep, looked up at call time so that tests can replace it."""
    return wait.retry_while(
        action,
        lambda exc: isinstance(exc, AwsApiError) and is_propagation_error(exc, messages, code),
        timeout=IAM_PROPAGATION_TIMEOUT if timeout is None else timeout,
        poll=Poll(1.0, cap=10.0, before_deadline=True),
        clock=Clock(now=clock, sleep=sleep or propagation_sleep),
    )


def propagation_sleep(seconds: float) -> None:
    """The wait between propagation retries (a test replaces it, with monkeypatch.setattr)."""
    time.sleep(seconds)


def renamed_statement(kind: str, actions: tuple[str, ...], pipeline: Pipeline, account: Account) -> Statement:
    """A crawler, job, workflow or trigger renamed or removed from the spec is still ours (its owner tag says so)
    and must be read and deleted by the next apply or destroy: `actions` are also allowed on any such resource
    whose own tag names this pipeline (the SAR lists aws:ResourceTag/${TagKey} for Glue's crawler, job, trigger
    and workflow resource types). The kind's other statements name today's resources explicitly, so they work
    whether or not a given action evaluates the tag."""
    owner = {"StringEquals": {f"aws:ResourceTag/{OWNER_TAG}": pipeline.name}}
    return Statement(f"Renamed{kind.capitalize()}s", ("glue:GetTags", "glue:UntagResource", *actions),
                     (account.arn("glue", f"{kind}/*"),), f"{kind}s renamed or removed from the spec but still "
                     "tagged as this pipeline's: read and delete them", owner)  # fmt: skip


def get_tags(ctx: AwsContext, arn: str) -> dict[str, str]:
    try:
        return dict(ctx.call("glue", "get_tags", ResourceArn=arn).get("Tags", {}))
    except AwsApiError as exc:
        if is_not_found(exc):
            return {}
        raise


def sync_tags(ctx: AwsContext, arn: str, desired: dict[str, str]) -> None:
    """Set our declared tags; remove only the keys we recorded (KEYS_TAG) and no longer declare: a tag someone
    else added stays."""
    current = get_tags(ctx, arn)
    to_set = {k: v for k, v in desired.items() if current.get(k) != v}
    to_unset = tags_to_remove(current, desired)
    if to_set:
        ctx.call("glue", "tag_resource", ResourceArn=arn, TagsToAdd=to_set)
    if to_unset:
        ctx.call("glue", "untag_resource", ResourceArn=arn, TagsToRemove=to_unset)


def list_names_by_owner_tag(ctx: AwsContext, operation: str, key: str, pipeline: Pipeline) -> list[str]:
    """Candidates only: ListCrawlers / ListJobs / ListTriggers filtered by our one owner tag.

    Glue documents the `Tags` filter ("Specifies to return only these tagged resources", botocore glue model,
    ListCrawlers) but not whether several tags are ANDed or ORed (moto ORs them). With one tag both readings
    agree; still, each name listed here is confirmed with its own GetTags before we treat it as ours."""
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
            return sorted(set(names))


def tags_of_many(ctx: AwsContext, arns: dict[str, str]) -> dict[str, dict[str, str]]:
    """GetTags of each name -> ARN, a few at a time (one call each: Glue has no batch tag read)."""
    if not arns:
        return {}
    with ThreadPoolExecutor(max_workers=min(TAG_READ_CONCURRENCY, len(arns))) as pool:
        futures = {name: pool.submit(get_tags, ctx, arn) for name, arn in arns.items()}
        return {name: future.result() for name, future in futures.items()}


#: parallel GetTags per kind: several kinds read at once share botocore's pool of 10 connections
TAG_READ_CONCURRENCY = 4


def observed_owner_is(tags: dict[str, str], pipeline: Pipeline) -> bool:
    return Observed({}, tags).owner() == pipeline.name


def owned_and_present(observed: Observed | None, pipeline: Pipeline) -> bool:
    """A candidate is ours only if its own read finds it and its tags name us. The Tagging API is an
    eventually consistent index, and a GetTags by ARN may still answer for a resource just deleted, so
    neither alone proves the resource exists: a stale entry would be planned as a delete forever."""
    return observed is not None and observed.owner() == pipeline.name


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
    """A Glue kind read in bulk: the List* and BatchGet* calls are the same for 1 or 100 of them.

    - one List* filtered by our owner tag: candidates for what we own (for deletes);
    - one BatchGet* per 100 declared names: the definitions;
    - one GetTags per resource found (declared or listed): the tags that decide ownership, from the
      resource's own read, never from the List* filter alone.
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

    def settle(self, ctx: AwsContext, item: dict[str, Any]) -> dict[str, Any] | None:
        """A definition that is in transition, once it is not (triggers wait); None once it is gone."""
        return item

    def _arn(self, ctx: AwsContext, name: str) -> str:
        return ctx.glue_arn(self.api.arn_type, name)

    def prefetch(self, ctx: AwsContext, desired: list[Desired], pipeline: Pipeline) -> None:
        api = self.api
        listed = list_names_by_owner_tag(ctx, api.list_operation, api.list_key, pipeline)
        names = [d.name for d in desired]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), BATCH_LIMIT):
            page = ctx.call("glue", api.batch_operation, **{api.batch_param: names[start : start + BATCH_LIMIT]})
            found.update((item["Name"], item) for item in page.get(api.batch_key, []))
        settled = {name: self.settle(ctx, item) for name, item in found.items()}
        tags = tags_of_many(ctx, {n: self._arn(ctx, n) for n in sorted(set(listed) | set(found))})
        prefetched: dict[str, Observed | None] = {}
        for d in desired:
            item = settled.get(d.name)
            prefetched[d.name] = None if item is None else Observed(self.flatten(item), tags[d.name])
        owned = [n for n in listed if observed_owner_is(tags[n], pipeline)]
        self._prefetched, self._owned = prefetched, owned

    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        if name in self._prefetched:
            return self._prefetched.pop(name)
        item = self.read_one(ctx, name)
        if item is None:
            return None
        return Observed(self.flatten(item), get_tags(ctx, self._arn(ctx, name)))

    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        if self._owned is not None:
            owned, self._owned = self._owned, None
            return owned
        listed = list_names_by_owner_tag(ctx, self.api.list_operation, self.api.list_key, pipeline)
        tags = tags_of_many(ctx, {n: self._arn(ctx, n) for n in listed})
        return [n for n in listed if observed_owner_is(tags[n], pipeline)]
