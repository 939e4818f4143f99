"""The one small interface every resource kind implements.

A kind turns the spec into desired attributes, reads and normalises live state into the same shape,
and performs create / update / delete. Attribute dictionaries are plain JSON-able data, so the diff
and plan core (diff.py, plan.py) stay pure and never see boto3.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from reconciler.aws.cli_command import aws_cli
from reconciler.aws.context import AwsContext
from reconciler.errors import AwsApiError, AwsError, NotFoundError
from reconciler.iam_statement import Statement
from reconciler.resources import fields as fields_table
from reconciler.resources.fields import Attrs as Attrs  # re-exported: the kinds import it from here
from reconciler.resources.fields import Field
from reconciler.spec.model import MANAGED_TAG, OWNER_TAG, Pipeline


@dataclass(frozen=True)
class Desired:
    kind: str
    name: str
    attrs: Attrs
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.kind}.{self.name}"


@dataclass(frozen=True)
class Observed:
    attrs: Attrs
    tags: Mapping[str, str]
    #: what the plan should say about the resource besides its diff, never diffed (an upload's stale objects)
    notes: tuple[str, ...] = ()
    #: why a resource tagged as ours is still not this plan's to change: a global resource (the IAM role) that
    #: serves this pipeline in another region (resources/role.py); None for every other resource
    elsewhere: str | None = None

    def owner(self) -> str | None:
        """The pipeline that owns this resource, or None if it carries no ownership tag."""
        if self.tags.get(MANAGED_TAG) != "true":
            return None
        return self.tags.get(OWNER_TAG)


class Account:
    """Facts about the target account that desired state needs (ARNs). The account id may be given as a
    function: it is then looked up on first use, so a plan that needs no ARN (`--target` on an upload)
    makes no STS call."""

    def __init__(
        self, account_id: str | Callable[[], str], region: str, partition: str = "aws", *, tls_only: bool = True
    ) -> None:
        self._account_id = account_id
        self.region = region
        self.partition = partition
        #: False only against a plain-http endpoint other than our embedded one (bucket_policy.tls_policy_applies)
        self.tls_only = tls_only

    @property
    def account_id(self) -> str:
        if callable(self._account_id):
            self._account_id = self._account_id()
        return self._account_id

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        reg = self.region if region else ""
        acct = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{reg}:{acct}:{resource}"


@dataclass(frozen=True)
class AttrChange:
    keys: tuple[str, ...]  # path into attrs, e.g. ("schema_change_policy", "update_behavior")
    before: Any
    after: Any

    @property
    def top(self) -> str:
        return self.keys[0]

    @property
    def path(self) -> str:
        """Dotted for display; keys that contain dots or slashes are quoted: objects["raw/a.csv"]."""
        out = ""
        for key in self.keys:
            if key.replace("_", "").replace("-", "").replace(":", "").isalnum():
                out += f".{key}" if out else key
            else:
                out += f'["{key}"]'
        return out


@dataclass(frozen=True)
class Running:
    """Work in progress in a resource that deleting it would break (a job run, a crawl): what
    ResourceKind.running reports, and what destroy names or stops (engine/running.py)."""

    kind: str
    name: str
    run_id: str | None  # the job run's id; None for a crawl
    state: str
    started: str
    #: one line for the refusal ("job 'x' run jr_1 is RUNNING (started ...)")
    description: str
    #: the AWS CLI words that stop it ("glue", "stop-crawler", "--name", "x")
    stop_cli: tuple[str, ...]

    def describe(self) -> str:
        return self.description

    def stop_command(self, ctx: AwsContext) -> str:
        """The AWS CLI command that stops it, pasteable."""
        return aws_cli(ctx, *self.stop_cli)


#: What every kind declares for the places the kinds share (docs/adding-a-kind.md). Each has a default here,
#: and tests/unit/test_kinds.py fails for a kind that does not declare it itself (or in a shared base class):
#: a new kind must decide each one.
HOOKS = ("spec_section", "tagging_type", "operator_statements", "role_statements", "runs")


class ResourceKind(ABC):
    """One AWS resource kind. Same functions, same order, in every module."""

    kind: ClassVar[str]
    #: dependency level: lower levels are created first and deleted last
    level: ClassVar[int]
    #: the kind's field table (resources/fields.py): every attribute's name, API field, default and flags
    fields: ClassVar[tuple[Field, ...]] = ()
    #: attributes that cannot change in place; a change means replace (from `fields`)
    immutable: ClassVar[frozenset[str]] = frozenset()
    #: attributes whose values are (partly) masked in every output (from `fields`)
    sensitive: ClassVar[frozenset[str]] = frozenset()
    #: attributes whose change is security-relevant, shown in their own section (from `fields`)
    security: ClassVar[frozenset[str]] = frozenset()
    #: kinds whose resources must exist first (what `--target` pulls in along with a targeted resource)
    depends_on: ClassVar[frozenset[str]] = frozenset()
    #: True when prefetch() reads every declared resource of the kind in bulk
    batched: ClassVar[bool] = False
    #: the schema path of the spec section its spec keys (FIELDS `spec`) are relative to, and the spec model
    #: class that section becomes (spec/model.py); None: the kind is derived, it has no section of its own
    spec_section: ClassVar[tuple[str, ...] | None] = None
    spec_model: ClassVar[type | None] = None
    #: its type in the Resource Groups Tagging API (GetResources ResourceTypeFilters, "service[:resourceType]"),
    #: when list_owned finds its resources there (tagged_as_ours); None: it lists them another way
    tagging_type: ClassVar[str | None] = None
    #: True when its resources run work (job runs, crawls) that destroy must not delete from under them:
    #: then running(), stop_running() and still_running() say what runs and stop it
    runs: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.immutable = fields_table.immutable(cls.fields)
        cls.sensitive = fields_table.sensitive(cls.fields)
        cls.security = fields_table.security(cls.fields)

    @abstractmethod
    def desired(self, pipeline: Pipeline, account: Account) -> list[Desired]:
        """What the spec declares, in normalised form."""

    @abstractmethod
    def read(self, ctx: AwsContext, name: str, pipeline: Pipeline) -> Observed | None:
        """Live state normalised like desired(); None when absent."""

    def prefetch(self, ctx: AwsContext, desired: list[Desired], pipeline: Pipeline) -> None:
        """Read all declared resources of this kind at once (batch APIs) before read()/list_owned()."""
        return None

    @abstractmethod
    def list_owned(self, ctx: AwsContext, pipeline: Pipeline) -> list[str]:
        """Names of live resources tagged as this pipeline's (to plan deletes of undeclared ones)."""

    @abstractmethod
    def create(self, ctx: AwsContext, desired: Desired, pipeline: Pipeline) -> None: ...

    @abstractmethod
    def update(self, ctx: AwsContext, desired: Desired, changes: list[AttrChange], pipeline: Pipeline) -> None: ...

    @abstractmethod
    def delete(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> None: ...

    def blocked_delete_reason(self, ctx: AwsContext, name: str, pipeline: Pipeline, *, force: bool) -> str | None:
        """Why deleting `name` must not happen without force (e.g. a bucket holding objects)."""
        return None

    # --- what the shared places collect from every kind (permissions.py, role.py, engine/running.py) ----------

    def operator_statements(self, pipeline: Pipeline, account: Account) -> list[Statement]:
        """The operator's IAM statements for this kind's calls (`reconcile permissions`, permissions.py)."""
        return []

    def glue_tag_arns(self, pipeline: Pipeline, account: Account) -> tuple[str, ...]:
        """ARNs of the declared resources whose tags are read and written with glue:GetTags / TagResource /
        UntagResource (one shared operator statement, GlueTags)."""
        return ()

    def role_statements(self, pipeline: Pipeline, account: Account) -> list[dict[str, Any]]:
        """Statements of the managed role's inline policy (what the crawlers and jobs need of this kind's
        resources; resources/role.py access_policy collects them)."""
        return []

    def running(self, ctx: AwsContext, name: str) -> list[Running]:
        """Work in progress in resource `name` (only for a kind with `runs`)."""
        return []

    def stop_running(self, ctx: AwsContext, run: Running) -> None:
        """Ask AWS to stop `run` (only for a kind with `runs`); one that ended meanwhile is fine."""
        return None

    def still_running(self, ctx: AwsContext, run: Running) -> bool:
        """Whether `run` is still in progress (only for a kind with `runs`)."""
        return False


def delete_objects_checked(ctx: AwsContext, bucket: str, objects: list[dict[str, str]]) -> None:
    """DeleteObjects in batches of 1,000 (its limit), failing on any per-key error: S3 answers 200 with an
    `Errors` list for the keys it could not delete (S3 API reference, DeleteObjects: "the response includes
    ... Errors"), so a 200 alone proves nothing."""
    for start in range(0, len(objects), 1000):
        answer = ctx.call("s3", "delete_objects", Bucket=bucket, Delete={"Objects": objects[start : start + 1000]})
        errors = answer.get("Errors") or []
        if errors:
            shown = "; ".join(f"{e.get('Key')}: {e.get('Code')} {e.get('Message', '')}".strip() for e in errors[:3])
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            raise AwsError(f"S3 did not delete {len(errors)} object(s) of bucket {bucket!r}: {shown}{more}")


def aws_error(action: str, what: str, exc: AwsApiError) -> AwsApiError:
    """The mapped AWS error with what we tried in front ("creating Glue crawler 'x': ...")."""
    return exc.doing(f"{action} {what}")


def is_not_found(exc: BaseException) -> bool:
    """Absent, in any service's words (the codes are listed once, in reconciler.aws.errors)."""
    return isinstance(exc, NotFoundError)


_REGISTERED: list[type[ResourceKind]] = []


def register(kinds: tuple[type[ResourceKind], ...]) -> None:
    """Make `kinds` (resources/__init__.py KINDS) what the places inside this package that collect from every
    kind read at call time: the Tagging API filter (tagging_types) and the role's policy (role.py). They
    cannot import the package that imports them; KINDS stays the one list."""
    _REGISTERED[:] = kinds


def registered() -> tuple[type[ResourceKind], ...]:
    return tuple(_REGISTERED)


def tagging_types() -> tuple[str, ...]:
    """The `tagging_type` of every kind found through the Resource Groups Tagging API, QuickSight's aside
    (tagged_as_ours asks for those only when the spec has a QuickSight data set)."""
    return tuple(k.tagging_type for k in registered() if k.tagging_type and not k.tagging_type.startswith("quicksight"))


def tagged_as_ours(ctx: AwsContext, pipeline: Pipeline, resource_type: str) -> list[str]:
    """Names of the `resource_type` resources the Tagging API lists under our owner tag: candidates only.

    GetResources filters server-side by tag (TagFilters, Resource Groups Tagging API reference), so the cost
    does not grow with the account's other resources and no right on them is needed (tag:GetResources only).
    The API is eventually consistent and may not cover every type in every region: callers add the names the
    spec declares and confirm each candidate's tags with the resource's own read.

    One request for every kind's `tagging_type` (tagging_types()), so that within a plan
    (AwsContext.shared_reads) it is sent once."""
    names: list[str] = []
    token = ""
    # QuickSight only when asked for (a spec with spec.quicksight.dataset), by service: its Tagging API resource
    # type names are not documented per type, and a service filter matches every type of the service
    # (GetResources API reference, ResourceTypeFilters: "service[:resourceType]")
    type_filters = ["quicksight"] if resource_type.startswith("quicksight:") else list(tagging_types())
    while True:
        page = ctx.call(
            "resourcegroupstaggingapi", "get_resources",
            TagFilters=[{"Key": OWNER_TAG, "Values": [pipeline.name]}], ResourceTypeFilters=type_filters,
            **({"PaginationToken": token} if token else {}),
        )  # fmt: skip
        for item in page.get("ResourceTagMappingList", []):
            arn = str(item.get("ResourceARN", ""))
            service, resource = (arn.split(":", 5) + [""] * 6)[2], arn.split(":", 5)[-1]
            if resource_type == "s3:bucket" and service == "s3" and "/" not in resource:
                names.append(resource)  # arn:aws:s3:::name
            elif resource_type == "sns" and service == "sns" and ":" not in resource:
                names.append(resource)  # arn:aws:sns:region:account:name (a topic; subscriptions add ":id")
            elif resource_type == "events:rule" and service == "events" and resource.startswith("rule/"):
                names.append(resource.split("/")[-1])  # arn:aws:events:region:account:rule/name (default bus)
            elif service in ("glue", "quicksight") and resource_type.startswith(f"{service}:") \
                    and resource.startswith(resource_type.partition(":")[2] + "/"):
                names.append(resource.split("/", 1)[1])  # arn:aws:glue:region:account:database/name
        token = str(page.get("PaginationToken") or "")
        if not token:
            return sorted(set(names))


#: Our record of which keys of metadata.tags we put on a resource (no state file): a key that leaves the spec
#: is then removed from every resource, while tags someone else added stay. Keys are joined by a space (tag
#: values may hold letters, digits, spaces and _.:/=+-@ in S3, IAM and Glue alike: IAM API reference, Tag).
KEYS_TAG = "reconciler:keys"


def desired_tags(pipeline: Pipeline) -> dict[str, str]:
    """metadata.tags, our ownership tags and KEYS_TAG listing metadata.tags' keys."""
    keys = sorted(k for k in dict(pipeline.tags) if " " not in k)  # a key with a space cannot be recorded
    return {**pipeline.all_tags, KEYS_TAG: " ".join(keys)}


def recorded_keys(tags: Mapping[str, str]) -> list[str]:
    """The keys KEYS_TAG says we put on the resource."""
    return sorted(set(tags.get(KEYS_TAG, "").split()))


def tags_to_remove(current: Mapping[str, str], desired: Mapping[str, str]) -> list[str]:
    """Keys we put on the resource (KEYS_TAG) that are no longer declared and are still there."""
    return [k for k in recorded_keys(current) if k in current and k not in desired and not k.startswith("aws:")]


@dataclass(frozen=True)
class KeyValueTags:
    """The tag API SNS, EventBridge and QuickSight share: ListTagsForResource answers `Tags: [{Key, Value}]`,
    TagResource takes the same list and UntagResource `TagKeys` (Amazon SNS, Amazon EventBridge and Amazon
    QuickSight API references). Only the ARN's parameter name differs: `ResourceArn` (SNS, QuickSight),
    `ResourceARN` (EventBridge)."""

    service: str
    arn_parameter: str = "ResourceArn"

    def read(self, ctx: AwsContext, arn: str) -> dict[str, str]:
        """The resource's tags; {} when the resource is gone."""
        try:
            listed = ctx.call(self.service, "list_tags_for_resource", **{self.arn_parameter: arn}).get("Tags", [])
        except AwsApiError as exc:
            if is_not_found(exc):
                return {}
            raise
        return {str(t["Key"]): str(t["Value"]) for t in listed}

    def sync(self, ctx: AwsContext, arn: str, wanted: Mapping[str, str]) -> None:
        """Set what differs from `wanted`; remove the keys of ours no longer declared (others' tags stay)."""
        current = self.read(ctx, arn)
        to_set = {k: v for k, v in wanted.items() if current.get(k) != v}
        to_unset = tags_to_remove(current, wanted)
        if to_set:
            ctx.call(self.service, "tag_resource", **{self.arn_parameter: arn},
                     Tags=[{"Key": k, "Value": v} for k, v in sorted(to_set.items())])  # fmt: skip
        if to_unset:
            ctx.call(self.service, "untag_resource", **{self.arn_parameter: arn}, TagKeys=to_unset)


def tags_diff(current: Mapping[str, str], desired: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """What to set and what to unset so `current` becomes `desired` (compare_aws_tags, purging)."""
    to_set = {k: v for k, v in desired.items() if current.get(k) != v}
    to_unset = [k for k in current if k not in desired and not k.startswith("aws:")]
    return to_set, to_unset
